package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// streamLine is one line of /api/v1/stream.
type streamLine struct {
	Metric    map[string]string `json:"metric"`
	Timestamp int64             `json:"timestamp"`
	Value     string            `json:"value"`
	Stale     bool              `json:"stale"`
	End       string            `json:"end"`
}

// subscribe opens /api/v1/stream?match[]=selector on the cloud and
// collects its lines until the test ends.
type subscription struct {
	mu    sync.Mutex
	lines []streamLine
	err   error
}

func subscribe(t *testing.T, cloudHTTP, selector string) *subscription {
	t.Helper()
	resp, err := http.Get("http://" + cloudHTTP + "/api/v1/stream?match[]=" + url.QueryEscape(selector))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	if resp.StatusCode != 200 {
		t.Fatalf("/api/v1/stream: %d", resp.StatusCode)
	}
	s := &subscription{}
	go func() {
		sc := bufio.NewScanner(resp.Body)
		for sc.Scan() {
			var l streamLine
			err := json.Unmarshal(sc.Bytes(), &l)
			s.mu.Lock()
			if err != nil && s.err == nil {
				s.err = err
			}
			s.lines = append(s.lines, l)
			s.mu.Unlock()
		}
	}()
	return s
}

// got returns the sample lines so far, and how many staleness markers
// came besides.
func (s *subscription) got() ([]streamLine, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []streamLine
	stale := 0
	for _, l := range s.lines {
		if l.Stale {
			stale++
			continue
		}
		out = append(out, l)
	}
	return out, stale, s.err
}

// TestStreamSeesEverySampleInOrder subscribes to one series of the
// synthetic target (synth_scrape_number, the scrape's number) before the
// edge starts, lets the edge scrape every 100ms for a few seconds and
// stops it: the subscriber got that series' sample of every scrape the
// cloud wrote to its files, each once, in order, with its labels, and
// nothing of other series; the cloud's /metrics counts the subscriber and
// the samples.
func TestStreamSeesEverySampleInOrder(t *testing.T) {
	env := newEnv(t)
	env.scrapeFast(t)
	env.startCloud(t)
	sub := subscribe(t, env.cloudHTTP, `{__name__="synth_scrape_number"}`)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	files := filepath.Join(env.dir, "files")
	waitFor(t, "30 scrape directories", 60*time.Second, func() bool { return len(readScrapes(t, files)) >= 30 })
	edge.stop(t)

	// What the files hold: the scrape number at each scrape's timestamp.
	identity := map[string]string{"job": "synth", "instance": env.targetAddr, "env": "test", "site": "plant-7", "tenant": "acme"}
	key := labelsWith(identity, "__name__", "synth_scrape_number")
	var want []streamLine
	for _, s := range readScrapes(t, files) {
		if v, ok := s.samples[key]; ok {
			dts, _ := s.meta["dts"].(float64)
			want = append(want, streamLine{Timestamp: int64(dts), Value: strconv.FormatFloat(v, 'f', -1, 64)})
		}
	}
	sort.Slice(want, func(i, j int) bool { return want[i].Timestamp < want[j].Timestamp })
	var got []streamLine
	waitFor(t, "every scrape on the stream", 30*time.Second, func() bool {
		got, _, _ = sub.got()
		return len(got) >= len(want)
	})
	time.Sleep(500 * time.Millisecond) // anything more would be a duplicate
	got, stale, err := sub.got()
	if err != nil {
		t.Fatalf("a line is not JSON: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d lines on the stream, %d scrapes in the files", len(got), len(want))
	}
	for i, l := range got {
		var kv []string
		for k, v := range l.Metric {
			kv = append(kv, k, v)
		}
		if m := labelsWith(nil, kv...); m != key {
			t.Fatalf("line %d labels %s, want %s", i, m, key)
		}
		if l.Timestamp != want[i].Timestamp || l.Value != want[i].Value {
			t.Fatalf("line %d: t=%d v=%s, the files hold t=%d v=%s", i, l.Timestamp, l.Value, want[i].Timestamp, want[i].Value)
		}
	}
	_, body := httpGet("http://" + env.cloudHTTP + "/metrics")
	if !metricAtLeast(body, "edgerelay_stream_subscribers", 1) || !metricAtLeast(body, "edgerelay_stream_samples_total", float64(len(want))) {
		t.Errorf("/metrics does not count the stream:\n%s", grepLines(body, "edgerelay_stream_"))
	}
	// A failed scrape (a timeout on a loaded machine) makes Prometheus'
	// scrape loop append staleness markers, which the stream passes on
	// and the files leave out.
	t.Logf("%d samples streamed in order, first %s last %s; %d staleness markers", len(got), got[0].Value, got[len(got)-1].Value, stale)
}

// grepLines returns the lines of body containing s.
func grepLines(body, s string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.Contains(l, s) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
