package store

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openQueue(t testing.TB, dir string, o Options) *Queue {
	t.Helper()
	if o.Logger == nil {
		o.Logger = quietLogger()
	}
	q, err := Open(dir, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = q.Close() })
	return q
}

// rec returns a record whose data names i and has n bytes.
func rec(i, n int) Record {
	d := bytes.Repeat([]byte{byte(i)}, n)
	copy(d, fmt.Sprintf("block-%d;", i))
	return Record{Data: d, Samples: i + 1, Time: int64(1000 + i)}
}

func mustAppend(t testing.TB, q *Queue, recs ...Record) uint64 {
	t.Helper()
	first, err := q.Append(recs...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return first
}

func mustRead(t testing.TB, q *Queue, after uint64, maxBlocks, maxBytes int) []Block {
	t.Helper()
	bs, err := q.Read(after, maxBlocks, maxBytes)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return bs
}

func seqs(bs []Block) []uint64 {
	var s []uint64
	for _, b := range bs {
		s = append(s, b.Seq)
	}
	return s
}

func checkBlock(t testing.TB, b Block, want Record) {
	t.Helper()
	if !bytes.Equal(b.Data, want.Data) || b.Samples != want.Samples || b.Time != want.Time {
		t.Fatalf("block %d: got %d bytes samples=%d time=%d, want %d bytes samples=%d time=%d",
			b.Seq, len(b.Data), b.Samples, b.Time, len(want.Data), want.Samples, want.Time)
	}
}

func TestAppendReadAck(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	if q.ID() == 0 {
		t.Fatal("ID is 0")
	}
	var recs []Record
	for i := range 10 {
		recs = append(recs, rec(i, 1000))
	}
	if got := mustAppend(t, q, recs[:3]...); got != 1 {
		t.Fatalf("first seq %d, want 1", got)
	}
	for i := 3; i < 10; i++ {
		if got := mustAppend(t, q, recs[i]); got != uint64(i+1) {
			t.Fatalf("seq %d, want %d", got, i+1)
		}
	}
	all := mustRead(t, q, 0, 0, 0)
	if len(all) != 10 {
		t.Fatalf("read %d blocks, want 10", len(all))
	}
	for i, b := range all {
		if b.Seq != uint64(i+1) {
			t.Fatalf("block %d has seq %d", i, b.Seq)
		}
		checkBlock(t, b, recs[i])
	}

	tests := []struct {
		name               string
		after              uint64
		maxBlocks, maxByte int
		want               []uint64
	}{
		{"after", 7, 0, 0, []uint64{8, 9, 10}},
		{"max blocks", 2, 3, 0, []uint64{3, 4, 5}},
		{"max bytes", 0, 0, 2500, []uint64{1, 2}},
		{"one block over max bytes", 4, 0, 10, []uint64{5}},
		{"past the end", 10, 0, 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := seqs(mustRead(t, q, tt.after, tt.maxBlocks, tt.maxByte))
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}

	st := q.Stats()
	if st.Blocks != 10 || st.Bytes != 10000 || st.Samples != 55 || st.HeadSeq != 1 || st.NextSeq != 11 ||
		st.OldestTime != 1000 || st.NewestTime != 1009 {
		t.Fatalf("stats %+v", st)
	}
	if err := q.AckThrough(4); err != nil {
		t.Fatal(err)
	}
	if got := seqs(mustRead(t, q, 0, 0, 0)); fmt.Sprint(got) != "[5 6 7 8 9 10]" {
		t.Fatalf("after ack: %v", got)
	}
	st = q.Stats()
	if st.Blocks != 6 || st.Bytes != 6000 || st.Samples != 5+6+7+8+9+10 || st.HeadSeq != 5 || st.OldestTime != 1004 {
		t.Fatalf("stats after ack %+v", st)
	}
	if err := q.AckThrough(100); err != nil {
		t.Fatal(err)
	}
	st = q.Stats()
	if st.Blocks != 0 || st.Bytes != 0 || st.HeadSeq != 0 || st.NextSeq != 11 || st.OldestTime != 0 {
		t.Fatalf("stats after acking all %+v", st)
	}
	if got := mustAppend(t, q, rec(11, 10)); got != 11 {
		t.Fatalf("seq after acking past the end: %d, want 11", got)
	}
}

func TestRestart(t *testing.T) {
	tests := []struct {
		name     string
		ackThru  uint64
		wantSeqs string
	}{
		{"backlog kept", 0, "[1 2 3 4 5]"},
		{"partly acked", 2, "[3 4 5]"},
		{"everything acked", 5, "[]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			q := openQueue(t, dir, Options{})
			id := q.ID()
			for i := range 5 {
				mustAppend(t, q, rec(i, 300_000)) // three chunks each
			}
			if err := q.AckThrough(tt.ackThru); err != nil {
				t.Fatal(err)
			}
			before := q.Stats()
			if err := q.Close(); err != nil {
				t.Fatal(err)
			}
			q = openQueue(t, dir, Options{})
			if q.ID() != id {
				t.Fatalf("id changed: %x -> %x", id, q.ID())
			}
			bs := mustRead(t, q, 0, 0, 0)
			if got := fmt.Sprint(seqs(bs)); got != tt.wantSeqs {
				t.Fatalf("after restart: %v, want %v", got, tt.wantSeqs)
			}
			for _, b := range bs {
				checkBlock(t, b, rec(int(b.Seq-1), 300_000))
			}
			after := q.Stats()
			after.DiskBytes, before.DiskBytes = 0, 0
			if after != before {
				t.Fatalf("stats changed over restart:\n before %+v\n after  %+v", before, after)
			}
			if got := mustAppend(t, q, rec(9, 10)); got != 6 {
				t.Fatalf("next seq after restart %d, want 6", got)
			}
		})
	}
}

func TestCapDropsOldest(t *testing.T) {
	var drops []Dropped
	q := openQueue(t, t.TempDir(), Options{
		MaxBytes: 10_240,
		OnDrop:   func(d Dropped) { drops = append(drops, d) },
	})
	for i := range 15 {
		mustAppend(t, q, rec(i, 1000))
	}
	// One 3,500-byte block needs room for three 1,000-byte ones plus.
	mustAppend(t, q, Record{Data: make([]byte, 3500), Samples: 7, Time: 5000})

	want := []Dropped{
		{1, 1000, 1, 1, 1}, {1, 1000, 2, 2, 2}, {1, 1000, 3, 3, 3}, {1, 1000, 4, 4, 4}, {1, 1000, 5, 5, 5},
		{4, 4000, 6 + 7 + 8 + 9, 6, 9},
	}
	if fmt.Sprint(drops) != fmt.Sprint(want) {
		t.Fatalf("OnDrop calls\n got  %v\n want %v", drops, want)
	}
	st := q.Stats()
	if st.DroppedBlocks != 9 || st.DroppedSamples != 1+2+3+4+5+6+7+8+9 || st.Bytes > 10_240 {
		t.Fatalf("stats %+v", st)
	}
	if got := fmt.Sprint(seqs(mustRead(t, q, 0, 0, 0))); got != "[10 11 12 13 14 15 16]" {
		t.Fatalf("left %v", got)
	}
	if st.Blocks != 7 || st.Bytes != 6*1000+3500 || st.HeadSeq != 10 || st.OldestTime != 1009 || st.NewestTime != 5000 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAppendErrors(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{MaxBlockBytes: 1000, MaxBytes: 2500})
	tests := []struct {
		name string
		recs []Record
		want error
	}{
		{"block over max_block_bytes", []Record{{Data: make([]byte, 1001)}}, ErrTooLarge},
		{"call over max_bytes", []Record{{Data: make([]byte, 1000)}, {Data: make([]byte, 1000)}, {Data: make([]byte, 1000)}}, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := q.Append(tt.recs...); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if st := q.Stats(); st.Blocks != 0 || st.NextSeq != 1 {
				t.Fatalf("something was stored: %+v", st)
			}
		})
	}
	if _, err := q.Append(Record{Samples: -1}); err == nil {
		t.Fatal("negative sample count accepted")
	}
	if first, err := q.Append(); first != 0 || err != nil {
		t.Fatalf("empty append: %d %v", first, err)
	}
	if got := mustAppend(t, q, Record{}); got != 1 {
		t.Fatalf("empty block got seq %d", got)
	}
	if bs := mustRead(t, q, 0, 0, 0); len(bs) != 1 || len(bs[0].Data) != 0 {
		t.Fatalf("empty block read back as %+v", bs)
	}
}

