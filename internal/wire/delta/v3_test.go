package delta

import (
	"bytes"
	"errors"
	"math"
	"testing"
)

// newEncoderV3 is NewEncoder writing frames of version 3.
func newEncoderV3(gen uint64) *Encoder {
	e := NewEncoder(gen)
	e.SetVersion(Version3)
	return e
}

// TestRoundTripVersion3 is TestRoundTripRandomScrapes for frames of
// version 3 on counters that mostly grow at a steady rate (predicted,
// often without a record), with resets, special values, missing samples,
// explicit timestamps, churn and histograms; the decoder's state goes
// through MarshalState and back every few rounds.
func TestRoundTripVersion3(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		for _, hist := range []bool{false, true} {
			g := newGen(seed, 3, 300)
			if hist {
				g = newHistGen(seed, 3, 60)
			}
			g.trends, g.stable = true, seed != 1
			enc, dec := newEncoderV3(7), NewDecoder()
			var frame []byte
			predicted := 0
			for step := range 90 {
				g.ts += 15000
				for i := range g.targets {
					s := g.scrape(i)
					frame = enc.AppendFrame(frame[:0], s)
					if frame[0] != Version3 {
						t.Fatalf("frame version %d", frame[0])
					}
					if sc := enc.LastSections(); sc.Header+sc.Meta+sc.Series+sc.Gaps+sc.Extra+sc.Headers+sc.Ints+sc.XORs+sc.Top+sc.Timestamps != len(frame) {
						t.Fatalf("sections %+v do not add up to the frame's %d bytes", sc, len(frame))
					}
					got, err := dec.Apply(frame)
					if err != nil {
						t.Fatalf("seed %d hist %v step %d target %d: %v", seed, hist, step, i, err)
					}
					sameScrape(t, s, got)
					predicted += countPredicted(enc, s.Target)
				}
				if step%7 == 3 {
					state := dec.MarshalState(nil)
					dec = NewDecoder()
					if err := dec.UnmarshalState(state); err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(state, dec.MarshalState(nil)) {
						t.Fatal("state changed across Marshal/Unmarshal")
					}
				}
				if step%40 == 39 {
					enc.Checkpoint()
				}
				if step%25 == 10 {
					enc.ForceFull(g.targets[0].name)
				}
			}
			if predicted == 0 {
				t.Errorf("seed %d: no series was predicted; the test lost coverage", seed)
			}
		}
	}
}

// countPredicted counts the target's slots whose trend predicts a change.
func countPredicted(e *Encoder, target string) int {
	n := 0
	for _, sl := range e.targets[target].slots {
		if _, moved := sl.tr.predict(sl.v); moved {
			n++
		}
	}
	return n
}

// steadyScrape is scrape k of a target of n counters growing by i+1 and
// n decimal counters growing by 0.5 each scrape.
func steadyScrape(k int64, n int) *Scrape {
	s := &Scrape{Target: "t", Timestamp: 1_700_000_000_000 + k*5000}
	for i := range n {
		s.Series = append(s.Series, Series{Labels: string(AppendLabel(nil, "c", string(rune('a'+i)))), T: s.Timestamp,
			V: math.Float64bits(float64(k * int64(i+1)))})
		s.Series = append(s.Series, Series{Labels: string(AppendLabel(nil, "d", string(rune('a'+i)))), T: s.Timestamp,
			V: math.Float64bits(float64(k)*0.5 + 0.25)})
	}
	return s
}

// TestSteadyCountersCostNothing: from the third frame on, counters that
// grow by the same amount each scrape have no record in version 3, and a
// counter that stops or changes pace has one, decoded exactly.
func TestSteadyCountersCostNothing(t *testing.T) {
	enc, dec := newEncoderV3(1), NewDecoder()
	var sizes []int
	for k := range int64(8) {
		s := steadyScrape(k, 20)
		if k == 6 {
			s.Series[4].V = s.Series[4].V + 1 // one counter off pace: a record
		}
		f := enc.AppendFrame(nil, s)
		got, err := dec.Apply(f)
		if err != nil {
			t.Fatal(err)
		}
		sameScrape(t, s, got)
		sizes = append(sizes, len(f))
	}
	if sizes[4] != sizes[5] || sizes[5] >= sizes[6] || sizes[5] > 20 {
		t.Fatalf("frame sizes %v: want steady frames of a few header bytes, larger with a record", sizes)
	}
	old := NewEncoder(1)
	var f []byte
	for k := range int64(5) {
		f = old.AppendFrame(nil, steadyScrape(k, 20))
	}
	if len(f) <= 5*sizes[5] {
		t.Fatalf("version 2 steady frame %d bytes, version 3 %d: want several times smaller", len(f), sizes[5])
	}
}

// TestVersionsDoNotMix: an incremental frame of another version than its
// target's full frame is corrupt, and changes nothing; a full frame of
// either version replaces the base.
func TestVersionsDoNotMix(t *testing.T) {
	g := newGen(4, 1, 50)
	v2, v3 := NewEncoder(1), newEncoderV3(1)
	f2, _ := frames(g, v2, 2, nil)
	g = newGen(4, 1, 50)
	f3, ss := frames(g, v3, 2, nil)
	dec := NewDecoder()
	if _, err := dec.Apply(f2[0]); err != nil {
		t.Fatal(err)
	}
	before := dec.MarshalState(nil)
	if _, err := dec.Apply(f3[1]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("version 3 frame on a version 2 base: got %v, want ErrCorrupt", err)
	}
	if !bytes.Equal(before, dec.MarshalState(nil)) {
		t.Fatal("refused frame changed the decoder")
	}
	for _, f := range f3 {
		got, err := dec.Apply(f)
		if err != nil {
			t.Fatal(err)
		}
		_ = got
	}
	got, err := dec.Apply(f2[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Apply(f2[1]); err != nil {
		t.Fatalf("version 2 again after its full frame: %v", err)
	}
	_ = got
	_ = ss
	if v3.FrameVersion() != Version3 || v2.FrameVersion() != Version {
		t.Fatal("FrameVersion")
	}
}

func TestEncodeVersion3SteadyStateAllocatesNothing(t *testing.T) {
	enc := newEncoderV3(1)
	first := steadyScrape(0, 500)
	buf := enc.AppendFrame(nil, first)
	steady := *first
	steady.Series = append([]Series(nil), first.Series...)
	k := 0
	allocs := testing.AllocsPerRun(50, func() {
		k++
		for j := range steady.Series {
			steady.Series[j].V = uint64(k * j) // unpredictable: records, XORs
			if j%3 == 0 {
				steady.Series[j].V = math.Float64bits(float64(k * j))
			}
		}
		steady.Timestamp += 15000
		buf = enc.AppendFrame(buf[:0], &steady)
	})
	if allocs != 0 {
		t.Fatalf("steady AppendFrame allocated %v times per frame, want 0", allocs)
	}
}
