package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	"go.yaml.in/yaml/v3"
)

// The alerting rules and Grafana dashboards edgerelay ships.
var (
	monitoringRules      = "../../configs/monitoring/edgerelay-rules.yml"
	monitoringDashboards = []string{"../../configs/monitoring/edgerelay-edge.json", "../../configs/monitoring/edgerelay-cloud.json"}
)

// TestMonitoringConfigs checks the shipped alerting rules and dashboards as
// an operator loading them would find them: promtool accepts the rules,
// every query parses as PromQL, and every metric they name is served by a
// running edge's or cloud's /metrics, with data flowing through a plugin,
// a remote_write output and tenant limits that are hit.
func TestMonitoringConfigs(t *testing.T) {
	used := monitoringQueries(t)
	if promtool, err := exec.LookPath("promtool"); err != nil {
		t.Log("promtool is not installed: the rules were only parsed")
	} else if out, err := exec.Command(promtool, "check", "rules", monitoringRules).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}

	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(sink.Close)
	// A plugin stage (a tiny module that keeps every series: it compiles
	// at once), an output and limits the synthetic target exceeds, so the
	// metrics of each exist.
	passthrough, err := filepath.Abs("../../plugins/host/testdata/passthrough.wasm")
	if err != nil {
		t.Fatal(err)
	}
	env := newEnvWith(t, envOptions{edge: "  plugins: [{name: pass, module: " + passthrough + "}]\n", cloud: `  limits: {max_series: 30, max_samples_per_second: 20}
  remote_write: [{url: "` + sink.URL + `/api/v1/write"}]
`})
	start(t, env.bin, "run", "--config", env.cloudConfig)
	start(t, env.bin, "run", "--config", env.edgeConfig)
	var missing []string
	for deadline := time.Now().Add(3 * time.Minute); ; time.Sleep(time.Second) {
		served := metricNames(env.edgeHTTP)
		for n := range metricNames(env.cloudHTTP) {
			served[n] = true
		}
		missing = missing[:0]
		for name, where := range used {
			if !served[name] {
				missing = append(missing, name+" (in "+strings.Join(where, ", ")+")")
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Fatalf("after 3 minutes, not on any relay's /metrics:\n%s", strings.Join(missing, "\n"))
	}
	t.Logf("%d metric names in the rules and dashboards, all served", len(used))
}

// monitoringQueries parses every query of the rules and dashboards and
// returns the metric names they use, each with where it is used.
func monitoringQueries(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(where, expr string) {
		// Grafana's variables, as Grafana would fill them in.
		expr = strings.NewReplacer("$__rate_interval", "5m", "$__range", "1h", "$site", ".*", "$instance", ".*").Replace(expr)
		e, err := parser.NewParser(parser.Options{}).ParseExpr(expr)
		if err != nil {
			t.Errorf("%s: %q does not parse: %v", where, expr, err)
			return
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				for _, m := range vs.LabelMatchers {
					if m.Name == labels.MetricName && m.Type == labels.MatchEqual {
						used[m.Value] = append(used[m.Value], where)
					}
				}
			}
			return nil
		})
	}
	raw, err := os.ReadFile(monitoringRules)
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert, Expr string
			}
		}
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatal(err)
	}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			add(filepath.Base(monitoringRules)+" "+r.Alert, r.Expr)
		}
	}
	for _, path := range monitoringDashboards {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		var dash struct {
			UID    string
			Panels []struct {
				Title   string
				Targets []struct{ Expr string }
			}
		}
		if err := json.Unmarshal(raw, &dash); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if dash.UID == "" || len(dash.Panels) == 0 {
			t.Fatalf("%s: no uid or no panels", path)
		}
		for _, p := range dash.Panels {
			for _, q := range p.Targets {
				add(filepath.Base(path)+" "+p.Title, q.Expr)
			}
		}
	}
	if len(used) == 0 {
		t.Fatal("the rules and dashboards name no metric")
	}
	return used
}

var typeLine = regexp.MustCompile(`(?m)^# TYPE (\S+) (\S+)$`)

// metricNames lists the metric names served on addr's /metrics, with the
// _bucket, _sum and _count series of histograms and summaries.
func metricNames(addr string) map[string]bool {
	names := map[string]bool{}
	_, body := httpGet("http://" + addr + "/metrics")
	for _, m := range typeLine.FindAllStringSubmatch(body, -1) {
		names[m[1]] = true
		if m[2] == "histogram" || m[2] == "summary" {
			names[m[1]+"_bucket"], names[m[1]+"_sum"], names[m[1]+"_count"] = true, true, true
		}
	}
	return names
}
