// Package host runs edgerelay's WebAssembly plugin chain with wazero (the
// only package importing it): it compiles and instantiates each stage in a
// sandbox, calls series-level stages once per new label set and memoises the
// chain's answer, hands sample-level stages columnar samples, and contains
// failures (trap, timeout, out of memory, malformed output) according to the
// stage's on_error policy.
//
// A Chain is safe for concurrent use: calls into guests are serialised by
// one lock. NewChain and Close are cheap enough to swap chains on reload;
// a chain given Options.OnModuleChange runs one goroutine watching its
// module files, which Close stops and waits for. Untrusted modules (loaded
// from files) are rewritten at load time to count their instructions and
// return to the host every so often, which stops them at their deadline.
package host

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/tetratelabs/wazero"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// ErrHeld is wrapped by Process's error when a fail_closed stage failed or is
// quarantined: the caller keeps the batch out of the queue and reports it.
var ErrHeld = errors.New("batch held by a fail_closed plugin stage")

// Options configure a Chain.
type Options struct {
	// CacheDir holds wazero's compilation cache; "" keeps it in memory
	// (shared by every chain of the process).
	CacheDir string
	// CacheSize bounds the memo of series-level results; 0 means 100000.
	CacheSize int
	// Logger receives failure and quarantine reports; nil means slog.Default().
	Logger *slog.Logger
	// Registerer receives the chain's metrics; nil keeps them unregistered.
	Registerer prometheus.Registerer

	// OnModuleChange, when set, is called with the paths of the module
	// files that changed since the chain loaded them (polled every
	// ModulePoll, a change reported once it has stayed the same for one
	// poll, and once only). It runs on the chain's watcher goroutine: it
	// must return quickly and must not close the chain itself; signal what
	// rebuilds the chain (a reload that fails keeps this chain, and its
	// watcher, running).
	OnModuleChange func(paths []string)
	// ModulePoll is how often module files are looked at; zero means
	// DefaultModulePoll (2s).
	ModulePoll time.Duration

	// cpuBound is how untrusted modules are stopped at their deadline
	// (boundFuel unless a benchmark compares).
	cpuBound cpuBound
}

// Chain is an ordered list of loaded plugin stages.
type Chain struct {
	mu      sync.Mutex
	series  []*stage // series-level stages, in order
	samples []*stage // sample-level stages, in order (after all series-level ones)
	memo    *memo
	targets map[targetKey]*lastScrape
	m       *metrics
	log     *slog.Logger
	cache   wazero.CompilationCache
	ownedC  bool
	closed  bool
	scratch scratch
	// memoRefs: every series gets its ref from the memo (there are
	// series-level or stream stages), not numbered afresh per batch.
	memoRefs bool
	derived  *relay.Batch // series stream stages emitted from scrapes, to ship

	files     []moduleFile // modules loaded from files, in stage order
	stopWatch context.CancelFunc
	watchDone chan struct{}
}

var sharedCache = sync.OnceValue(wazero.NewCompilationCache)

