package host

import (
	"encoding/binary"
	"fmt"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

func putU32(b []byte, v uint32) { binary.LittleEndian.PutUint32(b, v) }

// appendLabels encodes ls in the ABI's Labels layout.
func appendLabels(dst []byte, ls labels.Labels) []byte {
	dst = abi.AppendU32(dst, uint32(ls.Len()))
	ls.Range(func(l labels.Label) {
		dst = abi.AppendString(dst, l.Name)
		dst = abi.AppendString(dst, l.Value)
	})
	return dst
}

// decodeSeriesResponse checks a guest's SeriesResponse for want entries and
// hands each to emit (labels only for OpReplace). Nothing is trusted: counts,
// lengths, ops, label names and values are validated, and the labels are
// copied out of guest memory.
func decodeSeriesResponse(r *abi.Reader, want int, sb *labels.ScratchBuilder, emit func(op byte, ls labels.Labels)) error {
	n, err := r.U32()
	if err != nil {
		return err
	}
	if int64(n) != int64(want) {
		return fmt.Errorf("response has %d entries for %d label sets", n, want)
	}
	for i := range want {
		op, err := r.U8()
		if err != nil {
			return err
		}
		switch op {
		case abi.OpKeep, abi.OpDrop:
			emit(op, labels.EmptyLabels())
			continue
		case abi.OpReplace:
		default:
			return fmt.Errorf("entry %d: unknown op %d", i, op)
		}
		cnt, err := r.LabelCount()
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		if cnt == 0 {
			return fmt.Errorf("entry %d: replaced by an empty label set (use drop)", i)
		}
		sb.Reset()
		for range cnt {
			name, value, err := r.Label()
			if err != nil {
				return fmt.Errorf("entry %d: %w", i, err)
			}
			if len(name) == 0 || !utf8.Valid(name) {
				return fmt.Errorf("entry %d: invalid label name %q", i, name)
			}
			if len(value) == 0 || !utf8.Valid(value) {
				return fmt.Errorf("entry %d: label %s has an empty or invalid value", i, name)
			}
			sb.Add(guestString(name), guestString(value))
		}
		sb.Sort()
		ls := sb.Labels()
		if dup, has := ls.HasDuplicateLabelNames(); has {
			return fmt.Errorf("entry %d: duplicate label %s", i, dup)
		}
		emit(op, ls)
	}
	if r.Remaining() != 0 {
		return fmt.Errorf("%d bytes after the last entry", r.Remaining())
	}
	return nil
}
