package upstreams

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Forwarder is one upstream's uplink loop (*forward.Forwarder): Run ships
// until its context ends, and may be called again after it returned.
type Forwarder interface {
	Run(ctx context.Context) error
}

// RunConfig says what Run runs.
type RunConfig struct {
	// Set is the upstreams sharing the queue; nil for the one-upstream
	// form (edge.upstream), whose forwarder reads the queue directly.
	Set *Set
	// Forwarders are one per view of Set, in its order (one, without Set).
	Forwarders []Forwarder
	// Names label the forwarders' upstreams in logs and metrics.
	Names []string
	// FailoverAfter is the time without progress after which failover
	// mode moves to the next upstream.
	FailoverAfter time.Duration
	Gate          *Gate
	// OnSwitch, when set, is called when failover moves to another
	// upstream (the edge starts a new delta generation).
	OnSwitch func()
	Metrics  *Metrics
	Logger   *slog.Logger
	// Tick is how often the gate, progress and the backlog caps are
	// checked; 0 means 1s.
	Tick time.Duration
}

// runner is Run's state.
type runner struct {
	cfg    RunConfig
	m      *metrics
	log    *slog.Logger
	active int // failover: the upstream shipping now

	cancel context.CancelFunc // of the running forwarders; nil: none runs
	wg     sync.WaitGroup
	since  time.Time // the running forwarders started
	idle   time.Time // last time the active upstream had nothing to send
	maint  time.Time // last backlog refresh
}

// Run ships with the forwarders until ctx ends: all of them in replicate
// mode, one at a time in failover mode, none while the gate is paused
// (blocks keep queueing). It also enforces the upstreams' backlog caps.
func Run(ctx context.Context, cfg RunConfig) error {
	if cfg.Tick <= 0 {
		cfg.Tick = time.Second
	}
	r := &runner{cfg: cfg, m: cfg.Metrics.m(), log: cfg.Logger}
	for _, n := range cfg.Names {
		r.m.active.WithLabelValues(n)
	}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	defer r.stop()
	t := time.NewTicker(cfg.Tick)
	defer t.Stop()
	wasPaused := false
	for {
		now := time.Now()
		paused, why := cfg.Gate.Paused(now)
		switch {
		case paused && !wasPaused:
			r.stop()
			r.log.Info("uplink paused; blocks keep queueing", "by", why)
		case !paused && wasPaused:
			r.log.Info("uplink resumed")
		}
		wasPaused = paused
		r.m.paused.Set(b2f(paused))
		if !paused {
			if r.cancel == nil {
				r.start(ctx, now)
			} else if r.stalled(now) {
				r.failover(ctx, now)
			}
		}
		r.maintain(now)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-cfg.Gate.Changed():
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// failoverMode reports whether one upstream at a time ships.
func (r *runner) failoverMode() bool { return r.cfg.Set != nil && r.cfg.Set.failover }

// start runs the forwarders that should ship now.
func (r *runner) start(ctx context.Context, now time.Time) {
	fctx, cancel := context.WithCancel(ctx)
	r.cancel, r.since, r.idle = cancel, now, now
	for i, f := range r.cfg.Forwarders {
		if r.failoverMode() && i != r.active {
			r.m.active.WithLabelValues(r.cfg.Names[i]).Set(0)
			continue
		}
		r.m.active.WithLabelValues(r.cfg.Names[i]).Set(1)
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			if err := f.Run(fctx); err != nil {
				r.log.Error("uplink stopped", "upstream", r.cfg.Names[i], "err", err)
			}
		}()
	}
}

// stop stops the running forwarders and waits for them.
func (r *runner) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	r.cancel = nil
	for _, n := range r.cfg.Names {
		r.m.active.WithLabelValues(n).Set(0)
	}
}

// stalled reports whether, in failover mode, the active upstream has had
// blocks to take and taken none for FailoverAfter.
func (r *runner) stalled(now time.Time) bool {
	if !r.failoverMode() || len(r.cfg.Forwarders) < 2 {
		return false
	}
	v := r.cfg.Set.views[r.active]
	st := r.cfg.Set.q.Stats()
	if st.Blocks == 0 || st.NextSeq-1 <= v.Acked() {
		r.idle = now
		return false
	}
	last := r.since
	for _, t := range []time.Time{r.idle, v.LastAck()} {
		if t.After(last) {
			last = t
		}
	}
	return now.Sub(last) >= r.cfg.FailoverAfter
}

// failover moves shipping to the next upstream of the list.
func (r *runner) failover(ctx context.Context, now time.Time) {
	from := r.cfg.Names[r.active]
	r.stop()
	r.active = (r.active + 1) % len(r.cfg.Forwarders)
	v := r.cfg.Set.views[r.active]
	r.log.Warn("upstream made no progress; failing over to the next", "from", from, "to", v.Name(),
		"failover_after", r.cfg.FailoverAfter, "resume_after_seq", max(v.Acked(), r.cfg.Set.q.Stats().HeadSeq-1))
	r.m.failovers.Inc()
	if r.cfg.OnSwitch != nil {
		r.cfg.OnSwitch()
	}
	r.start(ctx, now)
}

// maintain enforces the backlog caps and refreshes the backlog gauges,
// every few seconds.
func (r *runner) maintain(now time.Time) {
	s := r.cfg.Set
	if s == nil || now.Sub(r.maint) < 2*time.Second {
		return
	}
	r.maint = now
	dropped := false
	for _, v := range s.views {
		d, err := v.enforceCap()
		if err != nil {
			r.log.Warn("upstream backlog cap", "upstream", v.Name(), "err", err)
		}
		dropped = dropped || d
		if err := v.advanceSkipped(); err != nil {
			r.log.Warn("upstream skipping a dropped generation", "upstream", v.Name(), "err", err)
		}
		if b, err := v.Backlog(); err == nil {
			r.m.backlogBytes.WithLabelValues(v.Name()).Set(float64(b))
		}
	}
	if dropped && s.onDrop != nil {
		s.onDrop()
	}
}
