package ingest

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"sync"
	"time"

	commoncfg "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

// Target labels that turn a job's histogram settings on or off for one
// target, as in Prometheus.
const (
	nativeHistogramsLabel  = "__scrape_native_histograms__"
	classicHistogramsLabel = "__always_scrape_classic_histograms__"
	nhcbLabel              = "__convert_classic_histograms_to_nhcb__"
)

// loopPool runs one job's target loops: it turns discovered target groups
// into targets with Prometheus' target relabelling (targetsFromGroup),
// starts a loop per new target, stops the loops of targets gone (they
// write end-of-run staleness markers) and applies target_limit. Its
// methods are called by the loopManager, one at a time.
type loopPool struct {
	m       *loopManager
	cfg     *scrapeconf.ScrapeConfig
	client  *http.Client
	sockets map[string]*http.Client // clients for targets behind a unix socket

	ctx    context.Context
	cancel context.CancelFunc

	loops   map[uint64]*targetLoop
	targets map[uint64]*Target
}

func newLoopPool(m *loopManager, cfg *scrapeconf.ScrapeConfig) (*loopPool, error) {
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, cfg.JobName)
	if err != nil {
		return nil, fmt.Errorf("error creating HTTP client: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &loopPool{m: m, cfg: cfg, client: client, ctx: ctx, cancel: cancel,
		loops: map[uint64]*targetLoop{}, targets: map[uint64]*Target{}}, nil
}

// targetKey tells targets apart as Prometheus does: by their labels and URL.
func targetKey(t *Target) uint64 {
	f := fnv.New64a()
	t.LabelsRange(func(l labels.Label) { f.Write([]byte(l.Name + "\xff" + l.Value + "\xff")) })
	f.Write([]byte(t.GetValue(model.ScrapeIntervalLabel) + "\xff" + t.GetValue(model.ScrapeTimeoutLabel) + "\xff"))
	f.Write([]byte(t.URL().String()))
	return f.Sum64()
}

// sync makes the pool scrape exactly the targets of groups.
func (p *loopPool) sync(groups []*targetgroup.Group) {
	lb := labels.NewBuilder(labels.EmptyLabels())
	fresh := map[uint64]*Target{}
	var ts []*Target
	for _, g := range groups {
		if g == nil {
			continue
		}
		var failures []error
		ts, failures = targetsFromGroup(g, p.cfg, ts, lb)
		for _, err := range failures {
			p.m.log.Error("Creating target failed", "scrape_pool", p.cfg.JobName, "err", err)
		}
		for _, t := range ts {
			fresh[targetKey(t)] = t
		}
	}
	moved := p.m.shard.ownTargets(p.cfg.JobName, fresh)
	var wg sync.WaitGroup
	for k, l := range p.loops {
		if _, ok := fresh[k]; !ok {
			if moved[k] {
				l.noEndRun.Store(true) // another edge scrapes it on
			}
			wg.Go(l.stop)
			delete(p.loops, k)
			delete(p.targets, k)
		}
	}
	var started []*targetLoop
	for k, t := range fresh {
		if _, ok := p.loops[k]; ok {
			continue
		}
		l := p.newLoop(t, nil)
		p.loops[k], p.targets[k] = l, t
		started = append(started, l)
	}
	p.dropUnusedSockets()
	forced := p.targetLimitErr()
	for _, l := range p.loops {
		l.setForcedError(forced)
	}
	for _, l := range started {
		go l.run()
	}
	wg.Wait()
}

// targetLimitErr fails every scrape of the job while it has more targets
// than target_limit.
func (p *loopPool) targetLimitErr() error {
	if p.cfg.TargetLimit == 0 || len(p.loops) <= int(p.cfg.TargetLimit) {
		return nil
	}
	p.m.metrics.targetLimit.Inc()
	return fmt.Errorf("target_limit exceeded (number of targets: %d, limit: %d)", len(p.loops), p.cfg.TargetLimit)
}

// newLoop builds the loop of target t, with cache (nil: a new one).
func (p *loopPool) newLoop(t *Target, cache *seriesCache) *targetLoop {
	cfg := p.cfg
	opts := loopOptions{
		cfg: cfg, honorLabels: cfg.HonorLabels, honorTimestamps: cfg.HonorTimestamps,
		trackTSStaleness: cfg.TrackTimestampsStaleness,
		sampleLimit:      int(cfg.SampleLimit), bucketLimit: int(cfg.NativeHistogramBucketLimit),
		maxSchema:  pickSchema(cfg.NativeHistogramMinBucketFactor),
		validation: cfg.MetricNameValidationScheme, mrc: cfg.MetricRelabelConfigs,
		extraMetrics: cfg.ExtraScrapeMetricsEnabled(),
		parser: parserOptions(cfg, boolLabel(t, nativeHistogramsLabel, cfg.ScrapeNativeHistogramsEnabled()),
			boolLabel(t, classicHistogramsLabel, cfg.AlwaysScrapeClassicHistogramsEnabled()),
			boolLabel(t, nhcbLabel, cfg.ConvertClassicHistogramsToNHCBEnabled())),
	}
	var err error
	opts.interval, opts.timeout, err = intervalAndTimeout(t, cfg)
	l := newTargetLoop(p, t, p.clientFor(t), opts, cache)
	if err != nil {
		l.setForcedError(err)
	}
	return l
}

