package host

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/plugins/native"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// DefaultMaxSeries is the default of limits.max_series: the new series a
// stream stage may have declared at once.
const DefaultMaxSeries = 10000

// emitSamplesPerSeries bounds the samples of new series in one answer:
// this many per series the stage may declare.
const emitSamplesPerSeries = 16

// streamState is what the host keeps of one stream stage: the refs whose
// labels it told the instance, and the series the instance declared.
// Both go when the instance is restarted.
type streamState struct {
	told    map[uint32]struct{}
	decl    map[uint32]*emitted
	maxTold int
	max     int // limits.max_series
	gen     uint64
	req     native.Request
	resp    native.Response
}

// emitted is one declared series: its labels, metadata and the host's ref.
type emitted struct {
	labels labels.Labels
	meta   abi.Metadata
	ref    uint32
	gen    uint64 // the call whose batch holds it at idx
	idx    int
}

func newStreamState(maxSeries uint32, maxTold int) *streamState {
	if maxSeries == 0 {
		maxSeries = DefaultMaxSeries
	}
	return &streamState{told: make(map[uint32]struct{}), decl: make(map[uint32]*emitted), max: int(maxSeries), maxTold: maxTold}
}

func (st *streamState) reset() {
	clear(st.told)
	clear(st.decl)
}

// streamLevel is sampleLevel for a stream stage: the stage also learns the
// labels of refs it has not seen and may emit new series, which join the
// batch (marked derived) for the stages after it.
func (c *Chain) streamLevel(ctx context.Context, b *relay.Batch, sc *scratch, s *stage) error {
	if skip, err := s.skipQuarantined(); skip {
		return err
	}
	c.columns(b, sc)
	st := s.stream
	st.req.Forget, st.req.NewRefs, st.req.NewLabels = false, st.req.NewRefs[:0], st.req.NewLabels[:0]
	if len(st.told)+len(b.Series) > st.maxTold {
		clear(st.told)
		st.req.Forget = true
	}
	for i := range b.Series {
		ref := sc.res[i].ref
		if _, ok := st.told[ref]; !ok {
			st.told[ref] = struct{}{}
			st.req.NewRefs = append(st.req.NewRefs, ref)
			st.req.NewLabels = append(st.req.NewLabels, b.Series[i].Labels)
		}
	}
	in := sc.smpl.Len()
	t0 := time.Now()
	err := s.callStream(ctx, sc)
	s.m.seconds.Add(time.Since(t0).Seconds())
	s.m.calls.Inc()
	if err == nil {
		err = c.checkRefs(sc)
	}
	if err == nil {
		err = c.declare(st)
	}
	if err != nil {
		return c.failSamples(ctx, s, err, in)
	}
	c.succeeded(s)
	c.writeBack(b, sc)
	c.appendEmitted(b, sc, st)
	s.m.samplesIn.Add(float64(in))
	s.m.samplesOut.Add(float64(sc.smpl.Len() + st.resp.Samples.Len()))
	s.m.emitted.Add(float64(st.resp.Samples.Len()))
	s.m.declared.Set(float64(len(st.decl)))
	for _, w := range st.resp.Warnings {
		s.m.errors.WithLabelValues(s.name, "warning").Inc()
		c.log.Warn("plugin stage worked around a failure", "plugin", s.name, "err", w)
	}
	for _, d := range st.resp.Dropped {
		s.m.dropped.WithLabelValues(s.name, d.Reason).Add(float64(d.Samples))
	}
	return nil
}

// callStream calls the stage with st.req and sc.smpl; on return sc.smpl
// holds the kept samples and st.resp what the stage emitted.
func (s *stage) callStream(ctx context.Context, sc *scratch) error {
	st := s.stream
	st.resp.Reset()
	if s.native != nil {
		st.req.Samples = &sc.smpl
		return s.callNative(st)
	}
	sc.req = abi.AppendU32(sc.req[:0], 0)
	if st.req.Forget {
		putU32(sc.req, abi.FlagForget)
	}
	sc.req = abi.AppendU32(sc.req, uint32(len(st.req.NewRefs)))
	for i, ref := range st.req.NewRefs {
		sc.req = abi.AppendU32(sc.req, ref)
		sc.req = appendLabels(sc.req, st.req.NewLabels[i])
	}
	sc.req = abi.AppendSamples(sc.req, &sc.smpl)
	out, err := s.call(ctx, s.fStream, sc.req)
	if err != nil {
		return err
	}
	sc.rd.Reset(out)
	if err := sc.rd.Samples(&sc.smpl); err != nil {
		return &callError{kind: "output", err: err}
	}
	if err := decodeStreamOut(&sc.rd, &st.resp, &sc.sb); err != nil {
		return &callError{kind: "output", err: err}
	}
	return nil
}

