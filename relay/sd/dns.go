package sd

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/prometheus/prometheus/discovery/targetgroup"
)

// The meta labels of a DNS target, as Prometheus names them.
const (
	dnsNameLabel            = model.MetaLabelPrefix + "dns_name"
	dnsSrvRecordTargetLabel = model.MetaLabelPrefix + "dns_srv_record_target"
	dnsSrvRecordPortLabel   = model.MetaLabelPrefix + "dns_srv_record_port"
	dnsMxRecordTargetLabel  = model.MetaLabelPrefix + "dns_mx_record_target"
	dnsNsRecordTargetLabel  = model.MetaLabelPrefix + "dns_ns_record_target"
)

// DefaultDNSConfig is Prometheus' default: SRV records, looked up every 30s.
var DefaultDNSConfig = DNSConfig{
	RefreshInterval: model.Duration(30 * time.Second),
	Type:            "SRV",
}

// DNSConfig is one entry of dns_sd_configs.
type DNSConfig struct {
	Names           []string       `yaml:"names"`
	RefreshInterval model.Duration `yaml:"refresh_interval,omitempty"`
	// Type is SRV (the default), A, AAAA, MX or NS.
	Type string `yaml:"type"`
	// Port is the targets' port for every type but SRV, whose records
	// carry theirs.
	Port int `yaml:"port"`
}

// Name implements Config.
func (*DNSConfig) Name() string { return "dns" }

// UnmarshalYAML applies the defaults and refuses what Prometheus refuses.
func (c *DNSConfig) UnmarshalYAML(unmarshal func(any) error) error {
	*c = DefaultDNSConfig
	type plain DNSConfig
	if err := unmarshal((*plain)(c)); err != nil {
		return err
	}
	if len(c.Names) == 0 {
		return errors.New("DNS-SD config must contain at least one SRV record name")
	}
	switch strings.ToUpper(c.Type) {
	case "SRV":
	case "A", "AAAA", "MX", "NS":
		if c.Port == 0 {
			return errors.New("a port is required in DNS-SD configs for all record types except SRV")
		}
	default:
		return fmt.Errorf("invalid DNS-SD records type %s", c.Type)
	}
	if c.RefreshInterval <= 0 {
		return fmt.Errorf("dns_sd_configs: refresh_interval must be > 0; got %s", c.RefreshInterval)
	}
	return nil
}

// resolver answers the lookups; tests point it at their own server.
var resolver = &net.Resolver{PreferGo: true}

// NewProvider implements Config: every name is looked up at once and then
// every refresh_interval, lookups counted in
// prometheus_sd_dns_lookups_total and ..._lookup_failures_total.
func (c *DNSConfig) NewProvider(opts ProviderOptions) (Provider, error) {
	log := opts.logger()
	d := &dnsDiscovery{names: c.Names, typ: strings.ToUpper(c.Type), port: c.Port, log: log, m: opts.Metrics.or()}
	return &refresher{mech: "dns", job: opts.Job, interval: time.Duration(c.RefreshInterval), log: log, m: d.m, refresh: d.refresh}, nil
}

type dnsDiscovery struct {
	names []string
	typ   string
	port  int
	log   *slog.Logger
	m     *Metrics
}

// refresh looks every name up and returns a group per name that answered
// (Source: the name). A name that does not exist, or has no record of the
// type, gives an empty group, so its targets go; a name whose lookup failed
// otherwise gives none, so its targets stay as they were, as in Prometheus.
func (d *dnsDiscovery) refresh(ctx context.Context) ([]*targetgroup.Group, error) {
	var tgs []*targetgroup.Group
	for _, name := range d.names {
		targets, err := d.lookup(ctx, name)
		d.m.dnsLookups.Inc()
		var dnsErr *net.DNSError
		if err != nil && !(errors.As(err, &dnsErr) && dnsErr.IsNotFound) {
			d.m.dnsFailures.Inc()
			if ctx.Err() == nil {
				d.log.Error("Error refreshing DNS targets", "err", err)
			}
			continue
		}
		tg := &targetgroup.Group{Source: name}
		for _, t := range targets {
			t[dnsNameLabel] = model.LabelValue(name)
			for _, l := range []model.LabelName{dnsSrvRecordTargetLabel, dnsSrvRecordPortLabel, dnsMxRecordTargetLabel, dnsNsRecordTargetLabel} {
				if _, ok := t[l]; !ok {
					t[l] = ""
				}
			}
			tg.Targets = append(tg.Targets, t)
		}
		tgs = append(tgs, tg)
	}
	return tgs, nil
}

// lookup returns name's targets: __address__ and the record's meta label.
// Record names lose their final dot in the address, not in the label.
func (d *dnsDiscovery) lookup(ctx context.Context, name string) ([]model.LabelSet, error) {
	hostPort := func(host string, port int) model.LabelValue {
		return model.LabelValue(net.JoinHostPort(strings.TrimRight(host, "."), strconv.Itoa(port)))
	}
	var out []model.LabelSet
	switch d.typ {
	case "SRV":
		_, srvs, err := resolver.LookupSRV(ctx, "", "", name)
		for _, s := range srvs {
			out = append(out, model.LabelSet{model.AddressLabel: hostPort(s.Target, int(s.Port)),
				dnsSrvRecordTargetLabel: model.LabelValue(s.Target), dnsSrvRecordPortLabel: model.LabelValue(strconv.Itoa(int(s.Port)))})
		}
		return out, err
	case "MX":
		mxs, err := resolver.LookupMX(ctx, name)
		for _, mx := range mxs {
			out = append(out, model.LabelSet{model.AddressLabel: hostPort(mx.Host, d.port), dnsMxRecordTargetLabel: model.LabelValue(mx.Host)})
		}
		return out, err
	case "NS":
		nss, err := resolver.LookupNS(ctx, name)
		for _, ns := range nss {
			out = append(out, model.LabelSet{model.AddressLabel: hostPort(ns.Host, d.port), dnsNsRecordTargetLabel: model.LabelValue(ns.Host)})
		}
		return out, err
	}
	network := "ip4"
	if d.typ == "AAAA" {
		network = "ip6"
	}
	ips, err := resolver.LookupNetIP(ctx, network, name)
	for _, ip := range ips {
		out = append(out, model.LabelSet{model.AddressLabel: hostPort(ip.Unmap().String(), d.port)})
	}
	return out, err
}
