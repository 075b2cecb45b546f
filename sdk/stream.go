package sdk

import (
	"strings"

	"github.com/edgerelay/edgerelay/sdk/abi"
)

// Metadata describes a metric family: Type ("counter", "gauge",
// "histogram", "summary", "untyped", or "" when unknown), Help and Unit.
type Metadata = abi.Metadata

// StreamFunc handles one batch of a stream plugin.
type StreamFunc func(s *Stream) error

// Stream is one batch as a stream plugin sees it. Samples are the batch's
// float samples as columns, to change or shorten in place as a Samples
// plugin does; Labels tells a ref's label set; Declare, Emit and Retire
// create new series.
//
// A new series is declared once with an id the plugin chooses, its labels
// and metadata; its samples then carry only the id (Emit), in this call or
// any later one, until Retire(id). Declaring an id again replaces its
// labels. The host bounds how many ids may be declared at once (the
// stage's limits.max_series): past it the call fails and the stage's
// on_error applies, so retire what will not be emitted again.
type Stream struct {
	Samples
	out    abi.StreamOut
	labels map[uint32]Labels
}

// Labels returns the label set of ref (a ref of this or an earlier batch
// the host has not made the plugin forget), or nil. The strings are the
// sdk's own copies: keep them freely.
func (s *Stream) Labels(ref uint32) Labels { return s.labels[ref] }

// Declare declares (or re-declares) series id with labels ls and metadata
// md. ls must hold __name__; its strings are encoded before the call
// returns, so they may alias anything.
func (s *Stream) Declare(id uint32, ls Labels, md Metadata) {
	s.out.Declare = append(s.out.Declare, abi.Decl{ID: id, Labels: ls, Meta: md})
}

// Emit adds a sample of declared series id.
func (s *Stream) Emit(id uint32, t int64, v float64) { s.out.Samples.Append(id, t, v) }

// Retire forgets series id: the host frees its place under max_series.
func (s *Stream) Retire(id uint32) { s.out.Retire = append(s.out.Retire, id) }

var stream = Stream{labels: make(map[uint32]Labels)}

// serveStream answers a StreamRequest with p.Stream.
func serveStream(p *Plugin, req, dst []byte) (out []byte) {
	defer recoverInto(&out, dst)
	if p.Stream == nil {
		return abi.AppendError(dst, "module has no stream function")
	}
	r := abi.NewReader(req)
	flags, err := r.StreamHead(func(ref uint32, ls []abi.Label) {
		own := make(Labels, len(ls))
		for i, l := range ls {
			own[i] = Label{Name: strings.Clone(l.Name), Value: strings.Clone(l.Value)}
		}
		stream.labels[ref] = own
	})
	if err == nil && flags&abi.FlagForget != 0 {
		// The refs of this request were told after the forget: keep them.
		err = forgetAllBut(r, req)
	}
	if err == nil {
		err = r.Samples(&stream.Samples)
	}
	if err != nil {
		return abi.AppendError(dst, err.Error())
	}
	stream.out.Reset()
	if err := p.Stream(&stream); err != nil {
		return abi.AppendError(dst, err.Error())
	}
	s := &stream.Samples
	if len(s.T) != len(s.Refs) || len(s.V) != len(s.Refs) {
		return abi.AppendError(dst, "samples columns of unequal length")
	}
	return abi.AppendStreamResponse(abi.AppendOK(dst), s, &stream.out)
}

// forgetAllBut keeps only the refs the request told (reading its head
// again) and positions r after them.
func forgetAllBut(r *abi.Reader, req []byte) error {
	keep := make(map[uint32]Labels)
	r.Reset(req)
	_, err := r.StreamHead(func(ref uint32, _ []abi.Label) { keep[ref] = stream.labels[ref] })
	stream.labels = keep
	return err
}