func TestClosed(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	mustAppend(t, q, rec(1, 10))
	waitErr := make(chan error, 1)
	go func() { waitErr <- q.Wait(context.Background(), 1) }()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	if err := q.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if err := <-waitErr; !errors.Is(err, ErrClosed) {
		t.Fatalf("Wait: %v", err)
	}
	if _, err := q.Append(rec(2, 10)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append: %v", err)
	}
	if _, err := q.Read(0, 1, 0); !errors.Is(err, ErrClosed) {
		t.Fatalf("Read: %v", err)
	}
	if err := q.AckThrough(1); !errors.Is(err, ErrClosed) {
		t.Fatalf("AckThrough: %v", err)
	}
}

func TestWait(t *testing.T) {
	q := openQueue(t, t.TempDir(), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := q.Wait(ctx, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait on empty queue: %v", err)
	}
	got := make(chan error, 1)
	go func() { got <- q.Wait(context.Background(), 0) }()
	mustAppend(t, q, rec(1, 10))
	if err := <-got; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if err := q.Wait(context.Background(), 0); err != nil {
		t.Fatalf("Wait with a block stored: %v", err)
	}
	if err := q.AckThrough(1); err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel2()
	if err := q.Wait(ctx2, 0); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait after everything was acked: %v", err)
	}
}

func TestLargeBlocks(t *testing.T) {
	dir := t.TempDir()
	q := openQueue(t, dir, Options{})
	recs := []Record{rec(1, DefaultMaxBlockBytes), rec(2, chunkSize), rec(3, chunkSize+1), rec(4, 1)}
	mustAppend(t, q, recs...)
	check := func() {
		bs := mustRead(t, q, 0, 0, 0)
		if len(bs) != len(recs) {
			t.Fatalf("read %d blocks", len(bs))
		}
		for i, b := range bs {
			checkBlock(t, b, recs[i])
		}
	}
	check()
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	q = openQueue(t, dir, Options{})
	check()
}
