package store

import (
	"bytes"
	"errors"
	"fmt"
	"testing"
)

func readAll(data []byte) (uint64, []Block, error) {
	var id uint64
	var bs []Block
	err := ReadBundle(bytes.NewReader(data), func(qid uint64, b Block) error {
		id = qid
		bs = append(bs, b)
		return nil
	})
	return id, bs, err
}

func TestExportReadBundle(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	var recs []Record
	for i := range 6 {
		recs = append(recs, rec(i, 1000*(i+1)))
	}
	recs = append(recs, rec(6, 300_000))
	mustAppend(t, q, recs...)
	if err := q.AckThrough(1); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		after    uint64
		wantLast uint64
		wantSeqs string
	}{
		{"from the head", 0, 7, "[2 3 4 5 6 7]"},
		{"after a seq", 4, 7, "[5 6 7]"},
		{"nothing left", 7, 7, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			var calls int
			var lastDone, lastTotal int64
			x, err := q.Export(&buf, tt.after, 0, func(done, total int64) {
				calls++
				if done < lastDone || done > total {
					t.Fatalf("progress %d/%d after %d", done, total, lastDone)
				}
				lastDone, lastTotal = done, total
			})
			if err != nil {
				t.Fatal(err)
			}
			if x.Last != tt.wantLast {
				t.Fatalf("last %d, want %d", x.Last, tt.wantLast)
			}
			id, bs, err := readAll(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) > 0 && id != q.ID() {
				t.Fatalf("queue id %x, want %x", id, q.ID())
			}
			if got := fmt.Sprint(seqs(bs)); got != tt.wantSeqs {
				t.Fatalf("seqs %v, want %v", got, tt.wantSeqs)
			}
			for _, b := range bs {
				checkBlock(t, b, recs[b.Seq-1])
			}
			if calls != len(bs) || lastDone != lastTotal {
				t.Fatalf("progress called %d times, ended at %d/%d", calls, lastDone, lastTotal)
			}
		})
	}
}

func TestReadBundleRejectsDamage(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	mustAppend(t, q, rec(0, 100), rec(1, 100), rec(2, 100))
	var buf bytes.Buffer
	if _, err := q.Export(&buf, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flip := func(i int) []byte {
		b := bytes.Clone(good)
		b[i] ^= 0x10
		return b
	}
	tests := []struct {
		name       string
		data       []byte
		wantBlocks int
	}{
		{"bad magic", flip(0), 0},
		{"block data bit flip", flip(18 + 29 + 50), 0},
		{"third block bit flip", flip(len(good) - 25 - 30), 2},
		{"trailer count", flip(len(good) - 20), 3},
		{"truncated", good[:len(good)-3], 3},
		{"truncated in a block", good[:18+29+10], 0},
		{"trailing data", append(bytes.Clone(good), 0), 3},
		{"empty", nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, bs, err := readAll(tt.data)
			if !errors.Is(err, ErrBadBundle) {
				t.Fatalf("err %v, want ErrBadBundle", err)
			}
			if len(bs) != tt.wantBlocks {
				t.Fatalf("delivered %d blocks, want %d", len(bs), tt.wantBlocks)
			}
		})
	}
	stop := errors.New("stop")
	if err := ReadBundle(bytes.NewReader(good), func(uint64, Block) error { return stop }); !errors.Is(err, stop) {
		t.Fatalf("fn error not returned: %v", err)
	}
}

func FuzzReadBundle(f *testing.F) {
	var buf bytes.Buffer
	buf.WriteString(bundleMagic)
	buf.Write([]byte{1, 0, 1, 2, 3, 4, 5, 6, 7, 8})
	buf.Write(encodeBundleBlock(Block{Seq: 3, Data: []byte("abc"), Samples: 1, Time: 2}))
	f.Add(buf.Bytes())
	f.Add([]byte(bundleMagic))
	// A version 2 bundle of a split queue, as Export writes it.
	q := openQueue(f, f.TempDir(), Options{})
	mustAppend(f, q, rec(0, 10))
	if _, err := q.StartLane(); err != nil {
		f.Fatal(err)
	}
	mustAppend(f, q, rec(1, 10))
	var v2 bytes.Buffer
	if _, err := q.Export(&v2, 0, 0, nil); err != nil {
		f.Fatal(err)
	}
	f.Add(v2.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		var prev uint64
		err := ReadBundle(bytes.NewReader(data), func(_ uint64, b Block) error {
			if b.Seq <= prev || b.Lane > 1 {
				t.Fatalf("seq %d after %d, lane %d", b.Seq, prev, b.Lane)
			}
			prev = b.Seq
			return nil
		})
		if err != nil && !errors.Is(err, ErrBadBundle) {
			t.Fatalf("error not ErrBadBundle: %v", err)
		}
	})
}

// TestExportUntil: only the oldest blocks up to the time go, and the last
// one's group goes whole even past the time.
func TestExportUntil(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	// rec(i) has Time 1000+i; groups: 1,1 | 2,2,2 | 0 | 3
	for i, g := range []uint64{1, 1, 2, 2, 2, 0, 3} {
		r := rec(i, 100)
		r.Group = g
		mustAppend(t, q, r)
	}
	for _, tc := range []struct {
		until int64
		last  uint64
		n     int
	}{
		{until: 999, last: 0, n: 0},
		{until: 1001, last: 2, n: 2}, // group 1
		{until: 1002, last: 5, n: 5}, // into group 2: all of it
		{until: 1005, last: 6, n: 6}, // ungrouped block: no extension
		{until: 0, last: 7, n: 7},    // no limit
	} {
		var buf bytes.Buffer
		x, err := q.Export(&buf, 0, tc.until, nil)
		if err != nil {
			t.Fatal(err)
		}
		if x.Last != tc.last || x.Blocks != tc.n || x.Bytes != int64(100*tc.n) {
			t.Errorf("until %d: exported %+v, want %d blocks through %d", tc.until, x, tc.n, tc.last)
		}
		var got int
		if err := ReadBundle(&buf, func(uint64, Block) error { got++; return nil }); err != nil || got != tc.n {
			t.Errorf("until %d: bundle holds %d blocks (%v)", tc.until, got, err)
		}
	}
}
