package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

type seriesRow struct {
	series int
	kind   string
	r      *result
}

type report struct {
	b            *bench
	peers        []*result
	series       []seriesRow
	ingest       []*result
	ingestSeries int
}

const mib = 1 << 20

func f2(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "—"
	}
	return fmt.Sprintf("%.2f", v)
}

func mb(v float64) string {
	if v <= 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f MiB", v/mib)
}

func ratio(a, b float64) string {
	if b <= 0 || math.IsNaN(a) || math.IsNaN(b) {
		return "—"
	}
	return fmt.Sprintf("%.2f×", a/b)
}

// label names a system as the tables show it.
func (rep *report) label(kind string) string {
	switch kind {
	case "prometheus":
		return "Prometheus " + rep.b.bins.prometheusVer + " agent"
	case "vmagent":
		return "vmagent " + rep.b.bins.vmagentVer
	case "edgerelay":
		return "edgerelay edge"
	}
	return kind
}

// wire is bytes per sample on the system's way out: edgerelay's uplink,
// or the remote_write bodies the receiver got.
func wire(r *result) float64 {
	if r.wire > 0 {
		return r.wire
	}
	if r.arrived == 0 {
		return math.NaN()
	}
	return float64(r.bytes) / float64(r.arrived)
}

func rss(p *procStats) (avg, peak float64) {
	if p == nil {
		return 0, 0
	}
	return p.rssAvg, p.hwm
}

func samplesCell(r *result) string {
	s := fmt.Sprintf("%.0f", r.rate())
	if r.behind() {
		s += fmt.Sprintf(" (behind: %.0f offered)", r.nominal)
	}
	return s
}

func (rep *report) peersTable(w *strings.Builder) {
	b := rep.b
	fmt.Fprintf(w, "| system | samples/s | CPU s per 1M samples | peak RSS (VmHWM) | RSS in the window (avg) | wire B/sample | catch-up after a %s outage | latency p99 scrape→receiver | cloud CPU s per 1M samples | cloud peak RSS | cloud RSS (avg) |\n", b.o.outage)
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rep.peers {
		if r.err != nil {
			fmt.Fprintf(w, "| %s | failed: %s |\n", rep.label(r.name), oneLine(r.err))
			continue
		}
		avg, peak := rss(r.procs["main"])
		cavg, cpeak := rss(r.procs["cloud"])
		catch := "—"
		if !math.IsNaN(r.catchup) {
			catch = fmt.Sprintf("%.1f s", r.catchup)
			if !r.caughtAll {
				catch = fmt.Sprintf("> %s (%.0f%% arrived)", b.o.catchupMax, 100*r.outageGot)
			}
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %.2f s | %s | %s | %s |\n",
			rep.label(r.name), samplesCell(r), f2(r.cpuPerM("main")), mb(peak), mb(avg), f2(wire(r)), catch,
			float64(r.p99)/1000, f2(r.cpuPerM("cloud")), mb(cpeak), mb(cavg))
	}
	var edge, vm *result
	for _, r := range rep.peers {
		if r.err != nil {
			continue
		}
		switch r.name {
		case "edgerelay":
			edge = r
		case "vmagent":
			vm = r
		}
	}
	if edge != nil && vm != nil {
		ea, ep := rss(edge.procs["main"])
		va, vp := rss(vm.procs["main"])
		fmt.Fprintf(w, "\nedge / vmagent: CPU per sample %s, peak RSS %s, RSS in the window %s, wire %s, catch-up %s, latency p99 %s; edge + cloud CPU per sample / vmagent %s.\n",
			ratio(edge.cpuPerM("main"), vm.cpuPerM("main")), ratio(ep, vp), ratio(ea, va), ratio(wire(edge), wire(vm)),
			catchRatio(edge, vm), ratio(float64(edge.p99), float64(vm.p99)),
			ratio(edge.cpuPerM("main")+edge.cpuPerM("cloud"), vm.cpuPerM("main")))
	}
}

func (rep *report) seriesTable(w *strings.Builder) {
	fmt.Fprintln(w, "| series | samples/s | edge CPU s/1M | edge RSS avg / peak | cloud CPU s/1M | cloud RSS avg / peak | vmagent CPU s/1M | vmagent RSS avg / peak | edge / vmagent CPU |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for i := 0; i < len(rep.series); {
		n := rep.series[i].series
		var edge, vm *result
		var failed []string
		for ; i < len(rep.series) && rep.series[i].series == n; i++ {
			if err := rep.series[i].r.err; err != nil {
				failed = append(failed, rep.series[i].kind+" failed: "+oneLine(err))
				continue
			}
			if rep.series[i].kind == "edgerelay" {
				edge = rep.series[i].r
			} else {
				vm = rep.series[i].r
			}
		}
		cells := []string{fmt.Sprintf("%dk", n/1000), "—", "—", "—", "—", "—", "—", "—", "—"}
		pair := func(p *procStats) string {
			a, pk := rss(p)
			return fmt.Sprintf("%.0f / %.0f MiB", a/mib, pk/mib)
		}
		if edge != nil {
			cells[1] = samplesCell(edge)
			cells[2], cells[3] = f2(edge.cpuPerM("main")), pair(edge.procs["main"])
			cells[4], cells[5] = f2(edge.cpuPerM("cloud")), pair(edge.procs["cloud"])
		}
		if vm != nil {
			c := f2(vm.cpuPerM("main"))
			if vm.behind() {
				c += fmt.Sprintf(" (behind: %.0f of %.0f samples/s)", vm.rate(), vm.nominal)
			}
			cells[6], cells[7] = c, pair(vm.procs["main"])
		}
		if edge != nil && vm != nil {
			cells[8] = ratio(edge.cpuPerM("main"), vm.cpuPerM("main"))
		}
		if len(failed) > 0 {
			cells[len(cells)-1] = strings.Join(failed, "; ")
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(cells, " | "))
	}
}

