package store

import (
	"errors"
	"testing"
)

func TestMetaRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		rec  Record
	}{
		{"empty", Record{}},
		{"small", Record{Data: []byte("abc"), Samples: 3, Time: -5}},
		{"chunked", Record{Data: make([]byte, 3*chunkSize+1), Samples: 1 << 30, Time: 1 << 50}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := newMeta(tt.rec)
			got, err := decodeMeta(m.encode())
			if err != nil {
				t.Fatal(err)
			}
			if got != m {
				t.Fatalf("got %+v, want %+v", got, m)
			}
			if err := got.checkData(tt.rec.Data); err != nil {
				t.Fatal(err)
			}
			if err := got.checkData(append(tt.rec.Data, 0)); !errors.Is(err, errCorrupt) {
				t.Fatalf("longer data accepted: %v", err)
			}
		})
	}
}

func FuzzDecodeMeta(f *testing.F) {
	f.Add(newMeta(Record{Data: []byte("hello"), Samples: 2, Time: 7}).encode())
	f.Add(newMeta(Record{}).encode())
	f.Add([]byte{metaVersion})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error not errCorrupt: %v", err)
			}
			return
		}
		// Whatever decodes re-encodes to the same bytes.
		if string(m.encode()) != string(b) {
			t.Fatalf("re-encoding differs")
		}
		_ = m.checkData(b)
	})
}
