// Package sdk is what an edgerelay plugin author imports to write a
// WebAssembly plugin in Go. It is standard library only and builds with
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildmode=c-shared -o plugin.wasm .
//
// A plugin registers its functions from an init function (a c-shared module
// never runs main) and the sdk exports the ABI of package sdk/abi for it:
//
//	func init() {
//		sdk.Register(sdk.Plugin{Init: configure, Series: process})
//	}
//	func main() {}
//
// A series-level plugin (Series) is a pure function of a label set: the host
// calls it once per label set it has not seen and remembers the answer, so
// the plugin's cost scales with series churn, not with sample rate. A
// sample-level plugin (Samples) is given the samples of each batch as
// columns and may keep state across calls.
//
// The host calls a module from one goroutine at a time; nothing in a plugin
// needs locking.
package sdk

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

// Label is one name/value pair.
type Label = abi.Label

// Samples are sample columns: series ref, timestamp (ms), value.
type Samples = abi.Samples

// MetricName is the label holding a series' metric name.
const MetricName = "__name__"

// Labels is a label set sorted by name with unique names.
type Labels []Label

// FromStrings builds Labels from name, value pairs (sorted for you).
func FromStrings(nv ...string) Labels {
	if len(nv)%2 != 0 {
		panic("BUG: sdk.FromStrings needs name, value pairs")
	}
	var ls Labels
	for i := 0; i < len(nv); i += 2 {
		ls.Set(nv[i], nv[i+1])
	}
	return ls
}

// Get returns the value of name, or "".
func (ls Labels) Get(name string) string {
	if i, ok := ls.find(name); ok {
		return ls[i].Value
	}
	return ""
}

// Has reports whether name is present.
func (ls Labels) Has(name string) bool { _, ok := ls.find(name); return ok }

// Set sets name to value, keeping ls sorted; an empty value deletes the label
// (as in Prometheus, an empty label is an absent label).
func (ls *Labels) Set(name, value string) {
	if value == "" {
		ls.Del(name)
		return
	}
	i, ok := ls.find(name)
	if ok {
		(*ls)[i].Value = value
		return
	}
	*ls = slices.Insert(*ls, i, Label{Name: name, Value: value})
}

// Del removes name if present.
func (ls *Labels) Del(name string) {
	if i, ok := ls.find(name); ok {
		*ls = slices.Delete(*ls, i, i+1)
	}
}

// Copy returns a copy that can be changed without touching ls.
func (ls Labels) Copy() Labels { return slices.Clone(ls) }

// String formats ls as {a="1", b="2"}.
func (ls Labels) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, l := range ls {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s=%q", l.Name, l.Value)
	}
	b.WriteByte('}')
	return b.String()
}

func (ls Labels) find(name string) (int, bool) {
	return slices.BinarySearchFunc(ls, name, func(l Label, n string) int { return strings.Compare(l.Name, n) })
}

// SeriesFunc maps one label set to its replacement; keep false drops the
// series. It may change ls in place and return it.
type SeriesFunc func(ls Labels) (out Labels, keep bool)

// SamplesFunc changes a batch's sample columns in place; it may shorten them
// (dropping samples) but must keep the three columns of equal length.
type SamplesFunc func(s *Samples) error

// Plugin is what a module registers; set exactly one of Series, Samples
// and Stream.
type Plugin struct {
	// Init receives the stage's config as JSON ("{}" when there is none)
	// once after instantiation; an error fails loading the stage.
	Init func(config []byte) error
	// Series is called for each label set the host has not seen.
	Series SeriesFunc
	// Samples is called with the samples of each batch.
	Samples SamplesFunc
	// Stream is called with the samples of each batch, and may read each
	// ref's labels and emit new series (see Stream).
	Stream StreamFunc
}

var registered Plugin

// Register installs p as the module's plugin. Call it from an init function.
func Register(p Plugin) {
	n := 0
	for _, set := range []bool{p.Series != nil, p.Samples != nil, p.Stream != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		panic("BUG: sdk.Register needs exactly one of Series, Samples and Stream")
	}
	registered = p
}

// DecodeConfig unmarshals a config into v, refusing unknown fields so that a
// typo in a config file is an error at load rather than a silent default.
func DecodeConfig(config []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(config)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode config: %w", err)
	}
	return nil
}
