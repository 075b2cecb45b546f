package chained

import (
	"bytes"
	"errors"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	env := Encode([]byte("x"), 0xfeedface, 42, []byte("ERB..."))
	q, s, blk, err := Decode(env[1:])
	if err != nil || q != 0xfeedface || s != 42 || string(blk) != "ERB..." {
		t.Fatalf("decoded %x %d %q %v", q, s, blk, err)
	}
	for _, bad := range [][]byte{nil, []byte("ERC"), append([]byte("ERX\x01"), make([]byte, 16)...), append([]byte("ERC\x02"), make([]byte, 16)...)} {
		if _, _, _, err := Decode(bad); !errors.Is(err, ErrCorrupt) {
			t.Errorf("Decode(%q) = %v, want ErrCorrupt", bad, err)
		}
	}
}

// FuzzDecode: any bytes decode or fail with ErrCorrupt, and what decodes
// encodes back to the same bytes.
func FuzzDecode(f *testing.F) {
	f.Add(Encode(nil, 1, 2, []byte("block")))
	f.Add([]byte("ERC\x01"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		q, s, blk, err := Decode(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error %v does not wrap ErrCorrupt", err)
			}
			return
		}
		if !bytes.Equal(Encode(nil, q, s, blk), b) {
			t.Fatal("re-encoding differs")
		}
	})
}
