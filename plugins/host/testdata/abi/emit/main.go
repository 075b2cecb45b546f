// Command emit is a stream plugin for the ABI test suite (TestABISuite),
// the Go twin of ../emit.c. For every metric name it sees it declares a
// series "<name>:seen" (a counter, job label kept) and emits, per batch, the
// number of samples of that name seen so far at the batch's last
// timestamp, in the order of the series' ids; it also emits "emit_told",
// the number of refs it was given samples of. With drop_input
// it keeps no input sample; with unbounded it declares a new series for
// every sample and never retires one; with retire it retires every series
// right after emitting it.
package main

import (
	"maps"
	"slices"

	"github.com/edgerelay/edgerelay/sdk"
)

var conf struct {
	DropInput bool `json:"drop_input"`
	Unbounded bool `json:"unbounded"`
	Retire    bool `json:"retire"`
}

var (
	ids    = map[string]uint32{} // "<name>\xff<job>" -> id
	counts = map[uint32]float64{}
	told   = map[uint32]bool{}
	next   uint32
)

const toldID = 0

func init() {
	sdk.Register(sdk.Plugin{Init: func(raw []byte) error { return sdk.DecodeConfig(raw, &conf) }, Stream: process})
}

func main() {}

func process(s *sdk.Stream) error {
	var last int64
	touched := map[uint32]bool{}
	for i, ref := range s.Refs {
		ls := s.Labels(ref)
		told[ref] = true
		last = max(last, s.T[i])
		if conf.Unbounded {
			next++
			s.Declare(next, sdk.FromStrings("__name__", "unbounded", "n", string(rune('a'+next%26))+itoa(next)), sdk.Metadata{})
			s.Emit(next, s.T[i], 1)
			continue
		}
		key := ls.Get(sdk.MetricName) + "\xff" + ls.Get("job")
		id, ok := ids[key]
		if !ok {
			next++
			id = next
			ids[key] = id
			s.Declare(id, sdk.FromStrings("__name__", ls.Get(sdk.MetricName)+":seen", "job", ls.Get("job")),
				sdk.Metadata{Type: "counter", Help: "samples seen"})
		}
		counts[id]++
		touched[id] = true
	}
	if conf.Unbounded {
		return nil
	}
	for _, id := range slices.Sorted(maps.Keys(touched)) { // in id order, as emit.c
		s.Emit(id, last, counts[id])
		if conf.Retire {
			s.Retire(id)
			for k, v := range ids {
				if v == id {
					delete(ids, k)
				}
			}
		}
	}
	s.Declare(toldID, sdk.FromStrings("__name__", "emit_told"), sdk.Metadata{Type: "gauge"})
	s.Emit(toldID, last, float64(len(told)))
	if conf.DropInput {
		s.Refs, s.T, s.V = s.Refs[:0], s.T[:0], s.V[:0]
	}
	return nil
}

func itoa(n uint32) string {
	var b []byte
	for {
		b = append([]byte{byte('0' + n%10)}, b...)
		if n /= 10; n == 0 {
			return string(b)
		}
	}
}
