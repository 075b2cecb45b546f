package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// procStats is what /proc said about one process.
type procStats struct {
	cpu    float64 // CPU seconds in the window
	rssAvg float64 // bytes, average of one sample a second in the window
	hwm    float64 // VmHWM at the end of the run (outage and catch-up included)
}

// result is one system's run.
type result struct {
	name      string
	window    time.Duration
	nominal   float64 // samples/s the targets serve, per the workload
	stamped   int64   // samples stamped in the window that reached the receiver by the end of the run
	arrived   int64   // samples arriving in the window
	bytes     int64   // their remote_write bodies
	p50, p99  int64   // ms, arrival - sample timestamp, samples arriving in the window
	wire      float64 // edgerelay: uplink bytes per sample in the window
	catchup   float64 // seconds; NaN: not measured
	caughtAll bool    // every sample of the outage arrived within -catchup-max
	outageGot float64 // share of the outage's expected samples that arrived
	procs     map[string]*procStats
	err       error // the system failed; nothing else is set
}

// cpuPerM is CPU seconds of role per million samples stamped in the window.
func (r *result) cpuPerM(role string) float64 {
	p := r.procs[role]
	if p == nil || r.stamped == 0 {
		return math.NaN()
	}
	return p.cpu / float64(r.stamped) * 1e6
}

// rate is samples/s stamped in the window; behind says the system did not
// deliver 90% of what the targets served.
func (r *result) rate() float64 { return float64(r.stamped) / r.window.Seconds() }
func (r *result) behind() bool  { return r.nominal > 0 && r.rate() < 0.9*r.nominal }

// recvQuery asks the receiver's control listener; v receives the JSON answer.
func (b *bench) recvQuery(path string, v any) error {
	r, err := client.Get("http://" + b.recvControl + path)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	if r.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(r.Body)
		return fmt.Errorf("receiver %s: %s %s", path, r.Status, body)
	}
	return json.NewDecoder(r.Body).Decode(v)
}

// metricSum is the sum of name over its label sets on addr's /metrics.
func metricSum(addr, name string) (float64, error) {
	r, err := client.Get("http://" + addr + "/metrics")
	if err != nil {
		return 0, err
	}
	defer r.Body.Close()
	var sum float64
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name) {
			continue
		}
		rest := line[len(name):]
		if rest == "" || (rest[0] != ' ' && rest[0] != '{') {
			continue
		}
		f := strings.Fields(rest[strings.LastIndexByte(rest, '}')+1:])
		if len(f) == 0 {
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}

func nowMs() int64 { return time.Now().UnixMilli() }

// measure runs the warm-up, the steady window and, with outage, the outage
// and its catch-up, on a system already started; it stops the system.
// It is one timeline, read top to bottom as the run happens, so it stays one
// function (84 lines) rather than phases that pass the same clocks around.
func (b *bench) measure(s *sys, nominal float64, outage bool) (*result, error) {
	defer s.stop()
	res := &result{name: s.name, window: b.o.window, nominal: nominal, catchup: math.NaN(), procs: map[string]*procStats{}}
	b.logf("%s: warm-up %s", s.name, b.o.warmup)
	if err := sleep(b.ctx, b.o.warmup); err != nil {
		return nil, err
	}
	w0 := nowMs()
	cpu0 := map[string]float64{}
	for role, p := range s.measured {
		c, err := cpuSeconds(p.pid())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		cpu0[role] = c
		res.procs[role] = &procStats{}
	}
	var bytes0, samples0 float64
	if s.edgeHTTP != "" {
		bytes0, _ = metricSum(s.edgeHTTP, "edgerelay_uplink_sent_bytes_total")
		samples0, _ = metricSum(s.edgeHTTP, "edgerelay_uplink_sent_samples_total")
	}
	if b.o.profileDir != "" {
		b.profile(s, int(b.o.window.Seconds()))
	}
	b.logf("%s: window %s", s.name, b.o.window)
	n := 0
	for end := time.UnixMilli(w0).Add(b.o.window); time.Now().Before(end); {
		for role, p := range s.measured {
			if p.exited() {
				return nil, fmt.Errorf("%s exited: %s", p.name, p.tail())
			}
			rss, _, _ := memStatus(p.pid())
			res.procs[role].rssAvg += rss
		}
		n++
		if err := sleep(b.ctx, min(time.Second, time.Until(end))); err != nil {
			return nil, err
		}
	}
	w1 := w0 + b.o.window.Milliseconds()
	for role, p := range s.measured {
		c, err := cpuSeconds(p.pid())
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p.name, err)
		}
		res.procs[role].cpu = c - cpu0[role]
		b.logf("%s: %s pid %d: %.2f CPU s in the window", s.name, role, p.pid(), res.procs[role].cpu)
		res.procs[role].rssAvg /= float64(max(n, 1))
	}
	if s.edgeHTTP != "" {
		b1, err1 := metricSum(s.edgeHTTP, "edgerelay_uplink_sent_bytes_total")
		s1, err2 := metricSum(s.edgeHTTP, "edgerelay_uplink_sent_samples_total")
		if err1 == nil && err2 == nil && s1 > samples0 {
			res.wire = (b1 - bytes0) / (s1 - samples0)
		}
	}
	if outage {
		if err := b.outage(s, res, w0, w1); err != nil {
			return nil, err
		}
	}
	stamped, err := b.windowSamples(w0, w1, res.nominal)
	if err != nil {
		return nil, err
	}
	for role, p := range s.measured {
		_, hwm, _ := memStatus(p.pid())
		res.procs[role].hwm = hwm
	}
	res.stamped = stamped
	var ar struct {
		Samples, Bytes int64
		P50            int64 `json:"latency_p50_ms"`
		P99            int64 `json:"latency_p99_ms"`
	}
	if err := b.recvQuery(fmt.Sprintf("/arrivals?from=%d&to=%d", w0, w1), &ar); err != nil {
		return nil, err
	}
	res.arrived, res.bytes, res.p50, res.p99 = ar.Samples, ar.Bytes, ar.P50, ar.P99
	b.logf("%s: %.0f samples/s stamped in the window, %.0f/s arrived in it, %.0f/s offered", s.name,
		res.rate(), float64(res.arrived)/b.o.window.Seconds(), res.nominal)
	return res, nil
}