func (rep *report) ingestTable(w *strings.Builder) {
	fmt.Fprintln(w, "| taking the agent's remote_write | samples/s | CPU s per 1M samples | peak RSS | RSS (avg) | cloud CPU s per 1M | cloud RSS avg / peak | wire B/sample out | latency p99 scrape→receiver | Prometheus agent (sender) CPU s per 1M |")
	fmt.Fprintln(w, "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	var edge, vm *result
	for _, r := range rep.ingest {
		if r.err != nil {
			fmt.Fprintf(w, "| %s | failed: %s |\n", rep.label(r.name), oneLine(r.err))
			continue
		}
		avg, peak := rss(r.procs["main"])
		cloud := "—"
		if c := r.procs["cloud"]; c != nil {
			cloud = fmt.Sprintf("%.0f / %.0f MiB", c.rssAvg/mib, c.hwm/mib)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %.2f s | %s |\n", rep.label(r.name), samplesCell(r),
			f2(r.cpuPerM("main")), mb(peak), mb(avg), f2(r.cpuPerM("cloud")), cloud, f2(wire(r)), float64(r.p99)/1000, f2(r.cpuPerM("sender")))
		if r.name == "edgerelay" {
			edge = r
		} else {
			vm = r
		}
	}
	if edge != nil && vm != nil {
		fmt.Fprintf(w, "\nedge / vmagent CPU per sample taking remote_write: %s.\n", ratio(edge.cpuPerM("main"), vm.cpuPerM("main")))
	}
}

// write prints the tables and appends them to <out>/<date>.md.
func (rep *report) write() error {
	b := rep.b
	var w strings.Builder
	load, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&w, "## %s\n\n", b.start.Format("2006-01-02 15:04 UTC"))
	fmt.Fprintf(&w, "`%s` — %s; Prometheus %s, vmagent %s; %d CPUs, load average at the start %s, a machine shared with other work.\n\n",
		commandLine(), b.bins.edgeVer,
		b.bins.prometheusVer, b.bins.vmagentVer, runtime.NumCPU(), strings.Join(strings.Fields(string(load))[:3], " "))
	fmt.Fprintf(&w, "Scrape interval %s; each system alone: %s warm-up, then a %s window (CPU and RSS of each process from /proc).\n",
		b.o.interval, b.o.warmup, b.o.window)
	if len(rep.peers) > 0 {
		outage := "the receiver stopped"
		if b.o.edgeOutage == "link" {
			outage += "; for edgerelay the UDP link from edge to cloud dropping every packet"
		}
		fmt.Fprintf(&w, "\n### Peers: node_exporter (%d samples) + synthetic %s series, %.0f samples/s offered\n\n", b.nodeSamples, b.o.synth, b.mainNominal())
		rep.peersTable(&w)
		fmt.Fprintf(&w, "\nOutage: %s, for %s; catch-up is from its end to the arrival of the last sample stamped before it.\n", outage, b.o.outage)
	}
	if len(rep.series) > 0 {
		fmt.Fprintf(&w, "\n### Series: one synthetic target\n\n")
		rep.seriesTable(&w)
	}
	if len(rep.ingest) > 0 {
		fmt.Fprintf(&w, "\n### remote_write in: a Prometheus agent scraping %dk series\n\n", rep.ingestSeries/1000)
		rep.ingestTable(&w)
	}
	fmt.Print("\n" + w.String())
	out := b.o.out
	if !filepath.IsAbs(out) {
		out = filepath.Join(b.root, out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	path := filepath.Join(out, b.start.Format("2006-01-02")+".md")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(w.String() + "\n"); err != nil {
		f.Close()
		return err
	}
	b.logf("written to %s", path)
	return f.Close()
}

// commandLine is how this run was started, quoted for a shell.
func commandLine() string {
	args := []string{"go run ./bench/peers"}
	for _, a := range os.Args[1:] {
		if a == "" || strings.ContainsAny(a, " \t'\"$") {
			a = "'" + strings.ReplaceAll(a, "'", `'\''`) + "'"
		}
		args = append(args, a)
	}
	return strings.Join(args, " ")
}

// catchRatio compares catch-up times; a catch-up that did not end within
// -catchup-max gives a lower bound.
func catchRatio(a, b *result) string {
	r := ratio(a.catchup, b.catchup)
	if r != "—" && !a.caughtAll {
		r = "> " + r
	}
	return r
}

// oneLine is an error short enough for a table cell.
func oneLine(err error) string {
	s := strings.Join(strings.Fields(err.Error()), " ")
	s = strings.ReplaceAll(s, "|", "/")
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
