package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/common/promslog"
	promconfig "github.com/prometheus/prometheus/config"
	"github.com/prometheus/prometheus/discovery/targetgroup"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/scrape"
)

// TestTargetLabellingMatchesPrometheus builds targets from the same
// groups under the same jobs with targetsFromGroup and with Prometheus'
// scrape.TargetsFromGroup, and compares every target's labels, public
// labels and URL, and every error's text.
func TestTargetLabellingMatchesPrometheus(t *testing.T) {
	jobs := []string{
		`{job_name: plain}`,
		`{job_name: params, scheme: https, metrics_path: /probe, params: {module: [a, b], x: [y]}, scrape_interval: 30s, scrape_timeout: 20s}`,
		`{job_name: relabel, params: {module: [a]}, relabel_configs: [
			{source_labels: [__address__], target_label: __param_target},
			{source_labels: [real], target_label: __address__, regex: '(.+)'},
			{target_label: __param_module, replacement: c},
			{source_labels: [__meta_rack], target_label: rack},
			{source_labels: [drop], regex: 'yes', action: drop},
			{source_labels: [__scheme__, __metrics_path__, __param_module], separator: '|', target_label: via},
			{source_labels: [iv], regex: '(.+)', target_label: __scrape_interval__},
			{source_labels: [to], regex: '(.+)', target_label: __scrape_timeout__},
			{source_labels: [inst], regex: '(.+)', target_label: instance},
			{source_labels: [sock], regex: '(.+)', target_label: __unix_socket__},
			{source_labels: [nh], regex: '(.+)', target_label: __scrape_native_histograms__}]}`,
		`{job_name: hist, scrape_native_histograms: true, always_scrape_classic_histograms: true, convert_classic_histograms_to_nhcb: true}`,
	}
	groups := []*targetgroup.Group{{
		Source: "g0",
		Labels: model.LabelSet{"__meta_rack": "r1", "site": "lab"},
		Targets: []model.LabelSet{
			{"__address__": "h1:9100"},
			{"__address__": "h2:9100", "real": "10.0.0.2:9100", "site": "own"},
			{"__address__": "h3:9100", "drop": "yes"},
			{"__address__": "h4:9100", "iv": "1m", "to": "2m"},
			{"__address__": "h5:9100", "iv": "0s"},
			{"__address__": "h6:9100", "iv": "soon"},
			{"__address__": "h7:9100", "to": "0s"},
			{"__address__": "h8:9100", "inst": "custom"},
			{"__address__": "", "sock": "/run/x.sock"},
			{"__address__": "http://h9/metrics"},
			{"__address__": "h10:9100", "nh": "perhaps"},
			{"__address__": "h11:9100", "bad": "\xff"},
			{"__address__": "h12:9100", "__param_module": "pinned", "__scheme__": "https", "job": "other"},
			{},
		},
	}}
	kinds := map[string]bool{} // what the errors were about, to be sure the cases cover them
	for _, job := range jobs {
		cfgs := scrapeConfigs(t, "scrape_configs: ["+job+"]")
		pc, err := promconfig.Load("scrape_configs: ["+job+"]", promslog.NewNopLogger())
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range groups {
			lb := labels.NewBuilder(labels.EmptyLabels())
			got, gotErrs := targetsFromGroup(g, cfgs[0], nil, lb)
			want, wantErrs := scrape.TargetsFromGroup(g, pc.ScrapeConfigs[0], nil, lb)
			for _, err := range gotErrs {
				_, after, _ := strings.Cut(err.Error(), ": ")
				kinds[strings.SplitN(after, " ", 3)[0]+" "+strings.SplitN(after, " ", 3)[1]] = true
			}
			if fmt.Sprint(gotErrs) != fmt.Sprint(wantErrs) {
				t.Errorf("job %s: errors\n got %v\nwant %v", cfgs[0].JobName, gotErrs, wantErrs)
			}
			var kept []*scrape.Target
			for _, w := range want {
				if !w.Labels(lb).IsEmpty() {
					kept = append(kept, w)
				}
			}
			if len(got) != len(kept) {
				t.Fatalf("job %s: %d targets, Prometheus %d", cfgs[0].JobName, len(got), len(kept))
			}
			for i := range got {
				g, w := got[i], kept[i]
				names := []string{model.AddressLabel, model.SchemeLabel, model.MetricsPathLabel, model.ScrapeIntervalLabel,
					model.ScrapeTimeoutLabel, unixSocketLabel, nativeHistogramsLabel, classicHistogramsLabel, nhcbLabel}
				g.labels.Range(func(l labels.Label) { names = append(names, l.Name) })
				for _, n := range names {
					if g.GetValue(n) != w.GetValue(n) {
						t.Errorf("job %s target %d: %s = %q, Prometheus %q", cfgs[0].JobName, i, n, g.GetValue(n), w.GetValue(n))
					}
				}
				if !labels.Equal(g.Labels(lb), w.Labels(lb)) || g.String() != w.String() {
					t.Errorf("job %s target %d: public labels %s URL %s, Prometheus %s %s", cfgs[0].JobName, i, g.Labels(lb), g, w.Labels(lb), w)
				}
			}
		}
	}
	if len(kinds) < 6 {
		t.Errorf("the cases gave only these errors: %v", kinds)
	}
}
