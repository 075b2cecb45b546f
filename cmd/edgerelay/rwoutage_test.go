package main

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/promtest"
	"github.com/edgerelay/edgerelay/relay/synth"
)

// receiver is a real remote_write receiver the test can stop and start
// again with its storage.
type receiver struct {
	name        string
	addr        string
	api         *promtest.Server // its Prometheus-compatible query API
	stop, start func()
}

// startVMReceiver runs Debian's victoria-metrics (single node) on a
// free port, its storage in a temporary directory, queryable at once.
func startVMReceiver(t *testing.T) *receiver {
	bin, err := exec.LookPath("victoria-metrics")
	if err != nil {
		t.Skip("victoria-metrics not installed (Debian package victoria-metrics)")
	}
	r := &receiver{name: "victoria-metrics", addr: promtest.FreeAddr(t)}
	r.api = &promtest.Server{Addr: r.addr}
	dir := t.TempDir()
	var cmd *exec.Cmd
	var logs bytes.Buffer
	var mu sync.Mutex
	r.start = func() {
		cmd = exec.Command(bin, "-storageDataPath="+filepath.Join(dir, "data"), "-httpListenAddr="+r.addr,
			"-retentionPeriod=100y", "-search.latencyOffset=0s", "-search.disableCache")
		mu.Lock()
		cmd.Stdout, cmd.Stderr = lockedWriter{&mu, &logs}, lockedWriter{&mu, &logs}
		mu.Unlock()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "victoria-metrics ready", 60*time.Second, func() bool { c, _ := httpGet("http://" + r.addr + "/health"); return c == 200 })
	}
	r.stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}
	r.start()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			mu.Lock()
			t.Logf("victoria-metrics log:\n%s", logs.String())
			mu.Unlock()
		}
	})
	return r
}

// startPromReceiver runs Prometheus with its remote_write receiver.
func startPromReceiver(t *testing.T) *receiver {
	p := promtest.Start(t, "global: {}\n", "--web.enable-remote-write-receiver")
	r := &receiver{name: "prometheus", addr: p.Addr, api: p}
	r.stop = func() { p.Stop(t, syscall.SIGTERM) }
	r.start = func() {
		p.Restart(t)
		waitFor(t, "prometheus ready", 60*time.Second, func() bool { c, _ := httpGet("http://" + p.Addr + "/-/ready"); return c == 200 })
	}
	waitFor(t, "prometheus ready", 60*time.Second, func() bool { c, _ := httpGet("http://" + p.Addr + "/-/ready"); return c == 200 })
	return r
}

// countingProxy passes remote_write requests to a receiver and counts, per
// series and timestamp, the samples of every request it answered 2xx.
type countingProxy struct {
	mu   sync.Mutex
	seen map[string]int
	rp   *httputil.ReverseProxy
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rec := &statusWriter{ResponseWriter: w}
	p.rp.ServeHTTP(rec, r)
	if rec.code/100 != 2 {
		return
	}
	raw, err := snappy.Decode(nil, body)
	var req prompb.WriteRequest
	if err == nil {
		err = req.Unmarshal(raw)
	}
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	var b labels.ScratchBuilder
	for _, ts := range req.Timeseries {
		k := ts.ToLabels(&b, nil).String()
		for _, s := range ts.Samples {
			p.seen[k+"@"+strconv.FormatInt(s.Timestamp, 10)]++
		}
	}
}