// callNative runs a built-in Go stage, a panic counting as a trap.
func (s *stage) callNative(st *streamState) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &callError{kind: "trap", err: fmt.Errorf("panic: %v", r)}
		}
	}()
	if err := s.native.Stream(&st.req, &st.resp); err != nil {
		return &callError{kind: "guest", err: err}
	}
	return nil
}

// declare applies a stream stage's declarations and checks its emitted
// samples against them and the stage's bounds. On an error the stage is
// restarted, which forgets every declaration.
func (c *Chain) declare(st *streamState) error {
	r := &st.resp
	for _, d := range r.Declare {
		if d.Labels.Get(labels.MetricName) == "" {
			return &callError{kind: "output", err: fmt.Errorf("series %d declared without __name__: %s", d.ID, d.Labels)}
		}
		if !validType(d.Meta.Type) {
			return &callError{kind: "output", err: fmt.Errorf("series %d declared with metric type %q", d.ID, d.Meta.Type)}
		}
		if e := st.decl[d.ID]; e != nil && labels.Equal(e.labels, d.Labels) {
			e.meta = d.Meta
			continue
		}
		c.memo.nextRef++
		st.decl[d.ID] = &emitted{labels: d.Labels, meta: d.Meta, ref: c.memo.nextRef}
		if len(st.decl) > st.max {
			return &callError{kind: "limit", err: fmt.Errorf("more than limits.max_series=%d new series declared", st.max)}
		}
	}
	if n := r.Samples.Len(); n > emitSamplesPerSeries*st.max {
		return &callError{kind: "limit", err: fmt.Errorf("%d samples of new series in one answer; at most %d (%d × limits.max_series)", n, emitSamplesPerSeries*st.max, emitSamplesPerSeries)}
	}
	for _, id := range r.Samples.Refs {
		if st.decl[id] == nil {
			return &callError{kind: "output", err: fmt.Errorf("sample for undeclared series %d", id)}
		}
	}
	for _, id := range r.Retire {
		if st.decl[id] == nil {
			return &callError{kind: "output", err: fmt.Errorf("retired undeclared series %d", id)}
		}
	}
	return nil
}

func validType(t string) bool {
	switch t {
	case "", "counter", "gauge", "histogram", "gaugehistogram", "summary", "info", "stateset", "unknown", "untyped":
		return true
	}
	return false
}

// appendEmitted adds the emitted samples to b as series of their own
// (derived), with their metadata, then forgets retired series.
func (c *Chain) appendEmitted(b *relay.Batch, sc *scratch, st *streamState) {
	st.gen++
	r := &st.resp
	for k, id := range r.Samples.Refs {
		e := st.decl[id]
		if e.gen != st.gen {
			e.gen, e.idx = st.gen, len(b.Series)
			b.Series = append(b.Series, relay.Series{Labels: e.labels})
			sc.res = append(sc.res, result{out: e.labels, stage: -1, ref: e.ref, derived: true})
			if e.meta != (abi.Metadata{}) {
				name := e.labels.Get(labels.MetricName)
				if b.Metadata == nil {
					b.Metadata = make(map[string]relay.Metadata)
				}
				if _, ok := b.Metadata[name]; !ok {
					b.Metadata[name] = relay.Metadata{Type: e.meta.Type, Help: e.meta.Help, Unit: e.meta.Unit}
				}
			}
		}
		s := &b.Series[e.idx]
		s.Samples = append(s.Samples, relay.Sample{T: r.Samples.T[k], V: r.Samples.V[k]})
	}
	for _, id := range r.Retire {
		delete(st.decl, id)
	}
}
