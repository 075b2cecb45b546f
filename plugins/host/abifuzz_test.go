package host

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/tetratelabs/wazero/api"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

// FuzzABISeries feeds any bytes as a SeriesRequest to dropprefix (strip on,
// so it keeps, drops and relabels) built with each SDK: the C one must never
// trap or answer malformed bytes, and without -race the two must give the
// same answer, byte for byte, or refuse with the same message.
func FuzzABISeries(f *testing.F) {
	stages := abiFuzzStages(f, func(m abiModules) string { return m.dropprefix }, `{prefix: node_, strip: true}`, abi.KindSeries)
	req := func(sets ...labels.Labels) []byte {
		b := abi.AppendU32(nil, uint32(len(sets)))
		for _, ls := range sets {
			b = appendLabels(b, ls)
		}
		return b
	}
	good := req(labels.FromStrings("__name__", "node_load1", "job", "n"), labels.FromStrings("__name__", "node_"),
		labels.FromStrings("__name__", "up"), labels.FromStrings("a", "b"))
	f.Add(good)
	f.Add(good[:len(good)-3])
	f.Add(append(good, 1, 2, 3))
	f.Add([]byte{})
	f.Add(abi.AppendU32(abi.AppendU32(nil, 1), 513))
	f.Add(abi.AppendU32(abi.AppendU32(abi.AppendU32(nil, 1), 1), 1<<16+1))
	f.Add(req(labels.FromStrings("z", "1", "__name__", "node_x"))) // sorted by the builder
	f.Fuzz(func(t *testing.T, b []byte) {
		abiFuzzCompare(t, stages, func(s *stage) api.Function { return s.fSeries }, b)
	})
}

// FuzzABISamples does the same with a SamplesRequest and scale.
func FuzzABISamples(f *testing.F) {
	stages := abiFuzzStages(f, func(m abiModules) string { return m.scale }, `{factor: 2, drop_below: 0, fail_on: 13}`, abi.KindSamples)
	var s abi.Samples
	for i, v := range []float64{1, -1, 13, 2.5} {
		s.Append(uint32(i), int64(i), v)
	}
	good := abi.AppendSamples(nil, &s)
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(append(good, 9))
	f.Add([]byte{1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		abiFuzzCompare(t, stages, func(s *stage) api.Function { return s.fSmpl }, b)
	})
}

// FuzzABIStream does the same with a StreamRequest and emit, which reads
// the labels it was told, declares, emits and retires (retire on): the
// answers hold every part of a StreamResponse. Each SDK's instance keeps
// what earlier inputs told it, so both see the same history.
func FuzzABIStream(f *testing.F) {
	stages := abiFuzzStages(f, func(m abiModules) string { return m.emit }, `{retire: true}`, abi.KindStream)
	var s abi.Samples
	for i, v := range []float64{1, 2, math.Float64frombits(0x7ff0000000000002)} {
		s.Append(uint32(i+1), int64(1000*i), v)
	}
	sets := [][]abi.Label{{{Name: "__name__", Value: "a"}, {Name: "job", Value: "j"}}, {{Name: "__name__", Value: "b"}}}
	good := abi.AppendStreamRequest(nil, 0, []uint32{1, 2}, sets, &s)
	f.Add(good)
	f.Add(abi.AppendStreamRequest(nil, abi.FlagForget, []uint32{3}, sets[1:], &s))
	f.Add(good[:len(good)-5])
	f.Add(append(good, 7))
	f.Add([]byte{0, 0, 0, 0})
	f.Add(abi.AppendU32(abi.AppendU32(abi.AppendU32(nil, 0), 1), 9)) // a ref, then no labels
	f.Add(abi.AppendU32(abi.AppendU32(abi.AppendU32(abi.AppendU32(nil, 0), 1), 9), 513))
	f.Fuzz(func(t *testing.T, b []byte) {
		abiFuzzCompare(t, stages, func(s *stage) api.Function { return s.fStream }, b)
	})
}

func abiFuzzStages(f *testing.F, pick func(abiModules) string, cfg string, kind int32) map[string]*stage {
	stages := map[string]*stage{}
	for _, lang := range []string{"c", "go"} {
		if lang == "go" && raceEnabled {
			continue // too slow to compile under -race, as in TestABISuite
		}
		c := newTestChain(f, nil, abiStage(f, lang, pick(buildABIModules(f, lang)), cfg, ""))
		all := append(append([]*stage(nil), c.series...), c.samples...)
		if len(all) != 1 || all[0].kind != kind {
			f.Fatalf("%s: want one stage of kind %d", lang, kind)
		}
		stages[lang] = all[0]
	}
	return stages
}

func abiFuzzCompare(t *testing.T, stages map[string]*stage, fn func(*stage) api.Function, req []byte) {
	answers := map[string]string{}
	for lang, s := range stages {
		out, err := s.call(context.Background(), fn(s), req)
		var ce *callError
		switch {
		case err == nil:
			answers[lang] = fmt.Sprintf("ok %x", out)
		case errors.As(err, &ce) && ce.kind == "guest":
			answers[lang] = "refused: " + ce.err.Error()
		default:
			t.Fatalf("%s SDK: %v", lang, err)
		}
	}
	if g, ok := answers["go"]; ok && g != answers["c"] {
		t.Fatalf("the SDKs differ on %x:\n go %.300s\n  c %.300s", req, g, answers["c"])
	}
}

// FuzzABIConfig feeds any bytes to er_init of dropprefix built with the C
// SDK (the host only ever sends JSON, but the C SDK's config reader is a
// parser of its own): it accepts or refuses, never traps, and the module
// still answers a series request afterwards. The SDKs are not compared
// here: Go's encoding/json matches keys in any case and ignores bytes after
// the object.
func FuzzABIConfig(f *testing.F) {
	c := newTestChain(f, nil, abiStage(f, "c", buildABIModules(f, "c").dropprefix, "", ""))
	stages := map[string]*stage{"c": c.series[0]}
	for _, s := range []string{`{}`, `{"prefix":"a\"\u00e9\ud83d\ude00","strip":true}`, `{"prefix":null}`, `{"x":[{"}":"]"}]}`,
		`{"prefix":"go_",}`, `{"prefix"`, `[1]`, ` { "strip" : false } `, `{"prefix":"\ud800"}`, `{"strip":true} x`} {
		f.Add([]byte(s))
	}
	probe := abi.AppendU32(nil, 1)
	probe = appendLabels(probe, labels.FromStrings("__name__", "go_x"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for lang, s := range stages {
			_, err := s.call(context.Background(), s.mod.ExportedFunction("er_init"), b)
			var ce *callError
			if err != nil && !(errors.As(err, &ce) && ce.kind == "guest") {
				t.Fatalf("%s SDK: init: %v", lang, err)
			}
			if _, err := s.call(context.Background(), s.fSeries, probe); err != nil {
				t.Fatalf("%s SDK: a series request after init: %v", lang, err)
			}
		}
	})
}
