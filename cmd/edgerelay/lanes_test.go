package main

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/value"
)

// arrival is one synth_scrape_number sample as a remote_write receiver got it.
type arrival struct {
	n  int64
	ts time.Time // when it was scraped
	at time.Time // when it arrived
}

// scrapeSink is a remote_write receiver recording, in arrival order, the
// scrape numbers of the synthetic target.
type scrapeSink struct {
	mu  sync.Mutex
	got []arrival
}

func (s *scrapeSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	req, ok := readWrite(w, r)
	if !ok {
		return
	}
	now := time.Now()
	s.mu.Lock()
	for _, ts := range req.Timeseries {
		for _, l := range ts.Labels {
			if l.Name == "__name__" && l.Value == "synth_scrape_number" {
				for _, smp := range ts.Samples {
					if value.IsStaleNaN(smp.Value) {
						continue // a scrape that failed, or the end of the series
					}
					s.got = append(s.got, arrival{int64(smp.Value), time.UnixMilli(smp.Timestamp), now})
				}
			}
		}
	}
	s.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (s *scrapeSink) arrivals() []arrival {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]arrival(nil), s.got...)
}

// lanesOf finds the first scrape of the live lane in arrival order: the
// smallest b such that the scrapes below b and those from b on each
// arrived in increasing order. It returns 0 when no such b exists.
func lanesOf(got []arrival) int64 {
	for _, cand := range got {
		b := cand.n
		var lastOld, lastNew int64
		ok := true
		for _, a := range got {
			last := &lastOld
			if a.n >= b {
				last = &lastNew
			}
			if a.n <= *last {
				ok = false
				break
			}
			*last = a.n
		}
		if ok {
			return b
		}
	}
	return 0
}

// TestBacklogBesideLiveData: after an outage, a cloud whose remote_write
// receiver takes out-of-order samples gets the edge's live scrapes while
// the backlog still drains, each lane in order; one whose receiver needs
// time order (the default) gets every scrape strictly in order. Either way
// every scrape arrives exactly once, in files and at the receiver.
func TestBacklogBesideLiveData(t *testing.T) {
	for _, ooo := range []bool{true, false} {
		t.Run(fmt.Sprintf("remote_write_out_of_order=%v", ooo), func(t *testing.T) {
			t.Parallel()
			env := newEnv(t)
			env.scrapeFast(t)
			sink := &scrapeSink{}
			srv := httptest.NewServer(sink)
			t.Cleanup(srv.Close)
			// A thin link, so that draining the backlog takes a while.
			env.edit(t, "  upstream:\n", "  queue: {max_send_rate: 6KiB, max_block_bytes: 8KiB}\n  upstream:\n")
			f, _ := os.OpenFile(env.cloudConfig, os.O_APPEND|os.O_WRONLY, 0)
			fmt.Fprintf(f, "  remote_write_out_of_order: %v\n  remote_write:\n    - url: %s/api/v1/write\n", ooo, srv.URL)
			f.Close()

			edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
			edge := start(t, env.bin, "run", "--config", env.edgeConfig)
			waitFor(t, "edge ready", 30*time.Second, func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 })
			outage := 6 * time.Second
			if s := os.Getenv("EDGERELAY_OUTAGE"); s != "" {
				outage, _ = time.ParseDuration(s)
			}
			time.Sleep(outage)
			backlog := metric(t, edgeMetrics, "edgerelay_queue_samples")
			t.Logf("backlog: %.0f bytes", metric(t, edgeMetrics, "edgerelay_queue_bytes"))
			cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
			waitDrained(t, "backlog drained", edgeMetrics)
			time.Sleep(time.Second) // live data flows on
			edge.stop(t)
			cloud.stop(t)

			ns := consecutiveScrapes(t, env, 50)
			got := sink.arrivals()
			if len(got) != len(ns) {
				t.Fatalf("the remote_write receiver got %d scrape numbers, the files hold %d scrapes", len(got), len(ns))
			}
			edge.mu.Lock()
			split := strings.Contains(edge.logs.String(), "live lane started")
			edge.mu.Unlock()
			b := lanesOf(got)
			if b == 0 {
				t.Fatalf("arrivals are not two lanes each in order: %v", got)
			}
			// The link is back at the first arrival. Scrapes taken from then
			// until the backlog was through: how long did they wait?
			t0 := got[0].at
			var backlogDone time.Time
			for _, a := range got {
				if a.n < b {
					backlogDone = a.at
				}
			}
			if !ooo {
				backlogDone = got[len(got)-1].at
				for _, a := range got {
					if a.ts.Before(t0) {
						backlogDone = a.at
					}
				}
			}
			var wait time.Duration
			for _, a := range got {
				if !a.ts.Before(t0) && a.ts.Before(backlogDone) {
					wait = max(wait, a.at.Sub(a.ts))
				}
			}
			t.Logf("backlog of %.0f samples through %s after the link came back; scrapes taken meanwhile reached the receiver within %s",
				backlog, backlogDone.Sub(t0).Round(time.Millisecond), wait.Round(time.Millisecond))
			if !ooo {
				if split {
					t.Fatal("with a receiver needing time order the edge split its queue")
				}
				for i := 1; i < len(got); i++ {
					if got[i].n <= got[i-1].n {
						t.Fatalf("scrape %d arrived after %d", got[i].n, got[i-1].n)
					}
				}
				return
			}
			if !split {
				t.Fatal("the edge did not start a live lane")
			}
			var firstNew time.Time
			for _, a := range got {
				if a.n >= b {
					firstNew = a.at
					break
				}
			}
			if firstNew.IsZero() || !firstNew.Before(backlogDone) {
				t.Fatalf("no live scrape arrived before the backlog was through (live lane from scrape %d)", b)
			}
		})
	}
}