// NewChain compiles and instantiates every stage. An error names the stage
// that failed (a *StageError when one stage could not load); nothing is left
// running then.
func NewChain(ctx context.Context, stages []config.PluginConfig, o Options) (*Chain, error) {
	c := &Chain{log: o.Logger}
	if c.log == nil {
		c.log = slog.Default()
	}
	if o.CacheSize <= 0 {
		o.CacheSize = 100000
	}
	c.memo = newMemo(o.CacheSize)
	c.targets = make(map[targetKey]*lastScrape)
	var err error
	if c.m, err = newMetrics(o.Registerer); err != nil {
		return nil, err
	}
	if o.CacheDir != "" {
		if c.cache, err = wazero.NewCompilationCacheWithDir(o.CacheDir); err != nil {
			return nil, fmt.Errorf("plugin compilation cache at %q: %w", o.CacheDir, err)
		}
		c.ownedC = true
	} else {
		c.cache = sharedCache()
	}
	for i, pc := range stages {
		s, err := newStage(ctx, pc, c.cache, o.cpuBound, c.m)
		if err != nil {
			c.Close(ctx)
			return nil, stageError(i, stageName(pc), err)
		}
		s.m.quarantined.Set(0)
		if s.file != nil {
			c.files = append(c.files, *s.file)
		}
		if s.kind == abi.KindStream {
			s.stream = newStreamState(pc.Limits.MaxSeries, o.CacheSize)
			c.memoRefs = true
		}
		switch s.kind {
		case abi.KindSeries:
			if len(c.samples) > 0 {
				s.close(ctx)
				c.Close(ctx)
				return nil, fmt.Errorf("plugin stage %d (%s) is series-level but follows sample-level stage %s: put series-level stages first", i, s.name, c.samples[0].name)
			}
			c.series = append(c.series, s)
			c.memoRefs = true
		default:
			c.samples = append(c.samples, s)
		}
	}
	if len(c.series) > 255 {
		c.Close(ctx)
		return nil, fmt.Errorf("%d series-level plugin stages; at most 255", len(c.series))
	}
	if o.OnModuleChange != nil && len(c.files) > 0 {
		if o.ModulePoll <= 0 {
			o.ModulePoll = DefaultModulePoll
		}
		var wctx context.Context
		wctx, c.stopWatch = context.WithCancel(context.Background())
		c.watchDone = make(chan struct{})
		go func() {
			defer close(c.watchDone)
			watchModules(wctx, c.files, o.ModulePoll, o.OnModuleChange)
		}()
	}
	return c, nil
}

func stageName(pc config.PluginConfig) string {
	if pc.Name != "" {
		return pc.Name
	}
	return pc.Module
}

// Close stops every stage. It is idempotent and waits for a running Process.
func (c *Chain) Close(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	if c.stopWatch != nil {
		c.stopWatch()
		<-c.watchDone
	}
	var errs []error
	for _, s := range append(c.series, c.samples...) {
		errs = append(errs, s.close(ctx))
	}
	if c.ownedC {
		errs = append(errs, c.cache.Close(ctx))
	}
	return errors.Join(errs...)
}

// Stages returns the names of the stages and whether each is quarantined.
func (c *Chain) Stages() (names []string, quarantined []bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range append(c.series, c.samples...) {
		names = append(names, s.name)
		quarantined = append(quarantined, s.quarantined)
	}
	return names, quarantined
}

// PagesUsed returns the guest memory, in 64 KiB pages, of each stage's live instance.
func (c *Chain) PagesUsed() []uint32 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var p []uint32
	for _, s := range append(c.series, c.samples...) {
		if s.mem != nil {
			p = append(p, s.mem.Size()/65536)
		} else {
			p = append(p, 0)
		}
	}
	return p
}

// fail handles a failed call: count, log, rebuild the instance, quarantine
// after QuarantineAfter in a row. It returns the error to apply on_error with.
func (c *Chain) fail(ctx context.Context, s *stage, err error) error {
	kind := "trap"
	var ce *callError
	if errors.As(err, &ce) {
		kind = ce.kind
	}
	s.m.errors.WithLabelValues(s.name, kind).Inc()
	s.failures++
	policy := "fail_open"
	if s.failClosed {
		policy = "fail_closed"
	}
	c.log.Warn("plugin call failed", "plugin", s.name, "kind", kind, "on_error", policy, "consecutive", s.failures, "err", err)
	if kind != "guest" {
		if rerr := s.restart(ctx); rerr != nil {
			c.log.Error("plugin restart failed", "plugin", s.name, "err", rerr)
			s.failures = QuarantineAfter
		}
	}
	if s.failures >= QuarantineAfter && !s.quarantined {
		s.quarantined = true
		s.m.quarantined.Set(1)
		c.log.Error("plugin quarantined until the chain is reloaded", "plugin", s.name, "failures", s.failures, "on_error", policy)
	}
	return fmt.Errorf("plugin %s: %w", s.name, err)
}

func (c *Chain) succeeded(s *stage) { s.failures = 0 }

// skipQuarantined says whether s is quarantined, so a batch passes it by:
// counted, and held (ErrHeld) when the stage fails closed.
func (s *stage) skipQuarantined() (skip bool, err error) {
	if !s.quarantined {
		return false, nil
	}
	s.m.errors.WithLabelValues(s.name, "quarantined").Inc()
	if s.failClosed {
		return true, fmt.Errorf("plugin %s is quarantined: %w", s.name, ErrHeld)
	}
	return true, nil
}
