package delta

import (
	"bytes"
	"runtime"
	"testing"
)

// fuzzBase is a decoder state holding one target, and frames that are valid
// on top of it, for the fuzzers' seed corpus.
func fuzzBase(tb testing.TB) (state []byte, valid [][]byte) {
	return fuzzBaseOf(tb, newGen(11, 1, 40))
}

// fuzzBaseOf is fuzzBase for the scrapes of g.
func fuzzBaseOf(tb testing.TB, g *gen) (state []byte, valid [][]byte) {
	return fuzzBaseWith(tb, g, NewEncoder(3))
}

// fuzzBaseWith is fuzzBaseOf with frames of enc.
func fuzzBaseWith(tb testing.TB, g *gen, enc *Encoder) (state []byte, valid [][]byte) {
	dec := NewDecoder()
	fs, _ := frames(g, enc, 4, nil)
	for _, f := range fs[:3] {
		if _, err := dec.Apply(f); err != nil {
			tb.Fatal(err)
		}
	}
	return dec.MarshalState(nil), fs
}

func FuzzApply(f *testing.F) {
	state, valid := fuzzBase(f)
	for _, v := range valid {
		f.Add(v)
	}
	f.Add([]byte{Version, 0})
	f.Add([]byte{Version, kindIncremental, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, frame []byte) { fuzzApply(t, state, frame) })
}

// FuzzApplyHistograms is FuzzApply on a base whose series include native
// histograms and exemplars, seeded with frames that change them.
func FuzzApplyHistograms(f *testing.F) {
	state, valid := fuzzBaseOf(f, newHistGen(12, 1, 20))
	for _, v := range valid {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, frame []byte) { fuzzApply(t, state, frame) })
}

// FuzzApplyVersion3 is FuzzApply on a base of frames of version 3
// (trends, delta-of-delta, split XOR payloads), with histograms.
func FuzzApplyVersion3(f *testing.F) {
	g := newHistGen(14, 1, 30)
	g.trends = true
	state, valid := fuzzBaseWith(f, g, newEncoderV3(3))
	for _, v := range valid {
		f.Add(v)
	}
	f.Add([]byte{Version3, kindIncremental, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, frame []byte) { fuzzApply(t, state, frame) })
}

func fuzzApply(t *testing.T, state, frame []byte) {
	dec := NewDecoder()
	if err := dec.UnmarshalState(state); err != nil {
		t.Fatal(err)
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	allocBefore := ms.TotalAlloc
	got, err := dec.Apply(frame)
	runtime.ReadMemStats(&ms)
	if h, herr := ParseHeader(frame); err == nil && (herr != nil || h.Full == (frame[1]&kindIncremental != 0)) {
		t.Fatalf("frame applied but its header reads %+v, %v", h, herr)
	}
	// Allocation is bounded by the input and the base it applies to.
	if limit := 64*uint64(len(frame)+len(state)) + 1<<16; ms.TotalAlloc-allocBefore > limit {
		t.Fatalf("Apply of %d bytes allocated %d bytes (limit %d)", len(frame), ms.TotalAlloc-allocBefore, limit)
	}
	if err != nil {
		if got != nil {
			t.Fatal("scrape returned with an error")
		}
		if after := dec.MarshalState(nil); !bytes.Equal(after, state) {
			t.Fatal("failed Apply changed the decoder")
		}
		return
	}
	// What was applied must survive a state round trip.
	st := dec.MarshalState(nil)
	if err := NewDecoder().UnmarshalState(st); err != nil {
		t.Fatalf("state after a successful Apply does not reload: %v", err)
	}
}

func FuzzUnmarshalState(f *testing.F) {
	state, _ := fuzzBase(f)
	f.Add(state)
	f.Add([]byte("ERDS\x01\x00"))
	hstate, _ := fuzzBaseOf(f, newHistGen(13, 2, 20))
	f.Add(hstate)
	g := newGen(15, 2, 30)
	g.trends = true
	v3state, _ := fuzzBaseWith(f, g, newEncoderV3(1))
	f.Add(v3state)
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := NewDecoder()
		if err := dec.UnmarshalState(data); err != nil {
			if dec.Targets() != 0 {
				t.Fatal("failed UnmarshalState changed the decoder")
			}
			return
		}
		once := dec.MarshalState(nil)
		again := NewDecoder()
		if err := again.UnmarshalState(once); err != nil {
			t.Fatalf("reload of marshalled state: %v", err)
		}
		if twice := again.MarshalState(nil); !bytes.Equal(once, twice) {
			t.Fatal("state not stable across Marshal/Unmarshal")
		}
	})
}
