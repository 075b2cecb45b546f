package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/edgerelay/edgerelay/bench/internal/procstat"
)

// result is what one site count measured.
type result struct {
	sites, series       int
	connected, failed   int64
	samplesPerSec, want float64
	cpuPerM, cores      float64
	rss0, rssAvg, hwm   float64 // bytes
	resyncs, nacked     int64
	waitsPerBarrier     float64 // writes sharing one durability barrier; 0: none counted
	err                 error   // the cloud did not answer, or died
}

func (r result) mibPerSite() float64 { return (r.rssAvg - r.rss0) / float64(r.sites) / (1 << 20) }

// sitesPerCore is how many such sites one core serves at the measured cost.
func (r result) sitesPerCore() float64 {
	return 1e6 / (r.cpuPerM * r.want / float64(r.sites))
}

func (r result) line() string {
	return fmt.Sprintf("%d sites (%d connected, %d failed): %.0f of %.0f samples/s, %.2f CPU s per 1M samples (%.2f cores), RSS %.0f → %.0f MiB (peak %.0f), %.3f MiB per site, %.0f sites per core, %.2f writes per durability barrier",
		r.sites, r.connected, r.failed, r.samplesPerSec, r.want, r.cpuPerM, r.cores, r.rss0/(1<<20), r.rssAvg/(1<<20), r.hwm/(1<<20), r.mibPerSite(), r.sitesPerCore(), r.waitsPerBarrier)
}

// measure runs one cloud with n simulated sites and measures its window.
func measure(ctx context.Context, o options, bins map[string]string, tmp string, n int) (result, error) {
	r := result{sites: n, series: o.series, want: float64(n*o.series) / o.interval.Seconds()}
	dir, err := os.MkdirTemp(tmp, fmt.Sprintf("%d-", n))
	if err != nil {
		return r, err
	}
	defer os.RemoveAll(dir)
	quic, httpAddr := procstat.FreeAddr(), procstat.FreeAddr()
	cfg := map[string]any{
		"quic_listen": quic, "http_listen": httpAddr,
		"data_dir": filepath.Join(dir, "cloud"), "files_dir": filepath.Join(dir, "files"),
		"files_retention": "2m",
		"debug":           map[string]any{"pprof": true},
		// One tenant holds every site: its limits are sized for them, as
		// an operator sizes a cloud for its tenants.
		"limits": map[string]any{"max_series": 2 * n * o.series, "max_samples_per_second": 4 * int(r.want),
			"max_bytes_per_second": "1GiB", "max_connections": 2 * n},
	}
	if o.remoteWrite {
		write, control := procstat.FreeAddr(), procstat.FreeAddr()
		rw, err := startProc(dir, "rwcount", bins["rwcount"], "-listen", write, "-control", control)
		if err != nil {
			return r, err
		}
		defer rw.stop()
		cfg["remote_write"] = []map[string]any{{"url": "http://" + write + "/api/v1/write"}}
		cfg["remote_write_out_of_order"] = true
	}
	js, _ := json.Marshal(map[string]any{"cloud": cfg})
	cfgPath := filepath.Join(dir, "cloud.yaml")
	if err := os.WriteFile(cfgPath, js, 0o644); err != nil {
		return r, err
	}
	cloud, err := startProc(dir, "cloud", bins["edgerelay"], "run", "--config", cfgPath)
	if err != nil {
		return r, err
	}
	defer cloud.stop()
	base := "http://" + httpAddr
	if err := waitReady(ctx, base+"/-/ready", cloud); err != nil {
		return r, err
	}
	r.rss0, _, _ = procstat.Mem(cloud.pid())
	if err := drive(ctx, o, quic, base, cloud, &r); err != nil {
		return r, err
	}
	return r, nil
}

