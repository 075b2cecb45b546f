package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// bins are the programs the bench runs.
type bins struct {
	edgerelay, target, rwcount         string
	prometheus, vmagent, nodeExporter  string
	prometheusVer, vmagentVer, edgeVer string
}

// peers: binary, Debian package providing it.
var peers = []struct{ bin, pkg string }{
	{"prometheus", "prometheus"},
	{"vmagent", "victoria-metrics"},
	{"prometheus-node-exporter", "prometheus-node-exporter"},
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("run from edgerelay's module (go env GOMOD: %q %v)", mod, err)
	}
	return filepath.Dir(mod), nil
}

// findPeers looks the peers up on PATH and installs the missing ones with
// apt-get (as root, or through sudo).
func (b *bench) findPeers() error {
	var missing []string
	for _, p := range peers {
		if _, err := exec.LookPath(p.bin); err != nil {
			missing = append(missing, p.pkg)
		}
	}
	if len(missing) > 0 {
		if !b.o.install {
			return fmt.Errorf("missing %v and -install=false: apt-get install %s", missing, strings.Join(missing, " "))
		}
		apt := []string{"apt-get"}
		if os.Geteuid() != 0 {
			apt = []string{"sudo", "apt-get"}
		}
		b.logf("installing %s", strings.Join(missing, " "))
		run := func(args ...string) error {
			c := exec.CommandContext(b.ctx, apt[0], append(apt[1:], args...)...)
			c.Stdout, c.Stderr = os.Stderr, os.Stderr
			c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
			return c.Run()
		}
		if err := run(append([]string{"install", "-y", "--no-install-recommends"}, missing...)...); err != nil {
			if err := run("update"); err != nil {
				return fmt.Errorf("apt-get update: %w", err)
			}
			if err := run(append([]string{"install", "-y", "--no-install-recommends"}, missing...)...); err != nil {
				return fmt.Errorf("apt-get install %v: %w", missing, err)
			}
		}
	}
	path := func(bin string) string { p, _ := exec.LookPath(bin); return p }
	b.bins.prometheus, b.bins.vmagent, b.bins.nodeExporter = path("prometheus"), path("vmagent"), path("prometheus-node-exporter")
	for _, p := range []string{b.bins.prometheus, b.bins.vmagent, b.bins.nodeExporter} {
		if p == "" {
			return fmt.Errorf("peers still missing after apt-get: %v", peers)
		}
	}
	if out, err := exec.Command(b.bins.prometheus, "--version").CombinedOutput(); err == nil {
		f := strings.Fields(string(out))
		if len(f) >= 3 {
			b.bins.prometheusVer = f[2]
		}
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Version}", "victoria-metrics").Output(); err == nil {
		b.bins.vmagentVer = string(out)
	}
	return nil
}

// build compiles edgerelay (unless -edgerelay names a binary), the
// synthetic target and the counting receiver into the temporary directory.
func (b *bench) build() error {
	b.bins.edgerelay = b.o.edgerelayBin
	type pkg struct {
		dst  *string
		path string
	}
	todo := []pkg{{&b.bins.target, "./bench/live/target"}, {&b.bins.rwcount, "./bench/rwcount"}}
	if b.bins.edgerelay == "" {
		todo = append(todo, pkg{&b.bins.edgerelay, "./cmd/edgerelay"})
	} else if abs, err := filepath.Abs(b.bins.edgerelay); err == nil {
		b.bins.edgerelay = abs
	}
	for _, p := range todo {
		*p.dst = filepath.Join(b.dir, "bin", filepath.Base(p.path))
		b.logf("go build %s", p.path)
		c := exec.CommandContext(b.ctx, "go", "build", "-trimpath", "-tags", buildTags, "-ldflags", ldflags(b.root), "-o", *p.dst, p.path)
		c.Dir, c.Stdout, c.Stderr = b.root, os.Stderr, os.Stderr
		c.Env = append(os.Environ(), "CGO_ENABLED=0")
		if err := c.Run(); err != nil {
			return fmt.Errorf("go build %s: %w", p.path, err)
		}
	}
	if out, err := exec.Command(b.bins.edgerelay, "version").Output(); err == nil {
		b.bins.edgeVer = strings.TrimSpace(strings.SplitN(string(out), "\n", 2)[0])
	}
	return nil
}

// parseSeries reads "10k", "1.5k", "1M" or "2000".
func parseSeries(s string) (int, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f*mult < 20 {
		return 0, fmt.Errorf("series %q: want a number of at least 20, like 10k", s)
	}
	return int(f * mult), nil
}

// seriesPoints parses a list of series counts; startFixtures checked them.
func (b *bench) seriesPoints(list string) []int {
	var out []int
	for _, s := range splitList(list) {
		n, _ := parseSeries(s)
		out = append(out, n)
	}
	return out
}