// windowSamples waits for the samples stamped in the window [w0,w1) to
// reach the receiver, and counts them: until there are as many as the
// targets served, or the count stood still for 5 s (at least an interval
// and 2 s after the window), at most 30 s.
func (b *bench) windowSamples(w0, w1 int64, nominal float64) (int64, error) {
	want := int64(0.98 * nominal * float64(w1-w0) / 1000)
	var last int64 = -1
	still := time.Now()
	for {
		var st struct{ Samples int64 }
		if err := b.recvQuery(fmt.Sprintf("/stamped?from=%d&to=%d", w0, w1), &st); err != nil {
			return 0, err
		}
		if st.Samples != last {
			last, still = st.Samples, time.Now()
		}
		since := time.Since(time.UnixMilli(w1))
		switch {
		case st.Samples >= want && since >= b.o.interval,
			since >= b.o.interval+2*time.Second && time.Since(still) >= 5*time.Second,
			since >= 30*time.Second:
			return st.Samples, nil
		}
		if err := sleep(b.ctx, time.Second); err != nil {
			return 0, err
		}
	}
}

// outage cuts the system off from the receiver for -outage, then waits
// until every sample stamped before the end of the outage has arrived
// (the receiver has about the outage's share of the window's samples and
// none stamped before its end arrived for a while), at most -catchup-max.
// Catch-up is from the end of the outage to the arrival of the last sample
// stamped before it.
func (b *bench) outage(s *sys, res *result, w0, w1 int64) error {
	// Samples stamped at least one interval before the window's end have
	// arrived by now: their rate is the steady rate.
	iv := b.o.interval.Milliseconds()
	var st struct{ Samples int64 }
	if err := b.recvQuery(fmt.Sprintf("/stamped?from=%d&to=%d", w0-iv, w1-iv), &st); err != nil {
		return err
	}
	rate := float64(st.Samples) / float64(w1-w0) // per ms
	b.logf("%s: outage %s (steady %.0f samples/s, nominal %.0f)", s.name, b.o.outage, rate*1000, res.nominal)
	S := nowMs()
	if err := s.outage(true); err != nil {
		return err
	}
	err := sleep(b.ctx, b.o.outage)
	R := nowMs()
	if err2 := s.outage(false); err == nil {
		err = err2
	}
	if err != nil {
		return err
	}
	// The lower of the measured and the nominal rate: the wait below also
	// asks for silence, so an estimate too low cannot end it early.
	expected := min(rate, res.nominal/1000) * float64(R-S)
	nominal := res.nominal / 1000 * float64(R-S)
	quiet := max(3*time.Second, b.o.interval+time.Second).Milliseconds()
	deadline := time.UnixMilli(R).Add(b.o.catchupMax)
	var c struct {
		In, After     int64
		LastArrivalMs int64 `json:"last_arrival_ms"`
	}
	for {
		if err := sleep(b.ctx, 500*time.Millisecond); err != nil {
			return err
		}
		if err := b.recvQuery(fmt.Sprintf("/catchup?from=%d&to=%d", S, R), &c); err != nil {
			return err
		}
		res.outageGot = float64(c.In) / max(nominal, 1)
		if float64(c.In) >= 0.95*expected && c.After > 0 && nowMs()-c.LastArrivalMs >= quiet {
			res.caughtAll = true
			break
		}
		if time.Now().After(deadline) {
			break
		}
	}
	res.catchup = math.Max(0, float64(c.LastArrivalMs-R)/1000)
	b.logf("%s: catch-up %.1f s, %.0f%% of the outage's samples", s.name, res.catchup, 100*res.outageGot)
	return nil
}

// profile saves a CPU profile of each edgerelay role over the window, and
// a heap profile (after a collection) at its end.
func (b *bench) profile(s *sys, seconds int) {
	for role, addr := range s.pprof {
		path := filepath.Join(b.o.profileDir, fmt.Sprintf("%s-%s-%s.pprof", b.runTag, s.tag, role))
		heap := filepath.Join(b.o.profileDir, fmt.Sprintf("%s-%s-%s-heap.pprof", b.runTag, s.tag, role))
		go func() {
			b.savePprof(path, fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", addr, seconds))
			b.savePprof(heap, fmt.Sprintf("http://%s/debug/pprof/heap?gc=1", addr))
		}()
	}
}

// savePprof saves the profile url answers to path.
func (b *bench) savePprof(path, url string) {
	r, err := http.Get(url)
	if err != nil {
		b.logf("profile %s: %v", path, err)
		return
	}
	defer r.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		b.logf("profile %s: %v", path, err)
		return
	}
	io.Copy(f, r.Body)
	f.Close()
	b.logf("profile saved: %s (go tool pprof -top %s)", path, path)
}
