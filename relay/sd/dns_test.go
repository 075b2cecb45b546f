package sd

import (
	"context"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"go.yaml.in/yaml/v2"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// runDNS starts the provider cfg describes (YAML, one dns_sd_configs
// entry) and returns its first update and its metrics.
func runDNS(t *testing.T, cfgYAML string) ([]*targetgroup.Group, *Metrics) {
	t.Helper()
	var cfg DNSConfig
	if err := yaml.UnmarshalStrict([]byte(cfgYAML), &cfg); err != nil {
		t.Fatal(err)
	}
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	p, err := cfg.NewProvider(ProviderOptions{Metrics: m, Job: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return firstUpdate(t, p), m
}

// firstUpdate runs p until its first update and returns it.
func firstUpdate(t *testing.T, p Provider) []*targetgroup.Group {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan []*targetgroup.Group, 1)
	done := make(chan struct{})
	go func() { defer close(done); p.Run(ctx, ch) }()
	defer func() { cancel(); <-done }()
	select {
	case tgs := <-ch:
		return tgs
	case <-time.After(time.Minute):
		t.Fatal("no targets in a minute")
	}
	return nil
}

func TestDNSSDAgainstLocalServer(t *testing.T) {
	z := &zone{
		srv: map[string][]dnsmessage.SRVResource{
			"_metrics._tcp.plant.test.": {
				{Priority: 10, Weight: 1, Port: 9100, Target: mustName("node1.plant.test.")},
			},
			"_empty._tcp.plant.test.": {},
		},
		a: map[string][]netip.Addr{
			"gw.plant.test.": {netip.MustParseAddr("10.0.0.7"), netip.MustParseAddr("fd00::7")},
		},
		mx:      map[string][]dnsmessage.MXResource{"plant.test.": {{Pref: 5, MX: mustName("mail.plant.test.")}}},
		ns:      map[string][]dnsmessage.NSResource{"zone.test.": {{NS: mustName("ns1.zone.test.")}}},
		failing: map[string]bool{"broken.plant.test.": true},
	}
	old := resolver
	resolver = serveDNS(t, z)
	t.Cleanup(func() { resolver = old })

	meta := func(addr, srvTarget, srvPort, mx, ns, name string) model.LabelSet {
		return model.LabelSet{"__address__": model.LabelValue(addr), "__meta_dns_name": model.LabelValue(name),
			"__meta_dns_srv_record_target": model.LabelValue(srvTarget), "__meta_dns_srv_record_port": model.LabelValue(srvPort),
			"__meta_dns_mx_record_target": model.LabelValue(mx), "__meta_dns_ns_record_target": model.LabelValue(ns)}
	}
	for _, tc := range []struct {
		name, cfg string
		want      []*targetgroup.Group
		failures  float64
	}{
		{"srv", "names: ['_metrics._tcp.plant.test.', '_empty._tcp.plant.test.', 'gone.plant.test.', 'broken.plant.test.']", []*targetgroup.Group{
			{Source: "_metrics._tcp.plant.test.", Targets: []model.LabelSet{meta("node1.plant.test:9100", "node1.plant.test.", "9100", "", "", "_metrics._tcp.plant.test.")}},
			{Source: "_empty._tcp.plant.test."}, // exists, no record: its targets go
			{Source: "gone.plant.test."},        // NXDOMAIN: its targets go
			// broken (SERVFAIL): no group, its targets stay as they were
		}, 1},
		{"a", "{names: ['gw.plant.test.'], type: A, port: 9100}", []*targetgroup.Group{
			{Source: "gw.plant.test.", Targets: []model.LabelSet{meta("10.0.0.7:9100", "", "", "", "", "gw.plant.test.")}},
		}, 0},
		{"aaaa", "{names: ['gw.plant.test.'], type: AAAA, port: 9100}", []*targetgroup.Group{
			{Source: "gw.plant.test.", Targets: []model.LabelSet{meta("[fd00::7]:9100", "", "", "", "", "gw.plant.test.")}},
		}, 0},
		{"mx", "{names: ['plant.test.'], type: MX, port: 25}", []*targetgroup.Group{
			{Source: "plant.test.", Targets: []model.LabelSet{meta("mail.plant.test:25", "", "", "mail.plant.test.", "", "plant.test.")}},
		}, 0},
		{"ns", "{names: ['zone.test.'], type: NS, port: 53}", []*targetgroup.Group{
			{Source: "zone.test.", Targets: []model.LabelSet{meta("ns1.zone.test:53", "", "", "", "ns1.zone.test.", "zone.test.")}},
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, m := runDNS(t, tc.cfg)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("groups:\n got %v\nwant %v", got, tc.want)
			}
			if f := testutil.ToFloat64(m.dnsFailures); f != tc.failures {
				t.Errorf("lookup failures = %v, want %v", f, tc.failures)
			}
		})
	}
}

// TestDNSConfigRefusals: what Prometheus' dns_sd_configs refuses, this one
// refuses too, with Prometheus' messages.
func TestDNSConfigRefusals(t *testing.T) {
	for cfg, want := range map[string]string{
		"names: []":                   "at least one SRV record name",
		"{names: [a], type: A}":       "a port is required",
		"{names: [a], type: TXT}":     "invalid DNS-SD records type TXT",
		"{names: [a], nameserver: x}": "field nameserver not found",
	} {
		var c DNSConfig
		err := yaml.UnmarshalStrict([]byte(cfg), &c)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", cfg, err, want)
		}
	}
	var c DNSConfig
	if err := yaml.UnmarshalStrict([]byte("names: [_x._tcp.example.]"), &c); err != nil || c.Type != "SRV" || time.Duration(c.RefreshInterval) != 30*time.Second {
		t.Errorf("defaults: %+v, %v", c, err)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
