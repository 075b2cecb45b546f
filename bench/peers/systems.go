package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"
)

// job is one scrape job: a name and its targets (host:port).
type job struct {
	name    string
	targets []string
}

// sys is one system under test while it runs: every process it started,
// those whose CPU and memory are measured (by role: "main" is the relay
// under test, "cloud" edgerelay's cloud, "sender" a Prometheus agent feeding
// it remote_write), and how to cut it off from the receiver.
type sys struct {
	name     string
	tag      string // the numbered directory of its files, which names its profiles
	procs    []*proc
	measured map[string]*proc
	edgeHTTP string // edgerelay's edge: its /metrics gives the wire bytes
	pprof    map[string]string
	outage   func(down bool) error
	link     *link
}

func (s *sys) stop() {
	for i := len(s.procs) - 1; i >= 0; i-- {
		s.procs[i].stop()
	}
	if s.link != nil {
		s.link.close()
	}
}

// writeJSON writes v as JSON, which every YAML reader here accepts.
func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

func scrapeConfigs(jobs []job, interval time.Duration) []map[string]any {
	var out []map[string]any
	for _, j := range jobs {
		out = append(out, map[string]any{
			"job_name":        j.name,
			"scrape_interval": interval.String(),
			"scrape_timeout":  interval.String(),
			"static_configs":  []map[string]any{{"targets": j.targets}},
		})
	}
	return out
}

// receiverDown takes the counting receiver's write listener down or up.
func (b *bench) receiverDown(down bool) error {
	path := "/up"
	if down {
		path = "/down"
	}
	r, err := client.Post("http://"+b.recvControl+path, "text/plain", nil)
	if err != nil {
		return err
	}
	r.Body.Close()
	if r.StatusCode != http.StatusOK {
		return fmt.Errorf("receiver %s: %s", path, r.Status)
	}
	return nil
}

// prometheusAgent starts Debian's Prometheus in agent mode scraping jobs
// and remote_writing to url.
func (b *bench) prometheusAgent(name string, jobs []job, url string) (*proc, error) {
	b.runs++
	name = fmt.Sprintf("%02d-%s", b.runs, name)
	dir := b.mkdir(name)
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := writeJSON(cfg, map[string]any{
		"global":         map[string]any{"scrape_interval": b.o.interval.String(), "scrape_timeout": b.o.interval.String()},
		"scrape_configs": scrapeConfigs(jobs, b.o.interval),
		"remote_write":   []map[string]any{{"url": url}},
	}); err != nil {
		return nil, err
	}
	web := freeAddr()
	p, err := start(dir, "prometheus", b.bins.prometheus, "--enable-feature=agent", "--config.file="+cfg,
		"--storage.agent.path="+filepath.Join(dir, "wal"), "--web.listen-address="+web, "--log.level=warn")
	if err != nil {
		return nil, err
	}
	return p, waitHTTP(b.ctx, "http://"+web+"/-/ready", p, 60*time.Second)
}

// vmagent starts vmagent scraping jobs (none: remote_write in only) and
// remote_writing to url; it listens for remote_write on the returned address.
func (b *bench) vmagent(name string, jobs []job, url string) (*proc, string, error) {
	b.runs++
	name = fmt.Sprintf("%02d-%s", b.runs, name)
	dir := b.mkdir(name)
	web := freeAddr()
	args := []string{"-remoteWrite.url=" + url, "-remoteWrite.tmpDataPath=" + filepath.Join(dir, "queue"),
		"-httpListenAddr=" + web, "-loggerLevel=WARN"}
	if len(jobs) > 0 {
		cfg := filepath.Join(dir, "scrape.yml")
		if err := writeJSON(cfg, map[string]any{"scrape_configs": scrapeConfigs(jobs, b.o.interval)}); err != nil {
			return nil, "", err
		}
		args = append(args, "-promscrape.config="+cfg)
	}
	p, err := start(dir, "vmagent", b.bins.vmagent, args...)
	if err != nil {
		return nil, "", err
	}
	return p, web, waitHTTP(b.ctx, "http://"+web+"/health", p, 60*time.Second)
}