// drive connects n sites, lets them warm up, measures the window, and
// stops the sites.
func drive(ctx context.Context, o options, quic, base string, cloud *proc, r *result) error {
	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() { stop(); wg.Wait() }()
	var c simCounts
	first := time.Now().Add(2 * time.Second)
	for i := range r.sites {
		// Sites connect at -connect-rate; their scrapes spread evenly over
		// the interval, as independent sites' do.
		if i > 0 && i%o.connectRate == 0 {
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
		}
		s := newSite(i, o.series)
		phase := time.Duration(int64(o.interval) * int64(i) / int64(r.sites))
		start := first.Add(phase)
		for start.Before(time.Now()) {
			start = start.Add(o.interval)
		}
		wg.Add(1)
		go func() { defer wg.Done(); s.run(sctx, quic, start, o.interval, &c) }()
	}
	if err := sleep(ctx, o.warmup); err != nil {
		return err
	}
	r.connected, r.failed = c.connected.Load(), c.failed.Load()
	var prof sync.WaitGroup
	if o.profile != "" {
		prof.Add(1)
		go func() {
			defer prof.Done()
			save(base+fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(o.window.Seconds())), filepath.Join(o.profile, fmt.Sprintf("cloud-%d.cpu.pprof", r.sites)))
		}()
	}
	cpu0, _ := procstat.CPUSeconds(cloud.pid())
	s0, err := received(base)
	if err != nil {
		return err
	}
	t0 := time.Now()
	var rssSum float64
	var rssN int
	for time.Since(t0) < o.window {
		if err := sleep(ctx, time.Second); err != nil {
			return err
		}
		if rss, _, err := procstat.Mem(cloud.pid()); err == nil {
			rssSum += rss
			rssN++
		}
	}
	s1, err := received(base)
	if err != nil {
		return err
	}
	cpu1, _ := procstat.CPUSeconds(cloud.pid())
	el := time.Since(t0).Seconds()
	_, r.hwm, _ = procstat.Mem(cloud.pid())
	r.rssAvg = rssSum / float64(max(rssN, 1))
	r.samplesPerSec = (s1.samples - s0.samples) / el
	r.cores = (cpu1 - cpu0) / el
	if s1.samples > s0.samples {
		r.cpuPerM = (cpu1 - cpu0) / (s1.samples - s0.samples) * 1e6
	}
	if s1.barriers > s0.barriers {
		r.waitsPerBarrier = (s1.waits - s0.waits) / (s1.barriers - s0.barriers)
	}
	prof.Wait()
	if o.profile != "" {
		save(base+"/debug/pprof/heap", filepath.Join(o.profile, fmt.Sprintf("cloud-%d.heap.pprof", r.sites)))
	}
	r.resyncs, r.nacked = c.resyncs.Load(), c.nacked.Load()
	r.failed = c.failed.Load()
	return nil
}

// cloudCounts are the cloud's counters the window is measured by.
type cloudCounts struct {
	samples         float64 // edgerelay_received_samples_total
	barriers, waits float64 // edgerelay_cloud_sync_{barriers,waits}_total, every dir
}

// received reads the cloud's counters (cloudCounts), which may be slow to
// answer when it is overloaded.
func received(base string) (cloudCounts, error) {
	var c cloudCounts
	resp, err := (&http.Client{Timeout: time.Minute}).Get(base + "/metrics")
	if err != nil {
		return c, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	found := false
	for sc.Scan() {
		name, v, ok := strings.Cut(sc.Text(), " ")
		name, _, _ = strings.Cut(name, "{")
		f, err := strconv.ParseFloat(v, 64)
		if !ok || err != nil {
			continue
		}
		switch name {
		case "edgerelay_received_samples_total":
			c.samples, found = f, true
		case "edgerelay_cloud_sync_barriers_total":
			c.barriers += f
		case "edgerelay_cloud_sync_waits_total":
			c.waits += f
		}
	}
	if !found {
		return c, fmt.Errorf("%s/metrics: no edgerelay_received_samples_total", base)
	}
	return c, nil
}

// save writes what url answers to path; a failure is reported, not fatal.
func save(url, path string) {
	resp, err := (&http.Client{Timeout: 5 * time.Minute}).Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "sites: profile:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err == nil {
		_, err = io.Copy(f, resp.Body)
		f.Close()
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "sites: profile:", err)
	}
}

var client = &http.Client{Timeout: 15 * time.Second}

// proc is a process the bench started; it is stopped by its PID only.
type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func startProc(dir, name, bin string, args ...string) (*proc, error) {
	logPath := filepath.Join(dir, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// stop sends SIGTERM to the process's PID, and SIGKILL after 15 s.
func (p *proc) stop() {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// waitReady polls url until it answers 200, the process exits, or 60 s pass.
func waitReady(ctx context.Context, url string, p *proc) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		select {
		case <-p.done:
			b, _ := os.ReadFile(p.log)
			return fmt.Errorf("%s exited: %s", p.name, b[max(0, len(b)-1500):])
		default:
		}
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := sleep(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("%s not ready: %w", url, err)
		}
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
