// Command peers measures edgerelay beside the relays it is compared with —
// the Prometheus agent and vmagent — on the same targets and the same
// counting remote_write receiver (bench/rwcount), one system after another
// in one run, every process on 127.0.0.1 and stopped by its PID:
//
//   - the peers table: node_exporter and synthetic targets scraped by each
//     system (edgerelay: edge → QUIC → cloud → remote_write), CPU seconds per
//     million samples and RSS of each process from /proc over a steady
//     window, wire bytes per sample, catch-up after an outage (the receiver
//     stopped, or for edgerelay the link between edge and cloud cut), and
//     the p99 latency from scrape to receiver;
//   - the series table: one synthetic target of 10k to 240k series, edgerelay
//     against vmagent;
//   - the remote_write table: a Prometheus agent remote_writing into
//     edgerelay's edge, and into vmagent.
//
// It prints the tables and appends them to bench/results/<date>.md.
// Missing peers are installed with apt-get (Debian packages prometheus,
// victoria-metrics, prometheus-node-exporter). See bench/README.md.
//
//	go run ./bench/peers            # about 12 minutes
//	go run ./bench/peers -quick     # about 2 minutes, to see that it works
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

type options struct {
	quick                                     bool
	interval, warmup, window, outage          time.Duration
	catchupMax, timeout                       time.Duration
	synth, systems, series, ingestSeries      string
	edgeOutage, edgerelayBin, profileDir, out string
	install, keep                             bool
}

// bench holds what lives for the whole run.
type bench struct {
	o           options
	ctx         context.Context
	dir         string // temporary: configs, data, logs
	root        string // module root
	runTag      string
	start       time.Time
	bins        bins
	recvURL     string // remote_write URL of the counting receiver
	recvControl string // its control listener
	synthAddr   map[int]string
	nodeAddr    string
	nodeSamples int
	mainSynth   []string // addresses of the peers table's synthetic targets
	runs        int      // systems started so far, to name their files
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().UTC().Format("15:04:05"), fmt.Sprintf(format, args...))
}

func (b *bench) mkdir(name string) string {
	d := filepath.Join(b.dir, name)
	os.MkdirAll(d, 0o755)
	return d
}

func parseFlags() options {
	var o options
	flag.BoolVar(&o.quick, "quick", false, "short run to see that everything works (about 2 minutes): "+
		"interval 2s, warm-up 8s, window 6s, outage 6s, synthetic targets 1k,1k,10k, series 10k, remote_write 10k; flags given explicitly win")
	flag.DurationVar(&o.interval, "interval", 5*time.Second, "scrape interval of every system")
	flag.DurationVar(&o.warmup, "warmup", 15*time.Second, "time from a system's start to its steady window")
	flag.DurationVar(&o.window, "window", 20*time.Second, "steady window over which CPU, RSS, wire and latency are measured (rounded up to whole intervals)")
	flag.DurationVar(&o.outage, "outage", 40*time.Second, "length of the outage for the catch-up column, longer than the 30 s after which QUIC gives a silent link up; 0 skips it")
	flag.DurationVar(&o.catchupMax, "catchup-max", 60*time.Second, "how long to wait for the catch-up after an outage")
	flag.StringVar(&o.synth, "synth", "10k,10k,100k", "series of each synthetic target of the peers table, beside node_exporter")
	flag.StringVar(&o.systems, "systems", "prometheus,vmagent,edgerelay", "systems of the peers table, in order; empty skips the table")
	flag.StringVar(&o.series, "series", "10k,60k,240k", "points of the series table (one synthetic target each); empty skips it")
	flag.StringVar(&o.ingestSeries, "ingest-series", "60k", "series the Prometheus agent scrapes for the remote_write table; empty skips it")
	flag.StringVar(&o.edgeOutage, "edge-outage", "link", "edgerelay's outage: link (the UDP path edge→cloud drops everything) or receiver (as for the peers)")
	flag.StringVar(&o.edgerelayBin, "edgerelay", "", "edgerelay binary to measure; empty builds ./cmd/edgerelay")
	flag.StringVar(&o.profileDir, "profile", "", "directory for CPU profiles of edgerelay's edge and cloud over each window, and heap profiles at its end")
	flag.StringVar(&o.out, "out", "bench/results", "directory of the results files (<date>.md, appended)")
	flag.BoolVar(&o.install, "install", true, "apt-get install the peers that are missing")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, data, logs)")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "bound of the whole run; every process is stopped when it passes")
	flag.Parse()
	if o.quick {
		set := map[string]bool{}
		flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
		quick := map[string]string{"interval": "2s", "warmup": "8s", "window": "6s", "outage": "6s",
			"catchup-max": "30s", "synth": "1k,1k,10k", "series": "10k", "ingest-series": "10k"}
		for k, v := range quick {
			if !set[k] {
				flag.Set(k, v)
			}
		}
	}
	o.window = roundUp(o.window, o.interval)
	o.outage = roundUp(o.outage, o.interval)
	return o
}

