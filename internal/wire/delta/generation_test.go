package delta

import (
	"bytes"
	"errors"
	"testing"
)

// frames encodes n rounds of scrapes of every target of g, calling
// checkpoint after round i when it returns true.
func frames(g *gen, enc *Encoder, n int, checkpoint func(round int) bool) (fs [][]byte, ss []*Scrape) {
	for round := range n {
		g.ts += 15000
		for i := range g.targets {
			s := g.scrape(i)
			fs = append(fs, enc.AppendFrame(nil, s))
			ss = append(ss, s)
		}
		if checkpoint != nil && checkpoint(round) {
			enc.Checkpoint()
		}
	}
	return fs, ss
}

func needFull(t *testing.T, err error, target string) {
	t.Helper()
	var nf *ErrNeedFull
	if !errors.As(err, &nf) || nf.Target != target {
		t.Fatalf("want ErrNeedFull for %q, got %v", target, err)
	}
}

func TestGapNeedsFullAndChangesNothing(t *testing.T) {
	tests := []struct {
		name string
		skip []int // frame indexes never delivered (one target)
	}{
		{"one missing", []int{3}},
		{"several missing", []int{2, 3, 4}},
		{"first frame missing", []int{0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGen(5, 1, 200)
			enc := NewEncoder(1)
			fs, ss := frames(g, enc, 8, nil)
			dec := NewDecoder()
			skipped := map[int]bool{}
			for _, i := range tc.skip {
				skipped[i] = true
			}
			broken := false
			for i, f := range fs {
				if skipped[i] {
					broken = true
					continue
				}
				before := dec.MarshalState(nil)
				got, err := dec.Apply(f)
				if !broken {
					if err != nil {
						t.Fatalf("frame %d: %v", i, err)
					}
					sameScrape(t, ss[i], got)
					continue
				}
				needFull(t, err, g.targets[0].name)
				if got != nil {
					t.Fatal("a scrape came back with the error")
				}
				if after := dec.MarshalState(nil); !bytes.Equal(before, after) {
					t.Fatalf("frame %d: failed Apply changed the decoder", i)
				}
			}
		})
	}
}

func TestNewGenerationRecoversWithoutOldFrames(t *testing.T) {
	g := newGen(6, 3, 150)
	enc := NewEncoder(100)
	// Generation 100 is rounds 0-4, generation 101 rounds 5-9.
	fs, ss := frames(g, enc, 10, func(r int) bool { return r == 4 })
	dec := NewDecoder()
	// A queue that dropped all of generation 100 but its last round: those
	// incremental frames need a full frame, then generation 101 decodes.
	for i := 12; i < len(fs); i++ {
		got, err := dec.Apply(fs[i])
		if i < 15 {
			needFull(t, err, ss[i].Target)
			continue
		}
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		sameScrape(t, ss[i], got)
	}
}

func TestForceFullRepairsAndRejectsStaleFrames(t *testing.T) {
	g := newGen(7, 1, 100)
	enc := NewEncoder(1)
	dec := NewDecoder()
	fs, _ := frames(g, enc, 3, nil)
	for _, f := range fs {
		if _, err := dec.Apply(f); err != nil {
			t.Fatal(err)
		}
	}
	dec.Forget(g.targets[0].name) // as after a cloud restart without state
	more, ss := frames(g, enc, 1, nil)
	_, err := dec.Apply(more[0])
	needFull(t, err, g.targets[0].name)

	enc.ForceFull(g.targets[0].name)
	rep, ss2 := frames(g, enc, 2, nil)
	for i, f := range rep {
		got, err := dec.Apply(f)
		if err != nil {
			t.Fatalf("repair frame %d: %v", i, err)
		}
		sameScrape(t, ss2[i], got)
	}
	// A replayed frame from before the repair must not apply on the new base.
	for _, f := range append(fs[1:], more...) {
		if _, err := dec.Apply(f); err == nil {
			t.Fatal("stale incremental frame applied after a repair")
		}
	}
	_ = ss
}

