package delta

import (
	"errors"
	"math"
	"testing"
)

func TestRoundTripRandomScrapes(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3, 42} {
		g := newGen(seed, 4, 300)
		enc := NewEncoder(7)
		dec := NewDecoder()
		var frame []byte
		for step := range 120 {
			g.ts += 15000
			order := g.rng.Perm(len(g.targets)) // targets in a different order each round
			for _, i := range order {
				s := g.scrape(i)
				frame = enc.AppendFrame(frame[:0], s)
				got, err := dec.Apply(frame)
				if err != nil {
					t.Fatalf("seed %d step %d target %d: %v", seed, step, i, err)
				}
				sameScrape(t, s, got)
			}
			if step%40 == 39 {
				enc.Checkpoint()
			}
			if step%25 == 10 {
				enc.ForceFull(g.targets[0].name)
			}
		}
		if enc.Duplicates() == 0 {
			t.Errorf("seed %d: generator made no duplicates; the test lost coverage", seed)
		}
	}
}

// TestRoundTripStableOrder is TestRoundTripRandomScrapes for targets that
// expose their series in the same order scrape after scrape, as real ones
// do, which the encoder finds by position without a dictionary: churn,
// missing samples and duplicates still come in every other scrape, and one
// of those in ten is shuffled.
func TestRoundTripStableOrder(t *testing.T) {
	for _, seed := range []uint64{5, 6, 7} {
		g := newGen(seed, 3, 400)
		g.stable = true
		enc := NewEncoder(3)
		dec := NewDecoder()
		var frame []byte
		steady := 0
		for step := range 100 {
			g.ts += 15000
			for i := range g.targets {
				s := g.scrape(i)
				frame = enc.AppendFrame(frame[:0], s)
				got, err := dec.Apply(frame)
				if err != nil {
					t.Fatalf("seed %d step %d target %d: %v", seed, step, i, err)
				}
				sameScrape(t, s, got)
				if !IsFull(frame) && enc.targets[s.Target].dict == nil {
					steady++
				}
			}
			if step%40 == 39 {
				enc.Checkpoint()
			}
		}
		if steady == 0 {
			t.Errorf("seed %d: every frame needed the dictionary; the test lost coverage", seed)
		}
	}
}

func TestValueCoding(t *testing.T) {
	tests := []struct {
		name     string
		old, new float64
		maxLen   int // header + payload bytes
	}{
		{"counter +1", 1000, 1001, 2},
		{"counter +1000", 123456, 124456, 3},
		{"counter reset", 123456, 0, 1},
		{"two decimals", 12345.67, 12346.68, 3},
		{"gauge to one", 0.5, 1, 1},
		{"halving", 0.5, 0.25, 2},
		{"random float", 0.1234567891234, 0.9876543210987, 10},
		{"to stale", 17, math.Float64frombits(StaleNaN), 1},
		{"from stale", math.Float64frombits(StaleNaN), 17, 3},
		{"large", 1e300, -1e300, 10},
		{"negative zero", 3, math.Copysign(0, -1), 1},
		{"from -Inf", math.Inf(-1), 2.5, 10},
		{"tiny", 5e-324, 1e-320, 10},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			old, v := math.Float64bits(tc.old), math.Float64bits(tc.new)
			// Version 3 with no trend, a steady one and one of scale 2.
			trends := []trend{0, trend(0).observe(1001, 0).observe(1001, 0), trend(0).observe(-5, 2)}
			for i, ts := range []int64{1000, 999, 5, 1000, 1000, 1000} {
				st := streams{v3: i >= 3}
				tr := trends[max(0, i-3)]
				hdr, _, wantTr := appendValue(nil, &st, old, scaleUnknown, v, ts, 1000, tr)
				if n := 1 + len(st.ints) + len(st.xors) + len(st.top); ts == 1000 && n > tc.maxLen {
					t.Errorf("record %x %+v is %d bytes, want ≤ %d", hdr, st, n, tc.maxLen)
				}
				if len(hdr) != 1 {
					t.Fatalf("header of %d bytes", len(hdr))
				}
				gotV, gotT, gotTr, err := readValue(hdr[0], &st, old, 1000, tr)
				rest := len(st.ints) + len(st.xors) + len(st.ts) + len(st.top)
				if err != nil || rest != 0 || gotV != v || gotT != ts || (st.v3 && gotTr != wantTr) {
					t.Fatalf("decoded %x,%d,%x rest %d err %v; want %x,%d,%x", gotV, gotT, gotTr, rest, err, v, ts, wantTr)
				}
			}
		})
	}
}

func TestLabelsHelpers(t *testing.T) {
	var b []byte
	b = AppendLabel(b, "__name__", "up")
	b = AppendLabel(b, "job", "")
	b = AppendLabel(b, "x", string(make([]byte, 200)))
	var names []string
	if err := RangeLabels(string(b), func(n, v string) { names = append(names, n) }); err != nil {
		t.Fatal(err)
	}
	if len(names) != 3 || names[0] != "__name__" || names[2] != "x" {
		t.Fatalf("got %q", names)
	}
	if err := RangeLabels(string(b[:len(b)-1]), func(n, v string) {}); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated key: got %v", err)
	}
	job, inst := SplitTarget(TargetKey("node", "h:9100"))
	if job != "node" || inst != "h:9100" {
		t.Fatalf("SplitTarget: %q %q", job, inst)
	}
}

// TestIsFull: IsFull tells a full frame from an incremental one as
// ParseHeader does, through a generation's first frame, its later ones, a
// ForceFull and a Checkpoint, and calls nothing else a full frame.
func TestIsFull(t *testing.T) {
	g := newGen(5, 1, 20)
	enc := NewEncoder(3)
	wantFull := []bool{true, false, false, true, false, true, false}
	for step, want := range wantFull {
		switch step {
		case 3:
			enc.ForceFull(g.targets[0].name)
		case 5:
			enc.Checkpoint()
		}
		g.ts += 15000
		frame := enc.AppendFrame(nil, g.scrape(0))
		h, err := ParseHeader(frame)
		if err != nil {
			t.Fatal(err)
		}
		if got := IsFull(frame); got != want || got != h.Full {
			t.Fatalf("step %d: IsFull %v, header says %v, want %v", step, got, h.Full, want)
		}
	}
	for _, b := range [][]byte{nil, {Version}, {9, 0}, {Version1, kindExtra}, {Version, 0x80}} {
		if IsFull(b) {
			t.Fatalf("IsFull(%x) = true for bytes that are not a frame", b)
		}
	}
}
