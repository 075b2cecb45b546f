// Package native is the contract between the plugin host (plugins/host)
// and edgerelay's built-in stream stages written in Go (builtin:aggregate,
// builtin:rules). Such a stage runs inside the host, trusted as the
// built-in WebAssembly modules are, and sees what a WebAssembly stream
// stage (abi.KindStream) sees: the refs it has not been told yet with their
// labels, and the batch's float samples as columns. It answers what such a
// stage answers: the samples it keeps, the series it declares and retires,
// and the samples of those series; only as Go values instead of bytes. The
// host checks and applies both kinds of answer with the same code, so the
// bounds (limits.max_series) and failure policies are the same.
//
// The host calls a Stage from one goroutine at a time.
package native

import (
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

// Request is one batch for a stream stage.
type Request struct {
	// Forget: drop the labels of every ref told before this request.
	Forget bool
	// NewRefs are refs the stage has not been told, NewLabels their labels.
	NewRefs   []uint32
	NewLabels []labels.Labels
	// Samples are the batch's float samples; the stage shortens or changes
	// them in place to what it keeps, never adding samples or refs.
	Samples *abi.Samples
}

// Decl declares a series the stage emits.
type Decl struct {
	ID     uint32
	Labels labels.Labels
	Meta   abi.Metadata
}

// Response is what the stage emits for one request.
type Response struct {
	Declare []Decl
	Retire  []uint32
	// Samples of declared series: Refs hold their ids.
	Samples abi.Samples
	// Dropped counts input samples the stage left out of its work (late,
	// over a bound), by reason: the host adds them to
	// edgerelay_plugin_dropped_samples_total.
	Dropped []Drop
	// Warnings are failures the stage worked around (a rule that could not
	// be evaluated): the host logs them and counts each in
	// edgerelay_plugin_errors_total{kind="warning"}; the call succeeded.
	Warnings []error
}

// Drop is a count of samples a stage dropped, and why.
type Drop struct {
	Reason  string
	Samples int
}

// Reset empties r keeping its capacity.
func (r *Response) Reset() {
	clear(r.Declare)
	r.Declare, r.Retire, r.Dropped = r.Declare[:0], r.Retire[:0], r.Dropped[:0]
	clear(r.Warnings)
	r.Warnings = r.Warnings[:0]
	r.Samples.Reset()
}

// Stage is a built-in stream stage.
type Stage interface {
	// Stream handles one batch. An error fails the call (kind guest) and
	// the stage's on_error applies.
	Stream(req *Request, resp *Response) error
}

// Factory builds a stage from its config (JSON, "{}" when none). The host
// calls it again to start afresh after a failure.
type Factory func(config []byte) (Stage, error)

// MatchesAny reports whether ls satisfies every matcher of at least one of
// sets (a list of PromQL series selectors' matchers).
func MatchesAny(sets [][]*labels.Matcher, ls labels.Labels) bool {
	for _, ms := range sets {
		ok := true
		for _, m := range ms {
			if !m.Matches(ls.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
