package limits

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// testLimits are small limits for tenant "a"; tenant "b" has the defaults.
func newTest(t *testing.T, lim config.Limits) (*Limiter, *prometheus.Registry, *time.Time) {
	t.Helper()
	now := time.Unix(1000, 0)
	reg := prometheus.NewRegistry()
	def := config.Cloud{Limits: config.DefaultLimits, Tenants: []config.Tenant{{Name: "a", Limits: lim}}}
	def.Limits.MaxBaseSeries = 2 * def.Limits.MaxSeries
	l := New(Config{Of: def.TenantLimits, Tenants: []string{"a"}, SeriesIdle: time.Minute, Registerer: reg,
		Now: func() time.Time { return now }})
	return l, reg, &now
}

func batch(lsets ...labels.Labels) *relay.Batch {
	b := &relay.Batch{}
	for _, ls := range lsets {
		b.Series = append(b.Series, relay.Series{Labels: ls, Samples: []relay.Sample{{T: 1, V: 1}, {T: 2, V: 2}}})
	}
	return b
}

func names(b *relay.Batch) []string {
	var out []string
	for _, s := range b.Series {
		out = append(out, s.Labels.String())
	}
	return out
}

func refused(l *Limiter, tenant, reason string) float64 {
	return testutil.ToFloat64(l.refusedSamples.WithLabelValues(tenant, reason))
}

// TestSeriesLimit: past max_series a tenant's new series are refused and
// counted; series it has keep flowing; another tenant is not affected; a
// series idle for SeriesIdle frees its place.
func TestSeriesLimit(t *testing.T) {
	l, _, now := newTest(t, config.Limits{MaxSeries: 3})
	var ls []labels.Labels
	for i := range 5 {
		ls = append(ls, labels.FromStrings("__name__", "m", "i", fmt.Sprint(i)))
	}
	b := batch(ls...)
	if n := l.Admit("a", "s1", b); n != 4 {
		t.Errorf("refused %d samples, want 4 (2 series of 2)", n)
	}
	if got := len(b.Series); got != 3 {
		t.Fatalf("kept %d series, want 3: %v", got, names(b))
	}
	if got := refused(l, "a", ReasonSeriesLimit); got != 4 {
		t.Errorf("refused counter = %v, want 4", got)
	}
	// The three held keep flowing; the others stay out.
	b = batch(ls...)
	l.Admit("a", "s2", b)
	if len(b.Series) != 3 || l.ActiveSeries("a") != 3 {
		t.Errorf("second batch kept %d series, active %d; want 3, 3", len(b.Series), l.ActiveSeries("a"))
	}
	// Tenant b has its own (default) limit.
	b = batch(ls...)
	if n := l.Admit("b", "s1", b); n != 0 || len(b.Series) != 5 {
		t.Errorf("tenant b: refused %d, kept %d; want 0, 5", n, len(b.Series))
	}
	// Idle series leave the count: after SeriesIdle, new ones fit again.
	*now = now.Add(2 * time.Minute)
	b = batch(ls[3], ls[4])
	if n := l.Admit("a", "s1", b); n != 0 || len(b.Series) != 2 {
		t.Errorf("after idle: refused %d, kept %d; want 0, 2", n, len(b.Series))
	}
	if got := l.ActiveSeries("a"); got != 2 {
		t.Errorf("active series = %d, want 2", got)
	}
}

// TestLabelChecks: each invalid or oversized label set is refused with its
// reason; a valid one, UTF-8 names included, passes.
func TestLabelChecks(t *testing.T) {
	l, _, _ := newTest(t, config.Limits{MaxLabelsPerSeries: 4, MaxLabelNameLength: 10, MaxLabelValueLength: 20})
	many := labels.FromStrings("__name__", "m", "a", "1", "b", "2", "c", "3") // + tenant = 5
	for _, tc := range []struct {
		name   string
		lset   labels.Labels
		reason string
	}{
		{"valid", labels.FromStrings("__name__", "m", "a", "1"), ""},
		{"valid utf-8 name", labels.FromStrings("__name__", "m", "ort.ä", "x"), ""},
		{"no name", labels.FromStrings("a", "1"), ReasonMissingName},
		{"empty name", labels.FromStrings("__name__", "", "a", "1"), ReasonMissingName},
		{"too many labels", many, ReasonTooManyLabels},
		{"long name", labels.FromStrings("__name__", "m", "abcdefghijk", "1"), ReasonNameTooLong},
		{"long value", labels.FromStrings("__name__", "m", "a", strings.Repeat("v", 21)), ReasonValueTooLong},
		{"invalid value", labels.FromStrings("__name__", "m", "a", "\xff\xfe"), ReasonInvalidValue},
		{"invalid name", labels.FromStrings("__name__", "m", "b\xffad", "1"), ReasonInvalidName},
		{"duplicate names", labels.New(labels.Label{Name: "__name__", Value: "m"}, labels.Label{Name: "a", Value: "1"}, labels.Label{Name: "a", Value: "2"}), ReasonDuplicateLabel},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := 0.0
			if tc.reason != "" {
				before = refused(l, "a", tc.reason)
			}
			b := batch(tc.lset)
			n := l.Admit("a", "s", b)
			if tc.reason == "" {
				if n != 0 || len(b.Series) != 1 {
					t.Fatalf("refused %d, kept %d; want it kept", n, len(b.Series))
				}
				return
			}
			if n != 2 || len(b.Series) != 0 {
				t.Fatalf("refused %d, kept %d; want 2 samples refused", n, len(b.Series))
			}
			if got := refused(l, "a", tc.reason) - before; got != 2 {
				t.Errorf("counter %s grew by %v, want 2", tc.reason, got)
			}
		})
	}
}

