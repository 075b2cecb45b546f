package scrapeconf

import (
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"regexp"
	"strings"
	"testing"

	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery"
	// Prometheus' file and HTTP discoveries, to compare with package sd's.
	_ "github.com/prometheus/prometheus/discovery/file"
	_ "github.com/prometheus/prometheus/discovery/http"
	// and Prometheus' own DNS discovery, to compare with package sd's.
	_ "github.com/prometheus/prometheus/discovery/dns"
)

// diffCase is one scrape configuration document. refused, when set, is
// what edgerelay's error must say where Prometheus accepts the document
// (a key edgerelay does not implement, refused by name); otherwise both
// accept it with the same values, or both refuse it (bad) with the same
// message.
type diffCase struct {
	name, doc, refused string
	bad                bool
}

// typeNames are the Go type names in YAML errors, which differ.
var typeNames = regexp.MustCompile(`\b\w+\.(plain|ScrapeConfig|RemoteWriteConfig)\b`)

// loadBoth reads doc with Load and with Prometheus' config.Load.
func loadBoth(doc string) (*Config, error, *promconfig.Config, error) {
	ours, err := Load(doc)
	prom, perr := promconfig.Load(doc, slog.New(slog.DiscardHandler))
	return ours, err, prom, perr
}

// runDiff checks one case: the same verdict, the same values.
func runDiff(t *testing.T, c diffCase) {
	t.Helper()
	ours, err, prom, perr := loadBoth(c.doc)
	if c.refused != "" {
		var re RefusedErrors
		if !errors.As(err, &re) || !strings.Contains(err.Error(), c.refused) {
			t.Fatalf("want a refusal saying %q, got %v", c.refused, err)
		}
		return
	}
	if (err == nil) != (perr == nil) || (perr != nil) != c.bad {
		t.Fatalf("edgerelay: %v; Prometheus: %v; want refused: %v", err, perr, c.bad)
	}
	if err != nil {
		if a, b := typeNames.ReplaceAllString(err.Error(), "T"), typeNames.ReplaceAllString(perr.Error(), "T"); a != b {
			t.Errorf("edgerelay says %q, Prometheus %q", a, b)
		}
		return
	}
	pcs, perr := prom.GetScrapeConfigs()
	if perr != nil {
		t.Fatal(perr)
	}
	if len(ours.ScrapeConfigs) != len(pcs) {
		t.Fatalf("%d scrape configs, Prometheus %d", len(ours.ScrapeConfigs), len(pcs))
	}
	for i, sc := range ours.ScrapeConfigs {
		for _, d := range compareScrape(sc, pcs[i]) {
			t.Errorf("scrape_configs[%d] (%s): %s", i, sc.JobName, d)
		}
	}
}

// compareScrape returns each difference between ours and Prometheus'
// value of one scrape config: every field Prometheus has must be ours too,
// with an equal value, and the discoveries must match.
func compareScrape(ours *ScrapeConfig, prom *promconfig.ScrapeConfig) []string {
	var diffs []string
	ov, pv := reflect.ValueOf(ours).Elem(), reflect.ValueOf(prom).Elem()
	for i := range pv.NumField() {
		f := pv.Type().Field(i)
		if f.Name == "ServiceDiscoveryConfigs" {
			continue
		}
		of := ov.FieldByName(f.Name)
		if !of.IsValid() {
			diffs = append(diffs, f.Name+": Prometheus has it, edgerelay does not")
			continue
		}
		if !sameValue(of, pv.Field(i)) {
			diffs = append(diffs, fmt.Sprintf("%s: %#v, Prometheus %#v", f.Name, of.Interface(), pv.Field(i).Interface()))
		}
	}
	return append(diffs, compareDiscovery(&ours.Discovery, prom.ServiceDiscoveryConfigs)...)
}