// counts returns the distinct samples taken and how many arrived more
// than once.
func (p *countingProxy) counts() (distinct, twice int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, n := range p.seen {
		distinct++
		if n > 1 {
			twice++
		}
	}
	return distinct, twice
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// TestRemoteWriteOutage: an edge scrapes 2 x 200 series every 500ms into a
// cloud whose remote_write output goes to a real receiver (VictoriaMetrics,
// then Prometheus), stopped for EDGERELAY_RW_OUTAGE (default 10s; 60s in
// make test-rw-outage) and started again. Every sample the cloud received
// arrives, none twice (counted at a proxy in front of the receiver, and
// queried from the receiver's API); the edge's queue stays empty all along
// (the cloud acknowledges blocks once they are in its output's queue).
func TestRemoteWriteOutage(t *testing.T) {
	outage := 10 * time.Second
	if s := os.Getenv("EDGERELAY_RW_OUTAGE"); s != "" {
		outage, _ = time.ParseDuration(s)
	}
	for _, tc := range []struct {
		name  string
		start func(*testing.T) *receiver
	}{{"victoria-metrics", startVMReceiver}, {"prometheus", startPromReceiver}} {
		t.Run(tc.name, func(t *testing.T) { remoteWriteOutage(t, tc.start(t), outage) })
	}
}

func remoteWriteOutage(t *testing.T, recv *receiver, outage time.Duration) {
	target := &synth.Target{Series: 200}
	tsrv := httptest.NewServer(target)
	t.Cleanup(tsrv.Close)
	ts := tsrv.Listener.Addr().String()
	u, _ := url.Parse("http://" + recv.addr)
	proxy := &countingProxy{seen: map[string]int{}, rp: httputil.NewSingleHostReverseProxy(u)}
	proxy.rp.ErrorLog = log.New(io.Discard, "", 0) // the receiver's absence is the point
	pl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	psrv := &http.Server{Handler: proxy}
	go psrv.Serve(pl)
	t.Cleanup(func() { psrv.Close() })

	env := newEnvWith(t, envOptions{scrape: jobYAML("synth", ts, "500ms", "400ms"), cloud: fmt.Sprintf(`  remote_write:
    - name: recv
      url: http://%s/api/v1/write
      queue_config: {batch_send_deadline: 1s, min_backoff: 50ms, max_backoff: 1s}
`, pl.Addr())})
	cloudMetrics, edgeMetrics := "http://"+env.cloudHTTP+"/metrics", "http://"+env.edgeHTTP+"/metrics"
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "samples at the receiver", 60*time.Second, func() bool { n, _ := proxy.counts(); return n > 1000 })

	recv.stop()
	down := time.Now()
	var maxEdgeBlocks, maxLag, maxPending float64
	for time.Since(down) < outage {
		maxEdgeBlocks = max(maxEdgeBlocks, metric(t, edgeMetrics, "edgerelay_queue_blocks"))
		maxLag = max(maxLag, metric(t, cloudMetrics, "edgerelay_remote_write_oldest_pending_age_seconds"))
		maxPending = max(maxPending, metric(t, cloudMetrics, "edgerelay_remote_write_pending_samples"))
		time.Sleep(250 * time.Millisecond)
	}
	recv.start()
	up := time.Now()
	waitFor(t, "the output's queue drained", 5*time.Minute, func() bool {
		maxEdgeBlocks = max(maxEdgeBlocks, metric(t, edgeMetrics, "edgerelay_queue_blocks"))
		return metric(t, cloudMetrics, "edgerelay_remote_write_oldest_pending_age_seconds") < 3
	})
	catchUp := time.Since(up)
	time.Sleep(2 * time.Second)
	edge.stop(t)
	waitFor(t, "the output's queue empty", 2*time.Minute, func() bool {
		return metric(t, cloudMetrics, "edgerelay_remote_write_pending_samples") == 0
	})
	received := metric(t, cloudMetrics, "edgerelay_received_samples_total")
	cloud.stop(t)

	distinct, twice := proxy.counts()
	t.Logf("%s down %v: up to %.0f samples queued at the cloud, oldest %.1fs old; drained %.1fs after the restart; edge queue at most %.0f blocks; %d samples received once",
		recv.name, outage, maxPending, maxLag, catchUp.Seconds(), maxEdgeBlocks, distinct)
	if twice > 0 {
		t.Errorf("%d samples reached %s more than once", twice, recv.name)
	}
	if float64(distinct) != received {
		t.Errorf("%s took %d distinct samples, the cloud received %.0f", recv.name, distinct, received)
	}
	if maxEdgeBlocks > 8 {
		t.Errorf("the edge's queue held up to %.0f blocks while %s was down: the edge was held back", maxEdgeBlocks, recv.name)
	}
	if maxLag < outage.Seconds()/2 {
		t.Errorf("the output's oldest block waited at most %.1fs during a %v outage: was the receiver down?", maxLag, outage)
	}
	// What the receiver itself holds, once it made the last writes
	// searchable (VictoriaMetrics flushes its buffers every second): every
	// raw sample of the hour.
	q := `{job="synth"}[1h]`
	held, again := 0, 0
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(time.Second) {
		httpGet("http://" + recv.addr + "/internal/force_flush")
		var res []struct {
			Values [][2]any `json:"values"`
		}
		if recv.api.Query(q, &res) {
			held, again = 0, 0
			for _, r := range res {
				seen := map[string]bool{}
				for _, v := range r.Values {
					k := fmt.Sprint(v[0])
					if seen[k] {
						again++
					}
					seen[k] = true
					held++
				}
			}
		}
		if held == distinct || time.Now().After(deadline) {
			break
		}
	}
	if held != distinct || again != 0 {
		t.Errorf("%s holds %d samples of job synth (%d at a timestamp twice), the proxy saw %d taken", recv.name, held, again, distinct)
	}
}

