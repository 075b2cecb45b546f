package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// ErrShort is returned when bytes end before the layout does.
var ErrShort = errors.New("abi: truncated input")

// Reader decodes ABI layouts from a byte slice, checking every length
// against what is left. Strings it returns alias the input.
type Reader struct {
	b   []byte
	off int
}

// NewReader reads b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Reset makes r read b from the start.
func (r *Reader) Reset(b []byte) { r.b, r.off = b, 0 }

// Remaining is the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.b) - r.off }

// U8 reads one byte.
func (r *Reader) U8() (byte, error) {
	if r.off >= len(r.b) {
		return 0, ErrShort
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

// U32 reads a little-endian u32.
func (r *Reader) U32() (uint32, error) {
	if len(r.b)-r.off < 4 {
		return 0, ErrShort
	}
	v := binary.LittleEndian.Uint32(r.b[r.off:])
	r.off += 4
	return v, nil
}

// Bytes reads a length-prefixed string as a slice aliasing the input.
func (r *Reader) Bytes() ([]byte, error) {
	n, err := r.U32()
	if err != nil {
		return nil, err
	}
	if n > MaxStringBytes {
		return nil, fmt.Errorf("abi: string of %d bytes exceeds %d", n, MaxStringBytes)
	}
	if uint64(len(r.b)-r.off) < uint64(n) {
		return nil, ErrShort
	}
	s := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return s, nil
}

// LabelCount reads the u32 that starts a Labels layout and checks it
// against MaxLabels and the bytes left (each label takes at least 8).
func (r *Reader) LabelCount() (int, error) {
	n, err := r.U32()
	if err != nil {
		return 0, err
	}
	if n > MaxLabels {
		return 0, fmt.Errorf("abi: %d labels exceed %d", n, MaxLabels)
	}
	if uint64(n)*8 > uint64(r.Remaining()) {
		return 0, ErrShort
	}
	return int(n), nil
}

// Label reads one name/value pair as slices aliasing the input.
func (r *Reader) Label() (name, value []byte, err error) {
	if name, err = r.Bytes(); err != nil {
		return nil, nil, err
	}
	value, err = r.Bytes()
	return name, value, err
}

// AppendLabelsTo reads a Labels layout into dst, copying strings.
func (r *Reader) AppendLabelsTo(dst []Label) ([]Label, error) {
	n, err := r.LabelCount()
	if err != nil {
		return dst, err
	}
	for range n {
		name, value, err := r.Label()
		if err != nil {
			return dst, err
		}
		dst = append(dst, Label{Name: string(name), Value: string(value)})
	}
	return dst, nil
}

// Status reads a Result's status word; for StatusError it returns the
// guest's message as an error.
func (r *Reader) Status() error {
	st, err := r.U32()
	if err != nil {
		return err
	}
	switch st {
	case StatusOK:
		return nil
	case StatusError:
		msg := r.b[r.off:]
		if len(msg) > 512 {
			msg = msg[:512]
		}
		r.off = len(r.b)
		return &GuestError{Msg: string(msg)}
	default:
		return fmt.Errorf("abi: unknown status %d", st)
	}
}

// GuestError is an error a guest reported with StatusError.
type GuestError struct{ Msg string }

func (e *GuestError) Error() string { return "plugin reported: " + e.Msg }

// Samples reads a SamplesRequest layout into s, reusing its capacity.
func (r *Reader) Samples(s *Samples) error {
	n, err := r.U32()
	if err != nil {
		return err
	}
	if uint64(n)*20 > uint64(r.Remaining()) {
		return ErrShort
	}
	s.Reset()
	refs, ts, vs := r.off, r.off+4*int(n), r.off+12*int(n)
	for i := range int(n) {
		s.Append(binary.LittleEndian.Uint32(r.b[refs+4*i:]),
			int64(binary.LittleEndian.Uint64(r.b[ts+8*i:])),
			math.Float64frombits(binary.LittleEndian.Uint64(r.b[vs+8*i:])))
	}
	r.off += 20 * int(n)
	return nil
}

// AppendLabelsAliased reads a Labels layout into dst without copying: the
// strings alias the input, which must outlive them and not change.
func (r *Reader) AppendLabelsAliased(dst []Label) ([]Label, error) {
	n, err := r.LabelCount()
	if err != nil {
		return dst, err
	}
	for range n {
		name, value, err := r.Label()
		if err != nil {
			return dst, err
		}
		dst = append(dst, Label{Name: unsafe.String(unsafe.SliceData(name), len(name)), Value: unsafe.String(unsafe.SliceData(value), len(value))})
	}
	return dst, nil
}