// sameValue compares values of the same kind whose types may differ by
// name only (ScrapeProtocol against config.ScrapeProtocol).
func sameValue(a, b reflect.Value) bool {
	if a.Type() == b.Type() {
		return reflect.DeepEqual(a.Interface(), b.Interface())
	}
	return fmt.Sprintf("%v", a.Interface()) == fmt.Sprintf("%v", b.Interface())
}

// compareDiscovery matches each of Prometheus' discovery configs with
// ours of the same kind, in order.
func compareDiscovery(d *Discovery, cfgs discovery.Configs) []string {
	var diffs []string
	var static []string
	ours := ourDiscoveries(d)
	for _, c := range cfgs {
		if sc, ok := c.(discovery.StaticConfig); ok {
			for _, g := range sc {
				static = append(static, fmt.Sprintf("%s %v %v", g.Source, g.Targets, g.Labels))
			}
			continue
		}
		if len(ours[c.Name()]) == 0 {
			diffs = append(diffs, fmt.Sprintf("%s_sd_configs: Prometheus has %#v, edgerelay not", c.Name(), c))
			continue
		}
		o := ours[c.Name()][0]
		ours[c.Name()] = ours[c.Name()][1:]
		ov, pv := reflect.ValueOf(o).Elem(), reflect.ValueOf(c).Elem()
		for i := range pv.NumField() {
			f := pv.Type().Field(i)
			if of := ov.FieldByName(f.Name); !of.IsValid() || !sameValue(of, pv.Field(i)) {
				diffs = append(diffs, fmt.Sprintf("%s_sd_configs %s: Prometheus %#v", c.Name(), f.Name, pv.Field(i).Interface()))
			}
		}
	}
	for name, left := range ours {
		if len(left) > 0 {
			diffs = append(diffs, fmt.Sprintf("%s_sd_configs: edgerelay has %d more than Prometheus", name, len(left)))
		}
	}
	var ourStatic []string
	for _, g := range d.StaticConfigs {
		ourStatic = append(ourStatic, fmt.Sprintf("%s %v %v", g.Source, g.Targets, g.Labels))
	}
	if fmt.Sprint(static) != fmt.Sprint(ourStatic) {
		diffs = append(diffs, fmt.Sprintf("static_configs: %v, Prometheus %v", ourStatic, static))
	}
	return diffs
}

// ourDiscoveries are d's non-static discoveries by Prometheus' name.
func ourDiscoveries(d *Discovery) map[string][]any {
	m := map[string][]any{}
	for _, c := range d.Configs() {
		if c.Name() != "static" {
			m[c.Name()] = append(m[c.Name()], unwrapFull(c))
		}
	}
	return m
}

// TestScrapeFieldsKnown: every key of Prometheus' scrape config is ours
// too, or refused by name.
func TestScrapeFieldsKnown(t *testing.T) {
	ours := yamlKeys(reflect.TypeFor[ScrapeConfig]())
	for _, r := range refusedScrapeKeys() {
		ours[r.Key] = true
	}
	for k := range yamlKeys(reflect.TypeFor[promconfig.ScrapeConfig]()) {
		if !ours[k] {
			t.Errorf("Prometheus' scrape config key %s is neither read nor refused", k)
		}
	}
	ourGlobal := yamlKeys(reflect.TypeFor[GlobalConfig]())
	for _, r := range refusedGlobalKeys {
		ourGlobal[r.Key] = true
	}
	for k := range yamlKeys(reflect.TypeFor[promconfig.GlobalConfig]()) {
		if !ourGlobal[k] {
			t.Errorf("Prometheus' global key %s is neither read nor refused", k)
		}
	}
}

// yamlKeys returns the YAML keys of struct type t, inline structs' too.
func yamlKeys(t reflect.Type) map[string]bool {
	keys := map[string]bool{}
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		switch {
		case name == "-":
		case strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct:
			for k := range yamlKeys(f.Type) {
				keys[k] = true
			}
		case name != "":
			keys[name] = true
		}
	}
	return keys
}
