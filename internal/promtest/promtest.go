// Package promtest runs the real Prometheus (Debian's prometheus package)
// for tests and reads its HTTP API, so that every test proving edgerelay
// against Prometheus starts it and compares with it the same way.
//
// A Server belongs to one test; its methods are safe for concurrent use.
package promtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"
)

// Server is one running Prometheus.
type Server struct {
	// Addr is its host:port on loopback.
	Addr string

	mu   sync.Mutex
	logs bytes.Buffer
	cmd  *exec.Cmd // running now; nil while stopped
	bin  string
	args []string
}

func (s *Server) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.Write(p)
}

// Logs returns what Prometheus has logged so far.
func (s *Server) Logs() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logs.String()
}

// Require skips the test unless Prometheus is installed; why says what
// Prometheus is for in this test, or what was checked without it.
func Require(t testing.TB, why string) {
	t.Helper()
	if _, err := exec.LookPath("prometheus"); err != nil {
		t.Skipf("prometheus not installed (Debian package prometheus): %s", why)
	}
}

// Start runs Prometheus with config (prometheus.yml's content) and flags,
// its storage in a temporary directory (the agent's when flags enable the
// agent), listening on a free loopback port. The test is skipped when
// Prometheus is not installed. Prometheus is stopped when the test ends,
// and its log is printed if the test failed.
func Start(t testing.TB, config string, flags ...string) *Server {
	t.Helper()
	return StartAt(t, FreeAddr(t), config, flags...)
}

// StartAt is Start listening on addr, for a config that names Prometheus'
// own address (a job scraping Prometheus itself); FreeAddr gives one.
func StartAt(t testing.TB, addr, config string, flags ...string) *Server {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		t.Skip("prometheus not installed (Debian package prometheus)")
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: addr}
	storage := "--storage.tsdb.path="
	for _, f := range flags {
		if strings.HasPrefix(f, "--enable-feature=") && strings.Contains(f, "agent") {
			storage = "--storage.agent.path="
		}
	}
	s.bin, s.args = bin, append([]string{"--config.file=" + cfg, storage + filepath.Join(dir, "data"), "--web.listen-address=" + s.Addr}, flags...)
	s.Restart(t)
	t.Cleanup(func() {
		s.mu.Lock()
		cmd := s.cmd
		s.mu.Unlock()
		if cmd != nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", s.Logs())
		}
	})
	return s
}

// Stop stops Prometheus with sig (SIGTERM: a clean shutdown) and waits
// for it to exit; its storage stays for Restart.
func (s *Server) Stop(t testing.TB, sig os.Signal) {
	t.Helper()
	s.mu.Lock()
	cmd := s.cmd
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Signal(sig)
	cmd.Wait()
}

// Restart starts Prometheus again (after Stop) with its storage, address
// and flags.
func (s *Server) Restart(t testing.TB) {
	t.Helper()
	cmd := exec.Command(s.bin, s.args...)
	cmd.Stdout, cmd.Stderr = s, s
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.mu.Lock()
	s.cmd = cmd
	s.mu.Unlock()
}

// FreeAddr returns a loopback host:port nobody listens on.
func FreeAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// Get decodes the data of a successful answer of Prometheus' API at path
// (for a query, its result) into out, and reports whether it could.
func (s *Server) Get(path string, out any) bool {
	resp, err := http.Get("http://" + s.Addr + path)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	var r struct {
		Data json.RawMessage `json:"data"`
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&r) != nil {
		return false
	}
	var res struct {
		Result json.RawMessage `json:"result"`
	}
	if json.Unmarshal(r.Data, &res) == nil && res.Result != nil {
		return json.Unmarshal(res.Result, out) == nil
	}
	return json.Unmarshal(r.Data, out) == nil
}

// Query runs the instant query q and decodes its result into out, as Get.
func (s *Server) Query(q string, out any) bool {
	return s.Get("/api/v1/query?query="+url.QueryEscape(q), out)
}

// QueryAt runs the instant query q at time at, as Query.
func (s *Server) QueryAt(q string, at time.Time, out any) bool {
	ts := strconv.FormatFloat(float64(at.UnixMilli())/1000, 'f', 3, 64)
	return s.Get("/api/v1/query?query="+url.QueryEscape(q)+"&time="+ts, out)
}