// TestMetadataLength: metadata longer than max_metadata_length is removed
// and counted; the rest stays.
func TestMetadataLength(t *testing.T) {
	l, _, _ := newTest(t, config.Limits{MaxMetadataLength: 8})
	b := batch(labels.FromStrings("__name__", "m"))
	b.Metadata = map[string]relay.Metadata{
		"m":    {Type: "gauge", Help: "short"},
		"long": {Type: "gauge", Help: "much too long help"},
	}
	l.Admit("a", "s", b)
	if _, ok := b.Metadata["long"]; ok || len(b.Metadata) != 1 {
		t.Errorf("metadata left: %v", b.Metadata)
	}
	if got := testutil.ToFloat64(l.refusedMetadata.WithLabelValues("a", ReasonMetadataTooLong)); got != 1 {
		t.Errorf("refused metadata = %v, want 1", got)
	}
}

// TestThrottle: over max_samples_per_second or max_bytes_per_second the
// wait is what brings the rate back to the limit, counted by limit.
func TestThrottle(t *testing.T) {
	var slept []time.Duration
	now := time.Unix(1000, 0)
	cfg := config.Cloud{Limits: config.DefaultLimits, Tenants: []config.Tenant{{Name: "a", Limits: config.Limits{MaxSamplesPerSecond: 100, MaxBytesPerSecond: 1000}}}}
	l := New(Config{Of: cfg.TenantLimits, Now: func() time.Time { return now },
		Sleep: func(_ context.Context, d time.Duration) error { slept = append(slept, d); now = now.Add(d); return nil }})
	ctx := context.Background()
	// One second's worth passes at once.
	l.Throttle(ctx, "a", 100, 10)
	if len(slept) != 0 {
		t.Fatalf("slept %v within the burst", slept)
	}
	// 200 more samples: two seconds.
	l.Throttle(ctx, "a", 200, 10)
	// 3000 bytes with a full bucket (1000): two seconds, more than the
	// samples ask.
	l.Throttle(ctx, "a", 1, 3000)
	want := []time.Duration{2 * time.Second, 2 * time.Second}
	if fmt.Sprint(slept) != fmt.Sprint(want) {
		t.Errorf("slept %v, want %v", slept, want)
	}
	if got := testutil.ToFloat64(l.throttled.WithLabelValues("a", "max_bytes_per_second")); got != 2 {
		t.Errorf("throttled bytes seconds = %v, want 2", got)
	}
	// Tenant b (defaults) is not slowed by a's debt.
	slept = nil
	l.Throttle(ctx, "b", 1000, 1000)
	if len(slept) != 0 {
		t.Errorf("tenant b slept %v", slept)
	}
	// A cancelled context ends the wait with its error.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	l2 := New(Config{Of: cfg.TenantLimits})
	l2.Throttle(cctx, "a", 100, 0)
	if err := l2.Throttle(cctx, "a", 1000, 0); err == nil {
		t.Error("Throttle with a cancelled context returned nil")
	}
}

// TestLimitGauges: /metrics shows each tenant's configured limits and its
// active series.
func TestLimitGauges(t *testing.T) {
	l, reg, _ := newTest(t, config.Limits{MaxSeries: 7})
	l.Admit("a", "s", batch(labels.FromStrings("__name__", "m")))
	err := testutil.GatherAndCompare(reg, strings.NewReader(`
# HELP edgerelay_cloud_limit_max_series The configured cloud.limits.max_series of a tenant (its cloud.tenants[].limits over cloud.limits).
# TYPE edgerelay_cloud_limit_max_series gauge
edgerelay_cloud_limit_max_series{tenant="a"} 7
# HELP edgerelay_cloud_active_series Active series of a tenant, as its max_series limit counts them (seen within federate.max_age).
# TYPE edgerelay_cloud_active_series gauge
edgerelay_cloud_active_series{tenant="a"} 1
`), "edgerelay_cloud_limit_max_series", "edgerelay_cloud_active_series")
	if err != nil {
		t.Error(err)
	}
	if got := l.Limits("a").MaxBaseSeries; got != 14 {
		t.Errorf("max_base_series of a = %d, want twice max_series (14)", got)
	}
}
