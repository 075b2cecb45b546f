package rwout

import (
	"fmt"
	"testing"

	"github.com/golang/snappy"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
)

// scrapeBatch is a scrape of n series with realistic label sets.
func scrapeBatch(n int, t0 int64) *relay.Batch {
	b := &relay.Batch{Timestamp: t0, Scrape: true}
	for i := 0; i < n; i++ {
		b.Series = append(b.Series, relay.Series{
			Labels: labels.FromStrings("__name__", "http_requests_total", "code", "200", "handler", fmt.Sprintf("/api/v1/h%d", i),
				"instance", "10.0.0.1:9100", "job", "node", "site", "plant-7", "tenant", "acme"),
			Samples: []relay.Sample{{T: t0, V: float64(i)}},
		})
	}
	return b
}

func testEncoder(t *testing.T) *encoder {
	f, err := New(cfg(t, "http://127.0.0.1:1/w", 2000), Options{})
	if err != nil {
		t.Fatal(err)
	}
	return f.encs.get()
}

// TestEncodeAllocatesNothingPerSample: in steady state encoding a block
// costs the same few allocations whatever its number of series.
func TestEncodeAllocatesNothingPerSample(t *testing.T) {
	e := testEncoder(t)
	allocs := func(n int) float64 {
		d := &output.Delivery{Tenant: "acme", Site: "s", QueueID: 1, Seq: 1, Batches: []*relay.Batch{scrapeBatch(n, 1000)}}
		e.encode(d, nil)
		return testing.AllocsPerRun(20, func() { e.encode(d, nil) })
	}
	small, large := allocs(100), allocs(5000)
	if large > small || large > 2 {
		t.Fatalf("encoding allocates %v times for 100 series, %v for 5000", small, large)
	}
}

// TestRecordRoundTrip: the items of encoded records, concatenated, are a
// WriteRequest holding every series.
func TestRecordRoundTrip(t *testing.T) {
	e := testEncoder(t)
	b := scrapeBatch(10000, 1000) // over maxRecordBytes: several records
	recs := e.encode(&output.Delivery{Tenant: "acme", Site: "s", QueueID: 5, Seq: 6, Batches: []*relay.Batch{b}}, nil)
	if len(recs) < 2 {
		t.Fatalf("%d records, want several", len(recs))
	}
	var body []byte
	samples := 0
	for i, r := range recs {
		h, items, err := openRecord(r)
		if err != nil || h.Tenant != "acme" || h.QueueID != 5 || h.Seq != 6 || h.Part != uint64(i) {
			t.Fatalf("record %d: %+v %v", i, h, err)
		}
		for len(items) > 0 {
			ih, field, rest, err := nextItem(items)
			if err != nil {
				t.Fatal(err)
			}
			samples += ih.Samples
			body, items = append(body, field...), rest
		}
		if e.counts[i] == 0 {
			t.Fatalf("record %d counts no samples", i)
		}
	}
	var req prompb.WriteRequest
	if err := req.Unmarshal(body); err != nil {
		t.Fatal(err)
	}
	if len(req.Timeseries) != 10000 || samples != 10000 {
		t.Fatalf("%d series, %d samples", len(req.Timeseries), samples)
	}
	for i, ts := range req.Timeseries {
		if !labels.Equal(prompbLabels(ts), b.Series[i].Labels) || ts.Samples[0].Value != float64(i) {
			t.Fatalf("series %d: %v", i, ts)
		}
	}
}

// FuzzRecord: whatever bytes a queue record holds, parsing it neither
// panics nor reads past it, and every item it yields is a length-delimited
// field of its own length.
func FuzzRecord(f *testing.F) {
	e := &encoder{f: &Forwarder{}, lb: labels.NewBuilder(labels.EmptyLabels())}
	for _, rec := range e.encode(&output.Delivery{Tenant: "t", Site: "s", QueueID: 1, Seq: 2, Batches: []*relay.Batch{scrapeBatch(3, 5)}},
		[]prompb.MetricMetadata{{MetricFamilyName: "x", Help: "h"}}) {
		f.Add(append([]byte(nil), rec...))
	}
	f.Add(snappy.Encode(nil, []byte{1, 0, 0}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, items, err := openRecord(data)
		if err != nil {
			return
		}
		for len(items) > 0 {
			_, field, rest, err := nextItem(items)
			if err != nil {
				return
			}
			if len(field) == 0 || len(rest) >= len(items) {
				t.Fatalf("item of %d bytes leaves %d of %d", len(field), len(rest), len(items))
			}
			items = rest
		}
	})
}

func BenchmarkEncode(b *testing.B) {
	e := &encoder{f: &Forwarder{}, lb: labels.NewBuilder(labels.EmptyLabels())}
	d := &output.Delivery{Tenant: "acme", Site: "s", QueueID: 1, Seq: 1, Batches: []*relay.Batch{scrapeBatch(10000, 1000)}}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		e.encode(d, nil)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*10000), "ns/sample")
}