// Sample is one element of an instant vector Prometheus returned.
type Sample struct {
	Metric labels.Labels
	Value  float64
}

// VectorAt runs the instant query q at ms (Unix milliseconds) and returns
// its float samples; a failed query or a value that is not a number
// fails t.
func (s *Server) VectorAt(t testing.TB, q string, ms int64) []Sample {
	t.Helper()
	var res []struct {
		Metric map[string]string `json:"metric"`
		Value  [2]any            `json:"value"`
	}
	if !s.QueryAt(q, time.UnixMilli(ms), &res) {
		t.Fatalf("query %s at %d failed:\n%s", q, ms, s.Logs())
	}
	out := make([]Sample, 0, len(res))
	for _, r := range res {
		str, _ := r.Value[1].(string)
		v, err := strconv.ParseFloat(str, 64)
		if err != nil {
			t.Fatalf("query %s at %d: value %v: %v", q, ms, r.Value, err)
		}
		out = append(out, Sample{Metric: labels.FromMap(r.Metric), Value: v})
	}
	return out
}

// Labels converts ls to remote_write's labels, for RemoteWrite.
func Labels(ls labels.Labels) []prompb.Label {
	out := make([]prompb.Label, 0, ls.Len())
	ls.Range(func(l labels.Label) { out = append(out, prompb.Label{Name: l.Name, Value: l.Value}) })
	return out
}

// RemoteWrite sends series to the server's remote_write receiver (start it
// with --web.enable-remote-write-receiver) as one remote_write 1.0
// request, retrying for up to a minute while Prometheus starts.
func (s *Server) RemoteWrite(t testing.TB, series []prompb.TimeSeries) {
	t.Helper()
	body, err := (&prompb.WriteRequest{Timeseries: series}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	enc := snappy.Encode(nil, body)
	deadline := time.Now().Add(time.Minute)
	for {
		req, _ := http.NewRequest(http.MethodPost, "http://"+s.Addr+"/api/v1/write", bytes.NewReader(enc))
		req.Header.Set("Content-Encoding", "snappy")
		req.Header.Set("Content-Type", "application/x-protobuf")
		req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode/100 == 2 {
				return
			}
			err = fmt.Errorf("status %s", resp.Status)
		}
		if time.Now().After(deadline) {
			t.Fatalf("remote_write to Prometheus: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// DiffHistogram compares a native histogram as Prometheus' query API
// returns it (count, sum, every non-empty bucket with its bounds, in order)
// with want, and returns "" when they agree. Counts, count and sum must be
// exact; bucket bounds, which each side computes from schema and index,
// may differ in the last bit.
func DiffHistogram(raw json.RawMessage, want *histogram.FloatHistogram) string {
	var h struct {
		Count   string   `json:"count"`
		Sum     string   `json:"sum"`
		Buckets [][4]any `json:"buckets"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		return err.Error()
	}
	if h.Count != strconv.FormatFloat(want.Count, 'f', -1, 64) || h.Sum != strconv.FormatFloat(want.Sum, 'f', -1, 64) {
		return fmt.Sprintf("count %s, sum %s; want %v, %v", h.Count, h.Sum, want.Count, want.Sum)
	}
	var wantB [][3]float64
	for it := want.AllBucketIterator(); it.Next(); {
		if b := it.At(); b.Count != 0 {
			wantB = append(wantB, [3]float64{b.Lower, b.Upper, b.Count})
		}
	}
	if len(h.Buckets) != len(wantB) {
		return fmt.Sprintf("%d buckets, want %d: %v", len(h.Buckets), len(wantB), h.Buckets)
	}
	near := func(a, b float64) bool { return a == b || math.Abs(a-b) <= 1e-12*math.Abs(b) }
	for i, b := range h.Buckets {
		var got [3]float64
		for j := range 3 {
			str, _ := b[j+1].(string)
			v, err := strconv.ParseFloat(str, 64)
			if err != nil {
				return fmt.Sprintf("bucket %d: %v", i, b)
			}
			got[j] = v
		}
		if !near(got[0], wantB[i][0]) || !near(got[1], wantB[i][1]) || got[2] != wantB[i][2] {
			return fmt.Sprintf("bucket %d is %v, want %v", i, got, wantB[i])
		}
	}
	return ""
}