func TestMissingSeriesAreNotInvented(t *testing.T) {
	enc, dec := NewEncoder(1), NewDecoder()
	key := func(s string) string { return string(AppendLabel(nil, "__name__", s)) }
	scrapes := []*Scrape{
		{Target: "t", Timestamp: 1000, Series: []Series{{Labels: key("a"), T: 1000, V: 1}, {Labels: key("b"), T: 1000, V: 2}}},
		{Target: "t", Timestamp: 2000, Series: []Series{{Labels: key("a"), T: 2000, V: 1}}},
		{Target: "t", Timestamp: 3000, Series: []Series{{Labels: key("a"), T: 3000, V: 1}, {Labels: key("b"), T: 3000, V: 2}}},
		{Target: "t", Timestamp: 4000},
	}
	for i, s := range scrapes {
		got, err := dec.Apply(enc.AppendFrame(nil, s))
		if err != nil {
			t.Fatal(err)
		}
		if len(got.Series) != len(s.Series) {
			t.Fatalf("scrape %d: want %d series, got %d", i, len(s.Series), len(got.Series))
		}
		sameScrape(t, s, got)
	}
}

func TestStateSurvivesRestart(t *testing.T) {
	g := newGen(8, 3, 200)
	enc := NewEncoder(1)
	fs, ss := frames(g, enc, 10, func(r int) bool { return r == 6 })
	dec := NewDecoder()
	for i, f := range fs {
		if i == 12 {
			state := dec.MarshalState(nil)
			dec = NewDecoder()
			if err := dec.UnmarshalState(state); err != nil {
				t.Fatal(err)
			}
			if again := dec.MarshalState(nil); !bytes.Equal(state, again) {
				t.Fatal("state changed across Marshal/Unmarshal")
			}
		}
		got, err := dec.Apply(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		sameScrape(t, ss[i], got)
	}
	bad := dec.MarshalState(nil)
	before := dec.MarshalState(nil)
	if err := dec.UnmarshalState(bad[:len(bad)-3]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("truncated state: got %v", err)
	}
	if !bytes.Equal(before, dec.MarshalState(nil)) {
		t.Fatal("failed UnmarshalState changed the decoder")
	}
}

func TestFullFrameAlwaysApplies(t *testing.T) {
	g := newGen(9, 1, 50)
	old := NewEncoder(1)
	oldFrames, _ := frames(g, old, 2, nil)
	newer := NewEncoder(5)
	newFrames, newScrapes := frames(g, newer, 1, nil)
	dec := NewDecoder()
	if _, err := dec.Apply(newFrames[0]); err != nil {
		t.Fatal(err)
	}
	got, err := dec.Apply(oldFrames[0]) // a full frame of an older generation
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Apply(oldFrames[1]); err != nil {
		t.Fatalf("incremental after older full frame: %v", err)
	}
	_, _ = got, newScrapes
}

func TestGenerationZeroStartsFull(t *testing.T) {
	enc, dec := NewEncoder(0), NewDecoder()
	g := newGen(10, 1, 20)
	fs, ss := frames(g, enc, 3, nil)
	for i, f := range fs {
		got, err := dec.Apply(f)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		sameScrape(t, ss[i], got)
	}
}

// TestIDsNameSeries: within a generation a decoded series keeps its ID
// from scrape to scrape, and no two label sets share one.
func TestIDsNameSeries(t *testing.T) {
	g := newGen(7, 1, 300)
	enc := NewEncoder(1)
	fs, _ := frames(g, enc, 12, nil)
	dec := NewDecoder()
	byID := map[uint32]string{}
	for i, f := range fs {
		got, err := dec.Apply(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, sr := range got.Series {
			if l, ok := byID[sr.ID]; ok && l != sr.Labels {
				t.Fatalf("frame %d: ID %d names %q, named %q before", i, sr.ID, sr.Labels, l)
			}
			byID[sr.ID] = sr.Labels
		}
	}
	seen := map[string]uint32{}
	for id, l := range byID {
		if o, ok := seen[l]; ok {
			t.Fatalf("%q has IDs %d and %d", l, o, id)
		}
		seen[l] = id
	}
}
