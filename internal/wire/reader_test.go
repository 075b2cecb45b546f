package wire

import (
	"encoding/binary"
	"errors"
	"testing"
)

var errTest = errors.New("corrupt test input")

func TestReader(t *testing.T) {
	var in []byte
	in = binary.AppendUvarint(in, 300)
	in = binary.AppendVarint(in, -7)
	in = binary.AppendUvarint(in, 3)
	in = append(in, "abc"...)
	in = binary.LittleEndian.AppendUint64(in, 42)
	in = append(in, 9, 1, 2)
	r := NewReader(in, errTest)
	if v := r.Uvarint(); v != 300 {
		t.Fatalf("Uvarint = %d", v)
	}
	if v := r.Varint(); v != -7 {
		t.Fatalf("Varint = %d", v)
	}
	if s := r.Str(); s != "abc" {
		t.Fatalf("Str = %q", s)
	}
	if v := r.Uint64("float"); v != 42 {
		t.Fatalf("Uint64 = %d", v)
	}
	if b := r.Byte(); b != 9 {
		t.Fatalf("Byte = %d", b)
	}
	if err := r.End(); err == nil || !errors.Is(err, errTest) || err.Error() != "corrupt test input: 2 trailing bytes" {
		t.Fatalf("End = %v", err)
	}
	if r.Byte() != 0 || r.Uvarint() != 0 || len(r.Buf) != 0 {
		t.Fatal("reads after an error are not zero")
	}
}

func TestReaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		read func(r *Reader)
		want string
	}{
		{"empty byte", nil, func(r *Reader) { r.Byte() }, "truncated"},
		{"truncated varint", []byte{0x80}, func(r *Reader) { r.Uvarint() }, "truncated varint"},
		{"count past input", []byte{5, 1, 2}, func(r *Reader) { r.Count(1) }, "count 5 exceeds remaining input"},
		{"count of large elements", []byte{2, 1, 2, 3}, func(r *Reader) { r.Count(2) }, "count 2 exceeds remaining input"},
		{"string past input", []byte{4, 'a'}, func(r *Reader) { r.Str() }, "string length 4 exceeds remaining input"},
		{"section past input", []byte{1}, func(r *Reader) { r.Bytes(2) }, "section of 2 bytes exceeds remaining input"},
		{"short float", []byte{1, 2, 3}, func(r *Reader) { r.Uint64("sample value") }, "truncated sample value"},
		{"first error sticks", nil, func(r *Reader) { r.Fail("first"); r.Fail("second") }, "first"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := NewReader(tc.in, errTest)
			tc.read(&r)
			if !errors.Is(r.Err, errTest) || r.Err.Error() != "corrupt test input: "+tc.want {
				t.Fatalf("error %v, want %q wrapping the sentinel", r.Err, tc.want)
			}
			if len(r.Buf) != 0 {
				t.Fatal("input left after an error")
			}
		})
	}
}

// FuzzReader drives a Reader with operations taken from the input itself:
// whatever the bytes, no read panics or returns more than the input holds,
// and once an error is recorded every read returns zero and the input stays
// empty.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9})
	f.Add([]byte{3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01})
	f.Add([]byte{2, 3, 'a', 'b', 'c', 4, 2, 1, 1, 5, 0, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(data, errTest)
		for steps := 0; steps < 64 && len(r.Buf) > 0; steps++ {
			before := len(r.Buf)
			switch op := r.Byte() % 7; op {
			case 0:
				r.Byte()
			case 1:
				r.Uvarint()
			case 2:
				r.Varint()
			case 3:
				n := r.Count(1 + int(r.Byte()%8))
				if r.Err == nil && n > len(r.Buf) {
					t.Fatalf("count %d with %d bytes left", n, len(r.Buf))
				}
			case 4:
				s := r.Str()
				if len(s) > before {
					t.Fatalf("string of %d bytes from %d", len(s), before)
				}
			case 5:
				r.Bytes(int(r.Byte()))
			case 6:
				r.Uint64("float")
			}
			if len(r.Buf) > before {
				t.Fatal("input grew")
			}
			if r.Err != nil {
				if !errors.Is(r.Err, errTest) {
					t.Fatalf("error %v does not wrap the sentinel", r.Err)
				}
				if len(r.Buf) != 0 {
					t.Fatal("input left after an error")
				}
			}
		}
		if err := r.End(); err != nil {
			if r.Byte() != 0 || r.Uvarint() != 0 || r.Varint() != 0 || r.Count(1) != 0 || r.Str() != "" ||
				len(r.Bytes(1)) != 0 || r.Uint64("float") != 0 || r.Err != err {
				t.Fatal("a read after an error returned something, or the error changed")
			}
		}
	})
}