// synthSamples is what a synthetic target of about n series serves per
// scrape (bench/live/target serves 2N+13 for N series per family), plus
// the five series every scraper adds (up, scrape_*).
func synthSamples(n int) int { return 2*(n/2) + 13 + 5 }

func synthNominal(n int, interval time.Duration) float64 {
	return float64(synthSamples(n)) / interval.Seconds()
}

// startFixtures starts what every system shares: the counting receiver,
// node_exporter and the synthetic targets.
func (b *bench) startFixtures() error {
	var mainSeries []int
	for _, s := range splitList(b.o.synth) {
		n, err := parseSeries(s)
		if err != nil {
			return fmt.Errorf("-synth: %w", err)
		}
		mainSeries = append(mainSeries, n)
	}
	for _, l := range []string{b.o.series, b.o.ingestSeries} {
		for _, s := range splitList(l) {
			if _, err := parseSeries(s); err != nil {
				return err
			}
		}
	}
	write, control := freeAddr(), freeAddr()
	rw, err := start(b.dir, "rwcount", b.bins.rwcount, "-listen", write, "-control", control)
	if err != nil {
		return err
	}
	b.recvURL, b.recvControl = "http://"+write+"/api/v1/write", control
	if err := waitHTTP(b.ctx, "http://"+control+"/stats", rw, 20*time.Second); err != nil {
		return err
	}
	b.nodeAddr = freeAddr()
	ne, err := start(b.dir, "node_exporter", b.bins.nodeExporter, "--web.listen-address="+b.nodeAddr)
	if err != nil {
		return err
	}
	if err := waitHTTP(b.ctx, "http://"+b.nodeAddr+"/metrics", ne, 20*time.Second); err != nil {
		return err
	}
	if b.nodeSamples, err = countSamples("http://" + b.nodeAddr + "/metrics"); err != nil {
		return err
	}
	var args []string
	serve := func(n int) string {
		a := freeAddr()
		args = append(args, "-serve", fmt.Sprintf("%s=%d", a, n/2))
		return a
	}
	for _, n := range mainSeries {
		b.mainSynth = append(b.mainSynth, serve(n))
	}
	b.synthAddr = map[int]string{}
	for _, n := range append(b.seriesPoints(b.o.series), b.seriesPoints(b.o.ingestSeries)...) {
		if b.synthAddr[n] == "" {
			b.synthAddr[n] = serve(n)
		}
	}
	tp, err := start(b.dir, "target", b.bins.target, args...)
	if err != nil {
		return err
	}
	for _, a := range append(append([]string{}, b.mainSynth...), values(b.synthAddr)...) {
		if err := waitHTTP(b.ctx, "http://"+a+"/", tp, 20*time.Second); err != nil {
			return err
		}
	}
	return nil
}

func values(m map[int]string) []string {
	var out []string
	for _, v := range m {
		out = append(out, v)
	}
	return out
}

// countSamples scrapes url once and counts its sample lines.
func countSamples(url string) (int, error) {
	r, err := client.Get(url)
	if err != nil {
		return 0, err
	}
	defer r.Body.Close()
	n := 0
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if l := sc.Text(); l != "" && l[0] != '#' {
			n++
		}
	}
	return n, sc.Err()
}

// mainJobs are the peers table's scrape jobs: node_exporter and the synthetic targets.
func (b *bench) mainJobs() []job {
	jobs := []job{{"node", []string{b.nodeAddr}}}
	if len(b.mainSynth) > 0 {
		jobs = append(jobs, job{"synth", b.mainSynth})
	}
	return jobs
}

// mainNominal is the peers table's samples/s as the targets serve them.
func (b *bench) mainNominal() float64 {
	n := b.nodeSamples + 5
	for _, s := range splitList(b.o.synth) {
		v, _ := parseSeries(s)
		n += synthSamples(v)
	}
	return float64(n) / b.o.interval.Seconds()
}

// buildTags are the Makefile's BUILD_TAGS, which every build of edgerelay uses.
const buildTags = "urfave_cli_no_docs"

// ldflags stamps edgerelay's version and commit as make build does.
func ldflags(root string) string {
	git := func(args ...string) string {
		c := exec.Command("git", args...)
		c.Dir = root
		out, err := c.Output()
		if err != nil {
			return "dev"
		}
		return strings.TrimSpace(string(out))
	}
	const v = "github.com/edgerelay/edgerelay/relay/version."
	return "-X " + v + "Version=" + git("describe", "--tags", "--always", "--dirty") +
		" -X " + v + "Commit=" + git("rev-parse", "--short", "HEAD")
}
