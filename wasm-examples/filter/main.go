// Command filter is edgerelay's built-in filter plugin (builtin:filter): it
// keeps or drops series by PromQL series selectors and caps the number of
// distinct series per target (job, instance). Build with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o filter.wasm .
package main

import (
	"fmt"
	"strings"

	"github.com/edgerelay/edgerelay/sdk"
)

func init() {
	sdk.Register(sdk.Plugin{Init: configure, Series: process})
}

func main() {}

type config struct {
	Keep               []string `json:"keep"`
	Drop               []string `json:"drop"`
	MaxSeriesPerTarget int      `json:"max_series_per_target"`
}

var (
	keep, drop [][]matcher
	maxSeries  int
	// seen holds, per target, the series let through so far: a series seen
	// again (after the host forgot it) is let through again.
	seen = map[string]map[string]struct{}{}
)

func configure(raw []byte) error {
	var c config
	if err := sdk.DecodeConfig(raw, &c); err != nil {
		return err
	}
	for i, s := range c.Keep {
		ms, err := parseSelector(s)
		if err != nil {
			return fmt.Errorf("keep[%d]: %w", i, err)
		}
		keep = append(keep, ms)
	}
	for i, s := range c.Drop {
		ms, err := parseSelector(s)
		if err != nil {
			return fmt.Errorf("drop[%d]: %w", i, err)
		}
		drop = append(drop, ms)
	}
	if c.MaxSeriesPerTarget < 0 {
		return fmt.Errorf("max_series_per_target must be >= 0; got %d", c.MaxSeriesPerTarget)
	}
	maxSeries = c.MaxSeriesPerTarget
	return nil
}

func matchesAny(sels [][]matcher, ls sdk.Labels) bool {
	for _, ms := range sels {
		if matchAll(ms, ls) {
			return true
		}
	}
	return false
}

func process(ls sdk.Labels) (sdk.Labels, bool) {
	if len(keep) > 0 && !matchesAny(keep, ls) {
		return nil, false
	}
	if matchesAny(drop, ls) {
		return nil, false
	}
	if maxSeries > 0 {
		target := ls.Get("job") + "\xff" + ls.Get("instance")
		set := seen[target]
		if set == nil {
			set = map[string]struct{}{}
			seen[target] = set
		}
		key := seriesKey(ls)
		if _, ok := set[key]; !ok {
			if len(set) >= maxSeries {
				return nil, false
			}
			set[key] = struct{}{}
		}
	}
	return ls, true
}

// seriesKey is a compact copy of ls used as a map key.
func seriesKey(ls sdk.Labels) string {
	var b strings.Builder
	for _, l := range ls {
		b.WriteString(l.Name)
		b.WriteByte(0xff)
		b.WriteString(l.Value)
		b.WriteByte(0xff)
	}
	return b.String()
}
