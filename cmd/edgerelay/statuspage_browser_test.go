package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The status pages are checked in a real headless browser (Debian's
// chromium, driven over the DevTools protocol): what a person reads there
// is what /metrics says, and a screenshot of each page is kept.

// chromiumPath finds the browser, or skips the test.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH (apt-get install chromium; .ci/run installs it)")
	return ""
}

// artifactDir is where the test's screenshots go: $EDGERELAY_TEST_ARTIFACTS,
// else testdata/artifacts (ignored by git).
func artifactDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("EDGERELAY_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join("testdata", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// browser starts a headless chromium with a phone's viewport.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox, // the tests may run as root
		chromedp.Flag("headless", "new"),
		chromedp.WindowSize(412, 915),
		chromedp.UserDataDir(t.TempDir()),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // starts the browser, for the life of ctx
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// pageFigures loads url in the browser and returns each figure the page
// marks with data-metric, as displayed, and the page's visible text.
func pageFigures(t *testing.T, ctx context.Context, url string) (map[string]string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil { // Navigate returns once the page has loaded
		t.Fatalf("load %s: %v", url, err)
	}
	cells, err := chromedp.Run(ctx, chromedp.Evaluate[[][]string](`Array.from(document.querySelectorAll("[data-metric]")).map(e => [e.dataset.metric, e.innerText])`))
	if err != nil {
		t.Fatalf("read figures of %s: %v", url, err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
	if err != nil {
		t.Fatalf("read text of %s: %v", url, err)
	}
	out := map[string]string{}
	for _, c := range cells {
		out[c[0]] = c[1]
	}
	return out, text
}

// exposition reads a /metrics page: series as written → value.
func exposition(t *testing.T, url string) map[string]float64 {
	t.Helper()
	code, body := httpGet(url)
	if code != 200 {
		t.Fatalf("GET %s: %d", url, code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// checkFigures compares the figures base's status page shows with its
// /metrics. Figures move while data flows, so a figure counts as checked
// once it read the same on the page before and after a /metrics read and
// equal to it; one that never does within 30 rounds fails. want are
// figures the page must show.
func checkFigures(t *testing.T, ctx context.Context, base string, want ...string) (checked int) {
	t.Helper()
	pending := map[string]string{} // figure → last disagreement
	done := map[string]bool{}
	for round := 0; round < 30; round++ {
		before, _ := pageFigures(t, ctx, "http://"+base+"/")
		m := exposition(t, "http://"+base+"/metrics")
		after, _ := pageFigures(t, ctx, "http://"+base+"/")
		for _, w := range want {
			if _, ok := after[w]; !ok {
				t.Fatalf("%s: the status page shows no figure of %s", base, w)
			}
		}
		for k, shown := range after {
			if done[k] || before[k] != shown {
				continue
			}
			v, err := strconv.ParseFloat(shown, 64)
			mv, ok := m[k]
			switch {
			case err != nil:
				t.Fatalf("%s: the page shows %s as %q, not a number", base, k, shown)
			case !ok:
				pending[k] = "not on /metrics"
			case v != mv:
				pending[k] = "page " + shown + ", /metrics " + strconv.FormatFloat(mv, 'g', -1, 64)
			default:
				done[k] = true
				delete(pending, k)
			}
		}
		if len(pending) == 0 && len(done) == len(after) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	for k, why := range pending {
		t.Errorf("%s: %s never matched /metrics: %s", base, k, why)
	}
	return len(done)
}

// screenshot saves the whole page at url as PNG in the artifact directory.
func screenshot(t *testing.T, ctx context.Context, url, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil { // Navigate returns once the page has loaded
		t.Fatalf("load %s: %v", url, err)
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot of %s: %v", url, err)
	}
	path := filepath.Join(artifactDir(t), name)
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot of %s: %s", url, path)
}

// TestStatusPagesInBrowser runs a cloud and an edge (scraping a target
// through a plugin stage), loads both status pages in headless chromium,
// checks that every figure they show equals /metrics and that the edge's
// target, plugin stage and chart and the cloud's site are there, and saves
// a phone-sized screenshot of each.
func TestStatusPagesInBrowser(t *testing.T) {
	chromiumPath(t)
	env := newEnv(t, e2eFilter)
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	edgeMetrics := "http://" + env.edgeHTTP + "/metrics"
	waitFor(t, "samples acknowledged by the cloud", 120*time.Second, func() bool {
		return metric(t, edgeMetrics, "edgerelay_uplink_sent_samples_total") > 0
	})
	time.Sleep(2 * time.Second) // a few scrapes through the plugin stage
	ctx := browser(t)

	n := checkFigures(t, ctx, env.edgeHTTP, "edgerelay_queue_blocks", "edgerelay_queue_bytes",
		"edgerelay_queue_samples", "edgerelay_queue_dropped_samples_total", "edgerelay_uplink_sent_samples_total",
		`edgerelay_plugin_calls_total{stage="drop-sum"}`)
	t.Logf("edge: %d figures equal to /metrics", n)
	_, text := pageFigures(t, ctx, "http://"+env.edgeHTTP+"/")
	if metric(t, edgeMetrics, "edgerelay_uplink_connected") != 1 || !strings.Contains(text, "connected\tyes") {
		t.Errorf("the edge's status page does not say the uplink is connected")
	}
	for _, want := range []string{"Targets", env.targetAddr, "drop-sum", "uplink send rate", "last acknowledgement"} {
		if !strings.Contains(text, want) {
			t.Errorf("the edge's status page does not show %q", want)
		}
	}
	polylines, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("svg polyline").length`))
	if err != nil || polylines != 2 {
		t.Errorf("the edge's chart has %d lines (%v), want 2", polylines, err)
	}

	n = checkFigures(t, ctx, env.cloudHTTP, "edgerelay_received_samples_total",
		`edgerelay_cloud_site_received_samples_total{site="plant-7",tenant="acme"}`, "edgerelay_files_written_total")
	t.Logf("cloud: %d figures equal to /metrics", n)
	_, text = pageFigures(t, ctx, "http://"+env.cloudHTTP+"/")
	for _, want := range []string{"Sites", "plant-7", "Outputs", "Limits hit"} {
		if !strings.Contains(text, want) {
			t.Errorf("the cloud's status page does not show %q", want)
		}
	}
	screenshot(t, ctx, "http://"+env.edgeHTTP+"/", "status-edge.png")
	screenshot(t, ctx, "http://"+env.cloudHTTP+"/", "status-cloud.png")
	edge.stop(t)
	cloud.stop(t)
}