// reload restarts every loop with cfg, keeping their caches when cfg
// changes nothing that shapes the series (as Prometheus decides it); the
// old loops then write no end-of-run staleness markers.
func (p *loopPool) reload(cfg *scrapeconf.ScrapeConfig) error {
	client, err := commoncfg.NewClientFromConfig(cfg.HTTPClientConfig, cfg.JobName)
	if err != nil {
		return fmt.Errorf("error creating HTTP client: %w", err)
	}
	reuse := reflect.DeepEqual(zeroConfig(p.cfg), zeroConfig(cfg))
	p.cfg, p.client = cfg, client
	oldSockets := p.sockets
	p.sockets = nil
	forced := p.targetLimitErr()
	var wg sync.WaitGroup
	for k, old := range p.loops {
		var cache *seriesCache
		if reuse {
			old.noEndRun.Store(true)
			cache = old.cache
		}
		l := p.newLoop(p.targets[k], cache)
		if forced != nil {
			l.setForcedError(forced)
		}
		p.loops[k] = l
		wg.Go(func() {
			old.stop()
			go l.run()
		})
	}
	wg.Wait()
	for _, c := range oldSockets {
		c.CloseIdleConnections()
	}
	return nil
}

// zeroConfig is cfg without what does not shape the series scraped.
func zeroConfig(cfg *scrapeconf.ScrapeConfig) *scrapeconf.ScrapeConfig {
	z := *cfg
	z.ScrapeInterval, z.ScrapeTimeout, z.SampleLimit = 0, 0, 0
	z.HTTPClientConfig = commoncfg.HTTPClientConfig{}
	return &z
}

// stop ends every loop of the job; none writes end-of-run staleness
// markers, as when Prometheus drops a job.
func (p *loopPool) stop() {
	p.cancel()
	var wg sync.WaitGroup
	for _, l := range p.loops {
		wg.Go(l.stop)
	}
	wg.Wait()
	p.client.CloseIdleConnections()
	for _, c := range p.sockets {
		c.CloseIdleConnections()
	}
}

// clientFor returns the client for t: the job's, or one that dials t's
// unix socket.
func (p *loopPool) clientFor(t *Target) *http.Client {
	path := t.GetValue(unixSocketLabel)
	if path == "" {
		return p.client
	}
	if c, ok := p.sockets[path]; ok {
		return c
	}
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", path)
	}
	c, err := commoncfg.NewClientFromConfig(p.cfg.HTTPClientConfig, p.cfg.JobName, commoncfg.WithDialContextFunc(dial))
	if err != nil {
		p.m.log.Error("Failed to create unix socket scrape client", "socket_path", path, "err", err)
		c = &http.Client{Transport: failingTransport{fmt.Errorf("creating unix socket scrape client for %q: %w", path, err)}}
	}
	if p.sockets == nil {
		p.sockets = map[string]*http.Client{}
	}
	p.sockets[path] = c
	return c
}

func (p *loopPool) dropUnusedSockets() {
	used := map[string]bool{}
	for _, t := range p.targets {
		used[t.GetValue(unixSocketLabel)] = true
	}
	for path, c := range p.sockets {
		if !used[path] {
			c.CloseIdleConnections()
			delete(p.sockets, path)
		}
	}
}

// failingTransport fails every request: a target whose client could not
// be built fails its scrapes rather than dialling somewhere else.
type failingTransport struct{ err error }

func (f failingTransport) RoundTrip(*http.Request) (*http.Response, error) { return nil, f.err }

// intervalAndTimeout reads the target's __scrape_interval__ and
// __scrape_timeout__ (which relabelling may have set); an unparsable one
// falls back to the job's and fails the target's scrapes.
func intervalAndTimeout(t *Target, cfg *scrapeconf.ScrapeConfig) (time.Duration, time.Duration, error) {
	iv, err := model.ParseDuration(t.GetValue(model.ScrapeIntervalLabel))
	if err != nil {
		return time.Duration(cfg.ScrapeInterval), time.Duration(cfg.ScrapeTimeout), fmt.Errorf("error parsing interval label %q: %w", t.GetValue(model.ScrapeIntervalLabel), err)
	}
	to, err := model.ParseDuration(t.GetValue(model.ScrapeTimeoutLabel))
	if err != nil {
		return time.Duration(cfg.ScrapeInterval), time.Duration(cfg.ScrapeTimeout), fmt.Errorf("error parsing timeout label %q: %w", t.GetValue(model.ScrapeTimeoutLabel), err)
	}
	return time.Duration(iv), time.Duration(to), nil
}

// boolLabel is the target's boolean label name, or def when unset or not
// a boolean.
func boolLabel(t *Target, name string, def bool) bool {
	if b, err := strconv.ParseBool(t.GetValue(name)); err == nil {
		return b
	}
	return def
}

// pickSchema is the finest native histogram schema whose buckets grow by
// at least factor (native_histogram_min_bucket_factor).
func pickSchema(factor float64) int32 {
	if factor <= 1 {
		factor = 1.00271
	}
	floor := math.Floor(-math.Log2(math.Log2(factor)))
	switch {
	case floor >= float64(histogram.ExponentialSchemaMax):
		return histogram.ExponentialSchemaMax
	case floor <= float64(histogram.ExponentialSchemaMin):
		return histogram.ExponentialSchemaMin
	}
	return int32(floor)
}
