// Command scale is a sample-level plugin for the ABI test suite
// (TestABISuite), the Go twin of ../scale.c: it multiplies every value by
// factor, drops values below drop_below, keeps staleness markers as they
// are, and fails the call when a value equals fail_on.
package main

import (
	"errors"
	"math"

	"github.com/edgerelay/edgerelay/sdk"
)

const staleNaN = 0x7ff0000000000002

var conf = struct {
	Factor    float64  `json:"factor"`
	DropBelow *float64 `json:"drop_below"`
	FailOn    *float64 `json:"fail_on"`
}{Factor: 1}

func init() {
	sdk.Register(sdk.Plugin{Init: func(raw []byte) error { return sdk.DecodeConfig(raw, &conf) }, Samples: process})
}

func main() {}

func process(s *sdk.Samples) error {
	w := 0
	for i, v := range s.V {
		if math.Float64bits(v) != staleNaN {
			if conf.FailOn != nil && v == *conf.FailOn {
				return errors.New("refused value")
			}
			if conf.DropBelow != nil && v < *conf.DropBelow {
				continue
			}
			v *= conf.Factor
		}
		s.Refs[w], s.T[w], s.V[w] = s.Refs[i], s.T[i], v
		w++
	}
	s.Refs, s.T, s.V = s.Refs[:w], s.T[:w], s.V[:w]
	return nil
}
