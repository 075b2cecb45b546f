package host

import (
	"encoding/binary"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/plugins/native"
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
		ls, err := decodeLabelSet(r, sb)
		if err != nil {
			return fmt.Errorf("entry %d: %w", i, err)
		}
		emit(op, ls)
	}
	if r.Remaining() != 0 {
		return fmt.Errorf("%d bytes after the last entry", r.Remaining())
	}
	return nil
}

// decodeLabelSet reads one non-empty Labels layout from guest memory,
// checking names and values, into labels that do not alias the guest.
func decodeLabelSet(r *abi.Reader, sb *labels.ScratchBuilder) (labels.Labels, error) {
	cnt, err := r.LabelCount()
	if err != nil {
		return labels.EmptyLabels(), err
	}
	if cnt == 0 {
		return labels.EmptyLabels(), errors.New("an empty label set (use drop)")
	}
	sb.Reset()
	for range cnt {
		name, value, err := r.Label()
		if err != nil {
			return labels.EmptyLabels(), err
		}
		if len(name) == 0 || !utf8.Valid(name) {
			return labels.EmptyLabels(), fmt.Errorf("invalid label name %q", name)
		}
		if len(value) == 0 || !utf8.Valid(value) {
			return labels.EmptyLabels(), fmt.Errorf("label %s has an empty or invalid value", name)
		}
		sb.Add(guestString(name), guestString(value))
	}
	sb.Sort()
	ls := sb.Labels()
	if dup, has := ls.HasDuplicateLabelNames(); has {
		return labels.EmptyLabels(), fmt.Errorf("duplicate label %s", dup)
	}
	return ls, nil
}

// decodeStreamOut reads what follows the kept samples of a StreamResponse
// into o: declarations (labels checked and copied out of guest memory),
// retired ids and the samples of declared series. Nothing may follow.
func decodeStreamOut(r *abi.Reader, o *native.Response, sb *labels.ScratchBuilder) error {
	n, err := r.Count(4 + 4 + 12)
	if err != nil {
		return fmt.Errorf("declarations: %w", err)
	}
	for i := range n {
		id, err := r.U32()
		if err != nil {
			return err
		}
		ls, err := decodeLabelSet(r, sb)
		if err != nil {
			return fmt.Errorf("declaration %d (series %d): %w", i, id, err)
		}
		var md [3][]byte
		for j := range md {
			if md[j], err = r.Bytes(); err != nil {
				return fmt.Errorf("declaration %d (series %d): metadata: %w", i, id, err)
			}
			if !utf8.Valid(md[j]) {
				return fmt.Errorf("declaration %d (series %d): metadata is not UTF-8", i, id)
			}
		}
		o.Declare = append(o.Declare, native.Decl{ID: id, Labels: ls,
			Meta: abi.Metadata{Type: string(md[0]), Help: string(md[1]), Unit: string(md[2])}})
	}
	if n, err = r.Count(4); err != nil {
		return fmt.Errorf("retired: %w", err)
	}
	for range n {
		id, _ := r.U32()
		o.Retire = append(o.Retire, id)
	}
	if err := r.Samples(&o.Samples); err != nil {
		return fmt.Errorf("samples of new series: %w", err)
	}
	if r.Remaining() != 0 {
		return fmt.Errorf("%d bytes after the samples of new series", r.Remaining())
	}
	return nil
}
