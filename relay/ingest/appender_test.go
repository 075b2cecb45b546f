package ingest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/metadata"
	"github.com/prometheus/prometheus/model/value"
	"github.com/prometheus/prometheus/storage"

	"github.com/edgerelay/edgerelay/internal/histtest"
	"github.com/edgerelay/edgerelay/internal/metrictest"
	"github.com/edgerelay/edgerelay/relay"
)

func newTestAppendable(sink Sink) (*appendable, *prometheus.Registry) {
	reg := prometheus.NewRegistry()
	ingested, _ := registerCounterVec(reg, ingestedSamplesOpts, "source")
	rejected, _ := registerCounterVec(reg, prometheus.CounterOpts{Name: "edgerelay_scrape_rejected_samples_total", Help: "x"}, "reason")
	return &appendable{sink: sink, ingested: ingested.WithLabelValues(sourceScrape), rejected: rejected}, reg
}

func TestAppenderBatch(t *testing.T) {
	sink := newRecordingSink()
	a, reg := newTestAppendable(sink)
	app := a.AppenderV2(context.Background())
	stale := math.Float64frombits(value.StaleNaN)
	gauge := storage.AOptions{MetricFamilyName: "temp", Metadata: metadata.Metadata{Type: model.MetricTypeGauge, Help: "T."}}
	upMeta := storage.AOptions{MetricFamilyName: "up", Metadata: metadata.Metadata{Type: model.MetricTypeGauge, Help: "Health."}}
	x := labels.FromStrings("__name__", "temp", "instance", "h:1", "job", "j", "room", "x")
	y := labels.FromStrings("__name__", "temp", "instance", "h:1", "job", "j", "room", "y")
	up := labels.FromStrings("__name__", "up", "instance", "h:1", "job", "j")

	refX, _ := app.Append(0, x, 0, 1000, 1, nil, nil, gauge)
	if _, err := app.Append(0, y, 0, 1000, stale, nil, nil, gauge); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(refX, x, 0, 2000, 2, nil, nil, gauge); err != nil { // explicit timestamps: same series again
		t.Fatal(err)
	}
	hist := &histogram.Histogram{Schema: 1, Count: 3, Sum: 2.5, PositiveSpans: []histogram.Span{{Offset: 1, Length: 2}}, PositiveBuckets: []int64{1, 1}}
	ex := []exemplar.Exemplar{{Labels: labels.FromStrings("trace_id", "t1"), Value: 1.5, Ts: 900, HasTs: true}}
	if _, err := app.Append(0, labels.FromStrings("__name__", "h"), 0, 1000, 0, hist, nil, storage.AOptions{Exemplars: ex}); err != nil {
		t.Fatalf("histogram append: %v", err)
	}
	ex[0].Value = 99 // the scrape loop reuses its exemplar slice
	hist.Count = 99  // and a histogram is not the appender's to keep
	if _, err := app.Append(0, up, 0, 1500, 1, nil, nil, upMeta); err != nil {
		t.Fatal(err)
	}
	if refX == 0 {
		t.Error("Append returned ref 0")
	}
	if err := app.Commit(); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Append(0, x, 0, 3000, 3, nil, nil, gauge); !errors.Is(err, errAppenderDone) {
		t.Errorf("Append after Commit: %v", err)
	}
	bs := sink.all()
	if len(bs) != 1 {
		t.Fatalf("%d batches, want 1", len(bs))
	}
	b := bs[0]
	if !b.Scrape || b.Job != "j" || b.Instance != "h:1" || b.Timestamp != 1000 {
		t.Errorf("header = scrape %v job %q instance %q ts %d", b.Scrape, b.Job, b.Instance, b.Timestamp)
	}
	if len(b.Series) != 4 {
		t.Fatalf("series = %d, want 4: %+v", len(b.Series), b.Series)
	}
	hs := b.Series[2]
	wantH := &histogram.Histogram{Schema: 1, Count: 3, Sum: 2.5, PositiveSpans: []histogram.Span{{Offset: 1, Length: 2}}, PositiveBuckets: []int64{1, 1}}
	if len(hs.Samples) != 0 || len(hs.Histograms) != 1 || hs.Histograms[0].T != 1000 || histtest.DiffHistogram(wantH, hs.Histograms[0].H) != "" {
		t.Errorf("histogram series = %+v", hs)
	}
	if d := histtest.DiffExemplars([]exemplar.Exemplar{{Labels: labels.FromStrings("trace_id", "t1"), Value: 1.5, Ts: 900, HasTs: true}}, hs.Exemplars); d != "" {
		t.Errorf("exemplars: %s", d)
	}
	if got := b.Series[0].Samples; len(got) != 2 || got[0] != (relay.Sample{T: 1000, V: 1}) || got[1] != (relay.Sample{T: 2000, V: 2}) {
		t.Errorf("room x samples = %v", got)
	}
	if got := b.Series[1].Samples; len(got) != 1 || math.Float64bits(got[0].V) != value.StaleNaN {
		t.Errorf("stale marker changed: %v", got)
	}
	if got := b.Metadata["temp"]; got.Type != "gauge" || got.Help != "T." {
		t.Errorf("metadata temp = %+v", got)
	}
	if _, ok := b.Metadata["up"]; !ok {
		t.Errorf("metadata keys %v lack up", b.Metadata)
	}
	if got := metrictest.Value(t, reg, "edgerelay_ingested_samples_total"); got != 5 {
		t.Errorf("ingested = %v, want 5", got)
	}
}

func TestAppenderCommitError(t *testing.T) {
	sink := newRecordingSink()
	sink.setFail(func(*relay.Batch) error { return fmt.Errorf("append: %w", relay.ErrQueueFull) })
	a, reg := newTestAppendable(sink)
	app := a.AppenderV2(context.Background())
	if _, err := app.Append(0, labels.FromStrings("__name__", "m"), 0, 1, 1, nil, nil, storage.AOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); !errors.Is(err, relay.ErrQueueFull) {
		t.Errorf("Commit = %v, want ErrQueueFull", err)
	}
	if got := metrictest.Value(t, reg, "edgerelay_scrape_rejected_samples_total", "reason", "submit_failed"); got != 1 {
		t.Errorf("rejected = %v, want 1", got)
	}
}

func TestAppenderRollback(t *testing.T) {
	sink := newRecordingSink()
	a, _ := newTestAppendable(sink)
	app := a.AppenderV2(context.Background())
	_, _ = app.Append(0, labels.FromStrings("__name__", "m"), 0, 1, 1, nil, nil, storage.AOptions{})
	if err := app.Rollback(); err != nil {
		t.Fatal(err)
	}
	if err := app.Commit(); err == nil {
		t.Error("Commit after Rollback succeeded")
	}
	if n := len(sink.all()); n != 0 {
		t.Errorf("sink got %d batches after Rollback", n)
	}
}
