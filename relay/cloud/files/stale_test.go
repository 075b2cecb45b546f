package files

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"

	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay"
)

var staleNaN = math.Float64frombits(value.StaleNaN)

// TestStaleMarkersNotWritten writes a scrape in which two series went
// away (staleness markers, as Prometheus' scrape code appends them): the
// file holds exactly the series the target served, the markers count
// neither for kvs nor for dts, and the caller's batch keeps its markers.
func TestStaleMarkersNotWritten(t *testing.T) {
	root := t.TempDir()
	w, _ := newWriter(t, root)
	b := scrapeBatch(1700000000000, 0.5)
	served := len(b.Series)
	// Gone series: one without the site label (it would take site out of
	// kvs), one as a stale native histogram.
	b.Series = append(b.Series,
		ser(1700000000000, staleNaN, "__name__", "node_gone", "instance", "10.0.0.1:9100", "job", "node"),
		relay.Series{Labels: labels.FromStrings("__name__", "node_hist", "job", "other"),
			Histograms: []relay.HistogramSample{{T: 1700000000000, H: &histogram.Histogram{Sum: staleNaN}}}},
	)
	// A served series whose earlier sample is a marker keeps its value.
	b.Series[0].Samples = append([]relay.Sample{{T: 1699999999000, V: staleNaN}}, b.Series[0].Samples...)
	before := len(b.Series)
	if err := w.Write("acme", "plant-7", b); err != nil {
		t.Fatal(err)
	}
	sd := readScrape(t, filepath.Join(root, "acme", "plant-7", "10.0.0.1_9100.node", "1700000000000000"))
	if bytes.Contains(sd.text, []byte("NaN")) || bytes.Contains(sd.text, []byte("node_gone")) {
		t.Fatalf("staleness marker written as a value:\n%s", sd.text)
	}
	equal(t, sd.samples(t), want(scrapeBatch(1700000000000, 0.5)))
	if sd.meta.KVs["site"] != "plant-7" || sd.meta.KVs["job"] != "node" || sd.meta.KVs["instance"] != "10.0.0.1:9100" {
		t.Fatalf("kvs %v: a gone series counted for the common labels", sd.meta.KVs)
	}
	if len(b.Series) != before || len(b.Series[0].Samples) != 2 || !value.IsStaleNaN(b.Series[served].Samples[0].V) {
		t.Fatal("Write changed the caller's batch")
	}
}

// TestStaleOnlyScrapeWritesNothing: a target gone from discovery gets a
// batch of nothing but markers; it was not a scrape, so no directory.
func TestStaleOnlyScrapeWritesNothing(t *testing.T) {
	root := t.TempDir()
	w, reg := newWriter(t, root)
	b := scrapeBatch(1700000000000, 0.5)
	for i := range b.Series {
		b.Series[i].Samples[0].V = staleNaN
	}
	if err := w.Write("acme", "plant-7", b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "acme")); !os.IsNotExist(err) {
		t.Fatalf("a batch of markers only created the tenant directory (%v)", err)
	}
	if n := metrictest.Value(t, reg, "edgerelay_files_written_total"); n != 0 {
		t.Fatalf("written_total = %v", n)
	}
}

// TestStaleRemoteWrite splits a remote_write batch holding markers: the
// dts of a target is its newest sample that is not a marker, and a target
// whose series all went stale gets no directory.
func TestStaleRemoteWrite(t *testing.T) {
	root := t.TempDir()
	w, _ := newWriter(t, root)
	b := &relay.Batch{Timestamp: 9000, Series: []relay.Series{
		{Labels: labels.FromStrings("__name__", "a", "job", "api", "instance", "h1:80"),
			Samples: []relay.Sample{{T: 4000, V: 1}, {T: 6000, V: staleNaN}}},
		ser(4000, 2, "__name__", "b", "job", "api", "instance", "h1:80"),
		ser(7000, staleNaN, "__name__", "c", "job", "api", "instance", "h1:80", "zone", "x"),
		ser(5000, staleNaN, "__name__", "a", "job", "api", "instance", "h2:80"),
	}}
	if err := w.Write("acme", "plant-7", b); err != nil {
		t.Fatal(err)
	}
	sd := readScrape(t, filepath.Join(root, "acme", "plant-7", "h1_80.api", "9000000"))
	if sd.meta.DTS != 4000 {
		t.Fatalf("dts %d, want 4000: a marker's timestamp counted", sd.meta.DTS)
	}
	equal(t, sd.samples(t), want(&relay.Batch{Series: []relay.Series{
		ser(4000, 1, "__name__", "a", "job", "api", "instance", "h1:80"),
		ser(4000, 2, "__name__", "b", "job", "api", "instance", "h1:80"),
	}}))
	if _, err := os.Stat(filepath.Join(root, "acme", "plant-7", "h2_80.api")); !os.IsNotExist(err) {
		t.Fatalf("a target with markers only got a directory (%v)", err)
	}
}

// TestWithoutStaleNoMarkers: a batch without markers is used as it is.
func TestWithoutStaleNoMarkers(t *testing.T) {
	b := scrapeBatch(1000, math.NaN()) // a plain NaN is a value, not a marker
	if withoutStale(b) != b {
		t.Fatal("a batch without markers was copied")
	}
}
