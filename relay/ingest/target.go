package ingest

import (
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"

	"github.com/edgerelay/edgerelay/relay/scrapeconf"
)

// unixSocketLabel, set by relabelling, makes a target's scrapes dial that
// unix socket, as in Prometheus.
const unixSocketLabel = "__unix_socket__"

// Target is one endpoint a job scrapes: its labels after relabel_configs
// (the "__" ones included, which decide its URL and settings but are not
// attached to its series) and its last scrape's outcome. Prometheus'
// scrape.Target, of which it keeps the semantics. Safe for concurrent
// use.
type Target struct {
	labels labels.Labels
	params url.Values // the job's params

	mu      sync.Mutex
	lastErr error
	last    time.Time
	lastDur time.Duration
}

func newScrapeTarget(lset labels.Labels, cfg *scrapeconf.ScrapeConfig) *Target {
	return &Target{labels: lset, params: cfg.Params}
}

// String is the target's URL.
func (t *Target) String() string { return t.URL().String() }

// GetValue returns the value of the target's label name ("" if unset),
// "__" labels included.
func (t *Target) GetValue(name string) string { return t.labels.Get(name) }

// Labels returns the target's public labels: those its series carry.
func (t *Target) Labels(b *labels.Builder) labels.Labels {
	b.Reset(labels.EmptyLabels())
	t.LabelsRange(func(l labels.Label) { b.Set(l.Name, l.Value) })
	return b.Labels()
}

// LabelsRange calls f on each public label of the target.
func (t *Target) LabelsRange(f func(l labels.Label)) {
	t.labels.Range(func(l labels.Label) {
		if !strings.HasPrefix(l.Name, model.ReservedLabelPrefix) {
			f(l)
		}
	})
}

// URL is what the target's scrapes GET: __scheme__, __address__ (or
// localhost behind a unix socket), __metrics_path__, and the job's params
// with each __param_<name> label replacing the first value of <name>.
func (t *Target) URL() *url.URL {
	params := url.Values{}
	for k, v := range t.params {
		params[k] = append([]string(nil), v...)
	}
	t.labels.Range(func(l labels.Label) {
		k, ok := strings.CutPrefix(l.Name, model.ParamLabelPrefix)
		if !ok {
			return
		}
		if len(params[k]) > 0 {
			params[k][0] = l.Value
		} else {
			params[k] = []string{l.Value}
		}
	})
	host := t.labels.Get(model.AddressLabel)
	if host == "" && t.labels.Get(unixSocketLabel) != "" {
		host = "localhost"
	}
	return &url.URL{Scheme: t.labels.Get(model.SchemeLabel), Host: host,
		Path: t.labels.Get(model.MetricsPathLabel), RawQuery: params.Encode()}
}

// Report records the outcome of a scrape that started at start.
func (t *Target) Report(start time.Time, dur time.Duration, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lastErr, t.last, t.lastDur = err, start, dur
}

// LastError is why the last scrape failed, nil if it did not.
func (t *Target) LastError() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.lastErr
}

// targetsFromGroup builds the targets of group tg for job cfg (reusing
// targets' memory), with one error per target that could not be built.
// Targets relabelling drops are left out without an error.
func targetsFromGroup(tg *targetgroup.Group, cfg *scrapeconf.ScrapeConfig, targets []*Target, lb *labels.Builder) ([]*Target, []error) {
	targets = targets[:0]
	var failures []error
	for i, tl := range tg.Targets {
		lset, err := populateLabels(lb, cfg, tl, tg.Labels)
		switch {
		case err != nil:
			failures = append(failures, fmt.Errorf("instance %d in group %s: %w", i, tg, err))
		case !lset.IsEmpty():
			targets = append(targets, newScrapeTarget(lset, cfg))
		}
	}
	return targets, failures
}

