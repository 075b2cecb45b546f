package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/prometheus/prompb"
)

// TestKill9NothingAckedLost sends numbered remote_write requests while the
// edge, the cloud or both are killed with SIGKILL and restarted at random
// moments; afterwards every request the edge acknowledged is in the cloud's
// files exactly once.
func TestKill9NothingAckedLost(t *testing.T) {
	env := newEnv(t)
	rounds := 3
	if s := os.Getenv("EDGERELAY_CHAOS_ROUNDS"); s != "" {
		rounds, _ = strconv.Atoi(s)
	}
	edgeReady := "http://" + env.edgeHTTP + "/-/ready"
	var clouds []*proc
	startCloud := func() *proc {
		p := start(t, env.bin, "run", "--config", env.cloudConfig)
		clouds = append(clouds, p)
		return p
	}
	startEdge := func() *proc {
		p := start(t, env.bin, "run", "--config", env.edgeConfig)
		waitFor(t, "edge ready", 20*time.Second, func() bool { c, _ := httpGet(edgeReady); return c == 200 })
		return p
	}
	cloud := startCloud()
	edge := startEdge()

	var mu sync.Mutex
	acked := map[int]bool{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for k := 0; ctx.Err() == nil; k++ {
			if chaosSend(ctx, "http://"+env.edgeHTTP+"/api/v1/write", k) == nil {
				mu.Lock()
				acked[k] = true
				mu.Unlock()
			} else {
				time.Sleep(20 * time.Millisecond)
			}
		}
	}()

	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for r := 0; r < rounds; r++ {
		time.Sleep(time.Duration(300+rng.IntN(700)) * time.Millisecond)
		switch rng.IntN(3) {
		case 0:
			edge.cmd.Process.Signal(syscall.SIGKILL)
			<-edge.done
			edge = startEdge()
		case 1:
			cloud.cmd.Process.Signal(syscall.SIGKILL)
			<-cloud.done
			time.Sleep(200 * time.Millisecond)
			cloud = startCloud()
		default:
			edge.cmd.Process.Signal(syscall.SIGKILL)
			cloud.cmd.Process.Signal(syscall.SIGKILL)
			<-edge.done
			<-cloud.done
			cloud = startCloud()
			edge = startEdge()
		}
		t.Logf("round %d done", r)
	}
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	if len(acked) == 0 {
		t.Fatal("no request was acknowledged")
	}
	files := filepath.Join(env.dir, "files")
	var counts map[string]int
	waitFor(t, "every acked request in the cloud's files", 60*time.Second, func() bool {
		counts = map[string]int{}
		for _, s := range readScrapes(t, files) {
			for k := range s.samples {
				counts[k]++
			}
		}
		for k := range acked {
			if counts[chaosKey(k)] == 0 {
				return false
			}
		}
		return true
	})
	for k := range acked {
		if n := counts[chaosKey(k)]; n != 1 {
			t.Errorf("request %d present %d times", k, n)
		}
	}
	edge.stop(t)
	cloud.stop(t)

	// The scrapes went delta-encoded through the same kills: each one
	// written is exact (scrapeNumbers checks every value) and written once,
	// and no cloud ever met a frame without its base.
	ns := scrapeNumbers(t, env)
	for i := 1; i < len(ns); i++ {
		if ns[i] == ns[i-1] {
			t.Errorf("scrape %d written twice", ns[i])
		}
	}
	for _, c := range clouds {
		c.mu.Lock()
		logs := c.logs.String()
		c.mu.Unlock()
		if strings.Contains(logs, "without its base") {
			t.Errorf("a cloud met a delta frame without its base:\n%s", logs)
		}
	}
	t.Logf("%d requests acknowledged, all present exactly once after %d kill rounds; %d scrapes written exactly once", len(acked), rounds, len(ns))
}

func chaosKey(k int) string {
	return fmt.Sprintf(`{__name__="chaos_req", instance="chaos", job="chaos", req="%d", site="plant-7", tenant="acme"}`, k)
}

func chaosSend(ctx context.Context, url string, k int) error {
	req := &prompb.WriteRequest{Timeseries: []prompb.TimeSeries{{
		Labels: []prompb.Label{{Name: "__name__", Value: "chaos_req"}, {Name: "instance", Value: "chaos"},
			{Name: "job", Value: "chaos"}, {Name: "req", Value: strconv.Itoa(k)}},
		Samples: []prompb.Sample{{Timestamp: time.Now().UnixMilli(), Value: float64(k)}},
	}}}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	code, _, err := postWrite(ctx, url, req)
	if err != nil {
		return err
	}
	if code != 204 && code != 200 {
		return fmt.Errorf("status %d", code)
	}
	return nil
}
