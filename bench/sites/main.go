// Command sites measures one cloud relay serving many small sites. For each
// count in -sites it starts a real cloud process (`edgerelay run`, files and
// /federate on as by default, remote_write out to bench/rwcount with
// -remote-write) and simulates that many sites in this process, each a QUIC
// connection of its own with its own site name, sending every -interval one
// block holding the delta frame of a -series scrape, as an edge does. After
// every site connected and -warmup passed, it measures the cloud over
// -window: CPU s per 1M samples (utime+stime from /proc over the window,
// divided by the growth of the cloud's edgerelay_received_samples_total),
// resident memory (VmRSS every second; MiB per site is the window's average
// less the RSS of the cloud before any site connected, divided by the
// sites), the sites one cloud core would serve at that cost, and how many
// writes shared one durability barrier (edgerelay_cloud_sync_waits_total
// over edgerelay_cloud_sync_barriers_total).
//
// Everything runs on 127.0.0.1; the cloud is stopped by its PID (SIGTERM,
// SIGKILL after 15 s), also when interrupted or when -timeout passes. The
// table is printed and appended to -out.
//
//	go run ./bench/sites -sites 100,1000,5000
//	go run ./bench/sites -h
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// buildTags are the Makefile's BUILD_TAGS, which every build of edgerelay uses.
const buildTags = "urfave_cli_no_docs"

// tenant is the tenant every simulated site belongs to.
const tenant = "bench"

type options struct {
	sites          []int
	series         int
	interval       time.Duration
	warmup, window time.Duration
	connectRate    int
	bin, out       string
	profile        string
	remoteWrite    bool
	timeout        time.Duration
}

func main() {
	var o options
	var sites string
	flag.StringVar(&sites, "sites", "100,1000,5000", "site counts to measure, one cloud process each")
	flag.IntVar(&o.series, "series", 1000, "series per site")
	flag.DurationVar(&o.interval, "interval", 5*time.Second, "scrape interval of every site")
	flag.DurationVar(&o.warmup, "warmup", 20*time.Second, "time after the last site connected before the window")
	flag.DurationVar(&o.window, "window", 30*time.Second, "measured window")
	flag.IntVar(&o.connectRate, "connect-rate", 200, "sites connecting per second")
	flag.StringVar(&o.bin, "edgerelay", "", "edgerelay binary (default: built into a temporary directory)")
	flag.StringVar(&o.out, "out", filepath.Join("bench", "results", time.Now().UTC().Format("2006-01-02")+"-sites.md"), "file the table is appended to")
	flag.StringVar(&o.profile, "profile", "", "directory for a CPU and a heap profile of the cloud per site count")
	flag.BoolVar(&o.remoteWrite, "remote-write", false, "the cloud also remote_writes everything to bench/rwcount")
	flag.DurationVar(&o.timeout, "timeout", 30*time.Minute, "the whole run stops after this")
	flag.Parse()
	for _, f := range strings.Split(sites, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			fmt.Fprintf(os.Stderr, "sites: -sites %q: want counts like 100,1000\n", sites)
			os.Exit(2)
		}
		o.sites = append(o.sites, n)
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, o.timeout)
	defer cancelT()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "sites:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	tmp, err := os.MkdirTemp("", "bench-sites-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bins := map[string]string{"edgerelay": o.bin}
	if o.bin == "" {
		bins["edgerelay"] = filepath.Join(tmp, "edgerelay")
	}
	if o.remoteWrite {
		bins["rwcount"] = filepath.Join(tmp, "rwcount")
	}
	for name, pkg := range map[string]string{"edgerelay": "./cmd/edgerelay", "rwcount": "./bench/rwcount"} {
		if bins[name] == "" || name == "edgerelay" && o.bin != "" {
			continue
		}
		if out, err := exec.CommandContext(ctx, "go", "build", "-tags", buildTags, "-o", bins[name], pkg).CombinedOutput(); err != nil {
			return fmt.Errorf("build %s: %v\n%s", pkg, err, out)
		}
	}
	var rows []result
	for _, n := range o.sites {
		fmt.Fprintf(os.Stderr, "sites: %d sites of %d series every %s\n", n, o.series, o.interval)
		r, err := measure(ctx, o, bins, tmp, n)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err != nil {
			// A cloud that cannot keep up may stop answering: that is a
			// result too.
			r.err = err
			fmt.Fprintf(os.Stderr, "sites: %d sites: %v\n", n, err)
		} else {
			fmt.Fprintln(os.Stderr, "sites:", r.line())
		}
		rows = append(rows, r)
	}
	table := report(o, rows)
	fmt.Print(table)
	if o.out == "" {
		return nil
	}
	f, err := os.OpenFile(o.out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(table)
	return errors.Join(err, f.Close())
}

// perBarrier is the table's cell for writes per durability barrier: none
// counted (a cloud from before the barriers) is "-".
func perBarrier(v float64) string {
	if v == 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// report is the run's table in Markdown, with its command line.
func report(o options, rows []result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n## bench/sites %s\n\n`%s`\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), strings.Join(os.Args, " "))
	fmt.Fprintf(&b, "Sites of %d series every %s, %s window after %s warm-up; remote_write out %v.\n\n", o.series, o.interval, o.window, o.warmup, o.remoteWrite)
	b.WriteString("| sites | connected | samples/s (of) | cloud CPU s per 1M samples | cloud cores | RSS before sites | RSS avg / peak | MiB per site | sites per core at this interval | writes per durability barrier |\n")
	b.WriteString("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n")
	for _, r := range rows {
		if r.err != nil {
			fmt.Fprintf(&b, "| %d | %d | failed: %s | | | %.0f MiB | | | | |\n", r.sites, r.connected, strings.ReplaceAll(r.err.Error(), "|", "/"), r.rss0/(1<<20))
			continue
		}
		behind := ""
		if r.samplesPerSec < 0.9*r.want {
			behind = " **behind**"
		}
		fmt.Fprintf(&b, "| %d | %d | %.0f (%.0f)%s | %.2f | %.2f | %.0f MiB | %.0f / %.0f MiB | %.3f | %.0f | %s |\n",
			r.sites, r.connected, r.samplesPerSec, r.want, behind, r.cpuPerM, r.cores, r.rss0/(1<<20), r.rssAvg/(1<<20), r.hwm/(1<<20), r.mibPerSite(), r.sitesPerCore(), perBarrier(r.waitsPerBarrier))
	}
	return b.String()
}