// roundUp rounds d up to a multiple of step, so that a window holds the
// same number of scrapes of every target.
func roundUp(d, step time.Duration) time.Duration {
	if d <= 0 || step <= 0 {
		return d
	}
	return (d + step - 1) / step * step
}

func main() {
	o := parseFlags()
	ctx, cancel := context.WithTimeout(context.Background(), o.timeout)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	go func() { <-sig; cancel() }()
	b := &bench{o: o, ctx: ctx, start: time.Now().UTC()}
	b.runTag = b.start.Format("20060102T150405Z")
	err := b.run()
	cancel()
	stopAll()
	if b.dir != "" {
		if o.keep {
			b.logf("kept %s", b.dir)
		} else {
			os.RemoveAll(b.dir)
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench-peers:", err)
		os.Exit(1)
	}
}

func (b *bench) run() error {
	var err error
	if b.root, err = moduleRoot(); err != nil {
		return err
	}
	if err := b.findPeers(); err != nil {
		return err
	}
	if b.dir, err = os.MkdirTemp("", "bench-peers-"); err != nil {
		return err
	}
	if err := b.build(); err != nil {
		return err
	}
	if err := b.startFixtures(); err != nil {
		return err
	}
	rep := &report{b: b}
	for _, kind := range splitList(b.o.systems) {
		rep.peers = append(rep.peers, b.one(kind, b.mainNominal(), b.o.outage > 0,
			func() (*sys, error) { return b.scraper(kind, b.mainJobs()) }))
	}
	for _, n := range b.seriesPoints(b.o.series) {
		for _, kind := range []string{"edgerelay", "vmagent"} {
			r := b.one(kind, synthNominal(n, b.o.interval), false,
				func() (*sys, error) { return b.scraper(kind, []job{{"synth", []string{b.synthAddr[n]}}}) })
			rep.series = append(rep.series, seriesRow{n, kind, r})
		}
	}
	for _, n := range b.seriesPoints(b.o.ingestSeries) {
		for _, kind := range []string{"edgerelay", "vmagent"} {
			rep.ingest = append(rep.ingest, b.one(kind, synthNominal(n, b.o.interval), false,
				func() (*sys, error) { return b.ingester(kind, []job{{"synth", []string{b.synthAddr[n]}}}) }))
			rep.ingestSeries = n
		}
	}
	if err := rep.write(); err != nil {
		return err
	}
	return b.ctx.Err()
}

// one starts a system and measures it. A system that fails is a row
// saying why, and the run goes on with the next; once the run is
// interrupted or out of time, no system starts.
func (b *bench) one(kind string, nominal float64, outage bool, startSys func() (*sys, error)) *result {
	if b.ctx.Err() != nil {
		return &result{name: kind, err: errors.New("not run: the run was interrupted or out of time")}
	}
	s, err := startSys()
	if err != nil {
		b.logf("%s failed to start: %v", kind, err)
		return &result{name: kind, err: err}
	}
	r, err := b.measure(s, nominal, outage)
	if b.ctx.Err() != nil && err != nil {
		err = errors.New("interrupted: the run was stopped or out of time")
	}
	if err != nil {
		b.logf("%s failed: %v", kind, err)
		return &result{name: kind, err: err}
	}
	return r
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}
