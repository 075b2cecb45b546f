package files

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay"
)

func newWriter(t *testing.T, dir string) (*Writer, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	w, err := New(Config{Dir: dir, Registerer: reg, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return w, reg
}

func ser(t int64, v float64, kv ...string) relay.Series {
	return relay.Series{Labels: labels.FromStrings(kv...), Samples: []relay.Sample{{T: t, V: v}}}
}

// scrapeBatch is one scrape of node:9100 at ts (ms), one sample ts-1 late.
func scrapeBatch(ts int64, v float64) *relay.Batch {
	id := []string{"instance", "10.0.0.1:9100", "job", "node", "site", "plant-7", "tenant", "acme"}
	with := func(kv ...string) []string { return append(kv, id...) }
	return &relay.Batch{
		Scrape: true, Job: "node", Instance: "10.0.0.1:9100", Timestamp: ts,
		TargetLabels: labels.FromStrings("__address__", "10.0.0.1:9100", "job", "node"),
		Series: []relay.Series{
			ser(ts, v, with("__name__", "node_load1")...),
			ser(ts-1, 2.5, with("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "idle")...),
			ser(ts, 3.5, with("__name__", "node_cpu_seconds_total", "cpu", "0", "mode", "user")...),
			ser(ts, 1, with("__name__", "up")...),
		},
		Metadata: map[string]relay.Metadata{
			"node_load1":             {Type: "gauge", Help: "1m load average."},
			"node_cpu_seconds_total": {Type: "counter", Help: "Seconds the CPUs spent in each mode."},
			"up":                     {Type: "gauge", Help: "Whether the target is up."},
		},
	}
}

// scrapeDir is one scrape directory as read back from disk.
type scrapeDir struct {
	meta Meta
	text []byte
}

func readScrape(t *testing.T, dir string) scrapeDir {
	t.Helper()
	name := filepath.Base(dir)
	js, err := os.ReadFile(filepath.Join(dir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var sd scrapeDir
	if err := json.Unmarshal(js, &sd.meta); err != nil {
		t.Fatalf("%s.json: %v", name, err)
	}
	f, err := os.Open(filepath.Join(dir, name+".data.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if sd.text, err = io.ReadAll(zr); err != nil {
		t.Fatal(err)
	}
	return sd
}

// samples parses sd's text with Prometheus' parser and restores what the
// layout leaves out (kvs labels, dts timestamps): "labels -> t v" strings.
func (sd scrapeDir) samples(t *testing.T) []string {
	t.Helper()
	p := textparse.NewPromParser(sd.text, labels.NewSymbolTable(), false)
	var out []string
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("textparse: %v\n%s", err, sd.text)
		}
		if e != textparse.EntrySeries {
			continue
		}
		var l labels.Labels
		p.Labels(&l)
		_, ts, v := p.Series()
		tt := sd.meta.DTS
		if ts != nil {
			tt = *ts
		}
		b := labels.NewBuilder(l)
		for k, val := range sd.meta.KVs {
			b.Set(k, val)
		}
		out = append(out, b.Labels().String()+" -> "+strconv.FormatInt(tt, 10)+" "+strconv.FormatFloat(v, 'g', -1, 64))
	}
	sort.Strings(out)
	return out
}

func want(b *relay.Batch) []string {
	var out []string
	for _, s := range b.Series {
		for _, smp := range s.Samples {
			out = append(out, s.Labels.String()+" -> "+strconv.FormatInt(smp.T, 10)+" "+strconv.FormatFloat(smp.V, 'g', -1, 64))
		}
	}
	sort.Strings(out)
	return out
}

func equal(t *testing.T, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d samples, want %d:\n%q\n%q", len(got), len(want), got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("sample %d:\n got %s\nwant %s", i, got[i], want[i])
		}
	}
}

func TestWriteScrape(t *testing.T) {
	root := t.TempDir()
	w, reg := newWriter(t, root)
	b := scrapeBatch(1700000000123, 0.5)
	if err := w.Write("acme", "plant-7", b); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node")
	dir := filepath.Join(target, "1700000000123000")
	sd := readScrape(t, dir)
	wantMeta := Meta{
		Account: "acme", Type: "node", IID: "10.0.0.1:9100", IsCompressed: true,
		KVs:     map[string]string{"instance": "10.0.0.1:9100", "job": "node", "site": "plant-7", "tenant": "acme"},
		DTS:     1700000000123,
		OLabels: map[string]string{"__address__": "10.0.0.1:9100", "job": "node"},
	}
	gotJS, _ := json.Marshal(sd.meta)
	wantJS, _ := json.Marshal(wantMeta)
	if !bytes.Equal(gotJS, wantJS) {
		t.Fatalf("json:\n got %s\nwant %s", gotJS, wantJS)
	}
	equal(t, sd.samples(t), want(b))
	if bytes.Contains(sd.text, []byte("job=")) || bytes.Contains(sd.text, []byte(" 1700000000123\n")) {
		t.Fatalf("kvs or dts not left out:\n%s", sd.text)
	}
	if !bytes.Contains(sd.text, []byte(" 1700000000122\n")) {
		t.Fatalf("timestamp other than dts missing:\n%s", sd.text)
	}
	if link, err := os.Readlink(filepath.Join(target, "latest")); err != nil || link != "1700000000123000" {
		t.Fatalf("latest -> %q, %v", link, err)
	}
	if n := metrictest.Value(t, reg, "edgerelay_files_written_total"); n != 1 {
		t.Fatalf("written_total = %v", n)
	}
	if _, err := os.Stat("/usr/bin/promtool"); err == nil {
		cmd := exec.Command("/usr/bin/promtool", "check", "metrics")
		cmd.Stdin = bytes.NewReader(sd.text)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("promtool check metrics: %v\n%s\n%s", err, out, sd.text)
		}
	}
}

func TestWriteRemoteWriteSplits(t *testing.T) {
	root := t.TempDir()
	w, _ := newWriter(t, root)
	b := &relay.Batch{Timestamp: 5000, Series: []relay.Series{
		ser(4000, 1, "__name__", "a", "job", "api", "instance", "h1:80"),
		ser(4500, 2, "__name__", "b", "job", "api", "instance", "h1:80"),
		ser(3000, 3, "__name__", "a", "job", "api", "instance", "h2:80"),
		ser(1000, 4, "__name__", "orphan", "x", "y"),
		{Labels: labels.FromStrings("__name__", "orphan", "x", "z"), Samples: []relay.Sample{{T: 1000, V: 5}, {T: 2000, V: math.Inf(-1)}}},
	}}
	if err := w.Write("acme", "plant-7", b); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dir, job, iid string
		dts           int64
		series        []int
	}{
		{"h1_80.api", "api", "h1:80", 4500, []int{0, 1}},
		{"h2_80.api", "api", "h2:80", 3000, []int{2}},
		{"unknown.remote_write", "remote_write", "unknown", 2000, []int{3, 4}},
	} {
		t.Run(tc.dir, func(t *testing.T) {
			sd := readScrape(t, filepath.Join(root, "acme", "plant-7", tc.dir, "5000000"))
			if sd.meta.Type != tc.job || sd.meta.IID != tc.iid || sd.meta.DTS != tc.dts {
				t.Fatalf("meta %+v, want job %s iid %s dts %d", sd.meta, tc.job, tc.iid, tc.dts)
			}
			sub := &relay.Batch{}
			for _, i := range tc.series {
				sub.Series = append(sub.Series, b.Series[i])
			}
			equal(t, sd.samples(t), want(sub))
		})
	}
}

func TestRejects(t *testing.T) {
	w, _ := newWriter(t, t.TempDir())
	for _, tc := range []struct {
		name   string
		tenant string
		b      *relay.Batch
	}{
		{"empty tenant", "", scrapeBatch(1000, 1)},
		{"negative timestamp", "acme", scrapeBatch(-1, 1)},
		{"timestamp overflowing µs", "acme", scrapeBatch(math.MaxInt64/10, 1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := w.Write(tc.tenant, "plant-7", tc.b); err == nil {
				t.Fatal("Write succeeded")
			}
		})
	}
	if _, err := New(Config{}); err == nil {
		t.Fatal("New without Dir succeeded")
	}
}