// edgerelay starts a cloud remote_writing to the receiver and an edge
// scraping jobs (none: remote_write in only), linked through a UDP relay
// the bench can cut. Both serve pprof on their HTTP listener.
func (b *bench) edgerelay(name string, jobs []job) (*sys, error) {
	b.runs++
	dir := b.mkdir(fmt.Sprintf("%02d-%s", b.runs, name))
	s := &sys{name: name, tag: filepath.Base(dir), measured: map[string]*proc{}, pprof: map[string]string{}}
	quic, chttp, ehttp := freeAddr(), freeAddr(), freeAddr()
	cloudCfg := filepath.Join(dir, "cloud.yaml")
	if err := writeJSON(cloudCfg, map[string]any{"cloud": map[string]any{
		"quic_listen": quic, "http_listen": chttp,
		"data_dir": filepath.Join(dir, "cloud"), "files_dir": filepath.Join(dir, "files"),
		"debug":                     map[string]any{"pprof": true},
		"remote_write":              []map[string]any{{"url": b.recvURL}},
		"remote_write_out_of_order": true,
		// Sized for the bench's largest target, as an operator sizes a
		// cloud for its tenants: the default of 200k series would refuse
		// part of the 240k point.
		"limits": map[string]any{"max_series": 1000000},
	}}); err != nil {
		return nil, err
	}
	cloud, err := start(dir, "cloud", b.bins.edgerelay, "run", "--config", cloudCfg)
	if err != nil {
		return nil, err
	}
	s.procs = append(s.procs, cloud)
	s.measured["cloud"] = cloud
	s.pprof["cloud"] = chttp
	if err := waitHTTP(b.ctx, "http://"+chttp+"/-/ready", cloud, 60*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	if s.link, err = newLink(quic); err != nil {
		s.stop()
		return nil, err
	}
	edge := map[string]any{
		"tenant": "bench", "site": "bench-1",
		"data_dir": filepath.Join(dir, "edge"), "http_listen": ehttp,
		"debug":    map[string]any{"pprof": true},
		"upstream": map[string]any{"address": s.link.addr(), "server_name": "localhost", "insecure_skip_verify": true},
	}
	if len(jobs) > 0 {
		edge["scrape_configs"] = scrapeConfigs(jobs, b.o.interval)
	}
	edgeCfg := filepath.Join(dir, "edge.yaml")
	if err := writeJSON(edgeCfg, map[string]any{"edge": edge}); err != nil {
		s.stop()
		return nil, err
	}
	ep, err := start(dir, "edge", b.bins.edgerelay, "run", "--config", edgeCfg)
	if err != nil {
		s.stop()
		return nil, err
	}
	s.procs = append(s.procs, ep)
	s.measured["main"] = ep
	s.edgeHTTP = ehttp
	s.pprof["edge"] = ehttp
	if err := waitHTTP(b.ctx, "http://"+ehttp+"/-/ready", ep, 60*time.Second); err != nil {
		s.stop()
		return nil, err
	}
	s.outage = func(down bool) error { s.link.cut.Store(down); return nil }
	if b.o.edgeOutage == "receiver" {
		s.outage = b.receiverDown
	}
	return s, nil
}

// scraper starts one system scraping jobs into the receiver: "prometheus",
// "vmagent" or "edgerelay".
func (b *bench) scraper(kind string, jobs []job) (*sys, error) {
	switch kind {
	case "edgerelay":
		return b.edgerelay("edgerelay", jobs)
	case "prometheus":
		p, err := b.prometheusAgent("prometheus", jobs, b.recvURL)
		s := &sys{name: kind, procs: []*proc{p}, measured: map[string]*proc{"main": p}, outage: b.receiverDown}
		if err != nil {
			s.stop()
			return nil, err
		}
		return s, nil
	case "vmagent":
		p, _, err := b.vmagent("vmagent", jobs, b.recvURL)
		s := &sys{name: kind, procs: []*proc{p}, measured: map[string]*proc{"main": p}, outage: b.receiverDown}
		if err != nil {
			s.stop()
			return nil, err
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown system %q (want prometheus, vmagent, edgerelay)", kind)
}

// ingester starts "edgerelay" or "vmagent" taking remote_write from a
// Prometheus agent that scrapes jobs; the agent is measured as "sender".
func (b *bench) ingester(kind string, jobs []job) (*sys, error) {
	var s *sys
	var url string
	switch kind {
	case "edgerelay":
		var err error
		if s, err = b.edgerelay("rw-edgerelay", nil); err != nil {
			return nil, err
		}
		url = "http://" + s.edgeHTTP + "/api/v1/write"
	case "vmagent":
		p, web, err := b.vmagent("rw-vmagent", nil, b.recvURL)
		s = &sys{name: kind, procs: []*proc{p}, measured: map[string]*proc{"main": p}}
		if err != nil {
			s.stop()
			return nil, err
		}
		url = "http://" + web + "/api/v1/write"
	default:
		return nil, fmt.Errorf("unknown ingester %q", kind)
	}
	s.name = kind
	p, err := b.prometheusAgent("rw-sender-"+kind, jobs, url)
	if p != nil {
		s.procs = append(s.procs, p)
		s.measured["sender"] = p
	}
	if err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}