// populateDiscovered puts in lb the target's labels before relabelling:
// its own, its group's where it has none of that name, then the job's
// defaults where unset (job, interval, timeout, metrics path, scheme,
// histogram settings, the first value of each param as __param_<name>).
func populateDiscovered(lb *labels.Builder, cfg *scrapeconf.ScrapeConfig, tl, tgl model.LabelSet) {
	lb.Reset(labels.EmptyLabels())
	for n, v := range tl {
		lb.Set(string(n), string(v))
	}
	for n, v := range tgl {
		if _, ok := tl[n]; !ok {
			lb.Set(string(n), string(v))
		}
	}
	for _, l := range [...]labels.Label{
		{Name: model.JobLabel, Value: cfg.JobName},
		{Name: model.ScrapeIntervalLabel, Value: cfg.ScrapeInterval.String()},
		{Name: model.ScrapeTimeoutLabel, Value: cfg.ScrapeTimeout.String()},
		{Name: model.MetricsPathLabel, Value: cfg.MetricsPath},
		{Name: model.SchemeLabel, Value: cfg.Scheme},
		{Name: nhcbLabel, Value: strconv.FormatBool(cfg.ConvertClassicHistogramsToNHCBEnabled())},
		{Name: classicHistogramsLabel, Value: strconv.FormatBool(cfg.AlwaysScrapeClassicHistogramsEnabled())},
		{Name: nativeHistogramsLabel, Value: strconv.FormatBool(cfg.ScrapeNativeHistogramsEnabled())},
	} {
		if lb.Get(l.Name) == "" {
			lb.Set(l.Name, l.Value)
		}
	}
	for k, v := range cfg.Params {
		if name := model.ParamLabelPrefix + k; len(v) > 0 && lb.Get(name) == "" {
			lb.Set(name, v[0])
		}
	}
}

// populateLabels returns the target's labels after relabel_configs, as
// Prometheus' PopulateLabels does: empty when relabelling drops it; an
// error, with Prometheus' text, for a missing or invalid address, an
// interval or timeout that does not parse, is zero or has the timeout
// longer than the interval, a histogram setting label that is not a
// boolean, or an invalid label value. __meta_ labels are dropped and
// instance defaults to the address.
func populateLabels(lb *labels.Builder, cfg *scrapeconf.ScrapeConfig, tl, tgl model.LabelSet) (labels.Labels, error) {
	populateDiscovered(lb, cfg, tl, tgl)
	if !relabel.ProcessBuilder(lb, cfg.RelabelConfigs...) {
		return labels.EmptyLabels(), nil
	}
	addr := lb.Get(model.AddressLabel)
	if addr == "" {
		return labels.EmptyLabels(), errors.New("no address")
	}
	if strings.Contains(addr, "/") {
		return labels.EmptyLabels(), fmt.Errorf("%q is not a valid hostname", addr)
	}
	if err := checkIntervalTimeout(lb); err != nil {
		return labels.EmptyLabels(), err
	}
	for _, l := range [...]struct{ name, desc string }{
		{nhcbLabel, "convert classic histograms to nhcb"},
		{classicHistogramsLabel, "always scrape classic histograms"},
		{nativeHistogramsLabel, "scrape native histograms"},
	} {
		if v := lb.Get(l.name); v != "" {
			if _, err := strconv.ParseBool(v); err != nil {
				return labels.EmptyLabels(), fmt.Errorf("error parsing %s: %w", l.desc, err)
			}
		}
	}
	lb.Range(func(l labels.Label) {
		if strings.HasPrefix(l.Name, model.MetaLabelPrefix) {
			lb.Del(l.Name)
		}
	})
	if lb.Get(model.InstanceLabel) == "" {
		lb.Set(model.InstanceLabel, addr)
	}
	res := lb.Labels()
	err := res.Validate(func(l labels.Label) error {
		if !model.LabelValue(l.Value).IsValid() {
			return fmt.Errorf("invalid label value for %q: %q", l.Name, l.Value)
		}
		return nil
	})
	if err != nil {
		return labels.EmptyLabels(), err
	}
	return res, nil
}

// checkIntervalTimeout checks __scrape_interval__ and __scrape_timeout__
// as relabelling left them.
func checkIntervalTimeout(lb *labels.Builder) error {
	interval := lb.Get(model.ScrapeIntervalLabel)
	iv, err := model.ParseDuration(interval)
	if err != nil {
		return fmt.Errorf("error parsing scrape interval: %w", err)
	}
	if iv == 0 {
		return errors.New("scrape interval cannot be 0")
	}
	timeout := lb.Get(model.ScrapeTimeoutLabel)
	to, err := model.ParseDuration(timeout)
	if err != nil {
		return fmt.Errorf("error parsing scrape timeout: %w", err)
	}
	if to == 0 {
		return errors.New("scrape timeout cannot be 0")
	}
	if to > iv {
		return fmt.Errorf("scrape timeout cannot be greater than scrape interval (%q > %q)", timeout, interval)
	}
	return nil
}