// TestRemoteWriteCloudKill9: the cloud is killed with SIGKILL while its
// remote_write output's queue holds blocks it acknowledged to the edge (the
// receiver answering 503); after a restart the receiver, back, gets every
// scrape the cloud wrote to its files, each once.
func TestRemoteWriteCloudKill9(t *testing.T) {
	env := newEnv(t)
	env.scrapeFast(t)
	sink := &scrapeSink{}
	var down sync.Mutex
	refusing := true
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		down.Lock()
		refuse := refusing
		down.Unlock()
		if refuse {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		sink.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f, _ := os.OpenFile(env.cloudConfig, os.O_APPEND|os.O_WRONLY, 0)
	fmt.Fprintf(f, "  remote_write:\n    - url: %s/api/v1/write\n      queue_config: {batch_send_deadline: 500ms, min_backoff: 50ms, max_backoff: 500ms}\n", srv.URL)
	f.Close()
	cloudMetrics, edgeMetrics := "http://"+env.cloudHTTP+"/metrics", "http://"+env.edgeHTTP+"/metrics"
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "blocks queued at the cloud for the receiver", 60*time.Second, func() bool {
		return metric(t, cloudMetrics, "edgerelay_remote_write_pending_samples") > 2000
	})
	if n := metric(t, edgeMetrics, "edgerelay_queue_blocks"); n > 8 {
		t.Fatalf("the edge holds %.0f blocks: the cloud did not acknowledge what it queued", n)
	}
	cloud.cmd.Process.Signal(syscall.SIGKILL)
	<-cloud.done
	cloud = start(t, env.bin, "run", "--config", env.cloudConfig)
	time.Sleep(time.Second)
	down.Lock()
	refusing = false
	down.Unlock()
	waitFor(t, "the output's queue drained", 2*time.Minute, func() bool {
		return metric(t, cloudMetrics, "edgerelay_remote_write_oldest_pending_age_seconds") < 2
	})
	edge.stop(t)
	waitFor(t, "the output's queue empty", 2*time.Minute, func() bool {
		return metric(t, cloudMetrics, "edgerelay_remote_write_pending_samples") == 0
	})
	cloud.stop(t)

	ns := consecutiveScrapes(t, env, 20)
	seen := map[int64]int{}
	for _, a := range sink.arrivals() {
		seen[a.n]++
	}
	for _, n := range ns {
		if seen[n] != 1 {
			t.Errorf("scrape %d reached the receiver %d times", n, seen[n])
		}
	}
	if len(seen) != len(ns) {
		t.Errorf("the receiver got %d scrapes, the files hold %d", len(seen), len(ns))
	}
	t.Logf("%d scrapes, each once at the receiver, across a SIGKILL of the cloud with its output queue full", len(ns))
}