// TestLanesSurviveKill9: the edge and then the cloud are killed with
// SIGKILL while a backlog drains beside live data; the split, the queue's
// out-of-order acknowledgements and the cloud's per-lane bases survive:
// every scrape arrives exactly once and exactly as served, and the cloud
// never meets a frame without its base.
func TestLanesSurviveKill9(t *testing.T) {
	env := newEnv(t)
	env.scrapeFast(t)
	env.edit(t, "  upstream:\n", "  queue: {max_send_rate: 6KiB, max_block_bytes: 8KiB}\n  upstream:\n")
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	edgeReady := func() bool { c, _ := httpGet("http://" + env.edgeHTTP + "/-/ready"); return c == 200 }
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, edgeReady)
	time.Sleep(8 * time.Second)
	clouds := []*proc{start(t, env.bin, "run", "--config", env.cloudConfig)}
	waitFor(t, "a live lane", 30*time.Second, func() bool {
		edge.mu.Lock()
		defer edge.mu.Unlock()
		return strings.Contains(edge.logs.String(), "live lane started")
	})
	waitFor(t, "the status page to show the drain beside live data", 10*time.Second, func() bool {
		_, page := httpGet("http://" + env.edgeHTTP + "/")
		return strings.Contains(page, "backlog beside live data")
	})
	if metric(t, edgeMetrics, "edgerelay_uplink_lanes") != 2 {
		t.Error("edgerelay_uplink_lanes is not 2 while the backlog drains beside live data")
	}
	time.Sleep(500 * time.Millisecond)
	if metric(t, edgeMetrics, "edgerelay_queue_blocks") < 5 {
		t.Fatal("the backlog drained before the edge could be killed: make the outage longer")
	}
	// A scrape taken but not yet committed when the edge dies was never
	// counted as taken: it may be missing, nothing else.
	n1 := env.target.Scrapes()
	edge.cmd.Process.Signal(syscall.SIGKILL)
	<-edge.done
	n2 := env.target.Scrapes()
	edge = start(t, env.bin, "run", "--config", env.edgeConfig)
	waitFor(t, "edge ready", 30*time.Second, edgeReady)
	time.Sleep(time.Second)
	clouds[0].cmd.Process.Signal(syscall.SIGKILL)
	<-clouds[0].done
	clouds = append(clouds, start(t, env.bin, "run", "--config", env.cloudConfig))
	waitDrained(t, "backlog drained", edgeMetrics)
	time.Sleep(time.Second)
	edge.stop(t)
	clouds[1].stop(t)

	ns, failed := scrapeNumbersAndFailures(t, env)
	if len(ns) < 80 {
		t.Fatalf("only %d scrapes arrived", len(ns))
	}
	for i := 1; i < len(ns); i++ {
		gap := int(ns[i] - ns[i-1] - 1)
		switch {
		case ns[i] == ns[i-1]:
			t.Fatalf("scrape %d written twice", ns[i])
		case gap > 0 && ns[i-1]+1 >= n1-2 && ns[i]-1 <= n2:
			// taken as the edge was killed: may be missing (checked
			// before failed scrapes, so it does not use up their count)
		case gap > 0 && gap <= failed:
			failed -= gap // scrapes the edge gave up on, written as such
		case gap > 0:
			t.Fatalf("scrapes %d..%d missing; only scrapes taken as the edge was killed (%d..%d) may be", ns[i-1]+1, ns[i]-1, n1-2, n2)
		}
	}
	for _, c := range clouds {
		c.mu.Lock()
		lost := strings.Contains(c.logs.String(), "without its base")
		c.mu.Unlock()
		if lost {
			t.Fatal("the cloud met a delta frame without its base")
		}
	}
	if m, _ := filepath.Glob(filepath.Join(env.dir, "cloud", "bases", "*.lane1.*")); len(m) == 0 {
		t.Fatal("the cloud kept no base for the live lane")
	}
	t.Logf("%d scrapes exactly once through a SIGKILL of the edge and of the cloud mid-drain", len(ns))
}
