package ingest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay"
)

// decodeV1Reference decodes a remote_write 1.0 body with the generated
// protobuf code: the reference decodeV1 is checked against.
func decodeV1Reference(body []byte, receivedMs int64) (*relay.Batch, decodeStats, error) {
	var (
		req   prompb.WriteRequest
		stats decodeStats
	)
	if err := req.Unmarshal(body); err != nil {
		return nil, stats, badRequest("bad_protobuf", "body is not a protobuf prometheus.WriteRequest: %v", err)
	}
	if len(req.Timeseries) == 0 && len(req.Metadata) == 0 && len(req.XXX_unrecognized) > 0 {
		return nil, stats, badRequest("bad_protobuf", "body holds no prometheus.WriteRequest fields (a remote_write 2.0 body sent as 1.0?)")
	}
	b := &relay.Batch{Timestamp: receivedMs, Series: make([]relay.Series, 0, len(req.Timeseries))}
	sb := labels.NewScratchBuilder(8)
	for i := range req.Timeseries {
		ts := &req.Timeseries[i]
		sb.Reset()
		for _, l := range ts.Labels {
			sb.Add(l.Name, l.Value)
		}
		ls, err := finishLabels(&sb, i)
		if err != nil {
			return nil, stats, err
		}
		stats.histograms += len(ts.Histograms)
		stats.exemplars += len(ts.Exemplars)
		if len(ts.Samples)+len(ts.Histograms)+len(ts.Exemplars) == 0 {
			continue
		}
		sr := relay.Series{Labels: ls}
		for _, s := range ts.Samples {
			sr.Samples = append(sr.Samples, relay.Sample{T: s.Timestamp, V: s.Value})
		}
		sortSamples(sr.Samples)
		for j := range ts.Histograms {
			sr.Histograms = append(sr.Histograms, histogramV1(&ts.Histograms[j]))
		}
		sortHistogramSamples(sr.Histograms)
		if err := checkHistograms(sr.Histograms, i); err != nil {
			return nil, stats, err
		}
		var esb labels.ScratchBuilder
		for _, e := range ts.Exemplars {
			sr.Exemplars = append(sr.Exemplars, e.ToExemplar(&esb, nil))
		}
		b.Series = append(b.Series, sr)
	}
	for _, md := range req.Metadata {
		if md.MetricFamilyName == "" {
			continue
		}
		typ := model.MetricTypeUnknown
		if _, ok := prompb.MetricMetadata_MetricType_name[int32(md.Type)]; ok && md.Type != prompb.MetricMetadata_UNKNOWN {
			typ = model.MetricType(strings.ToLower(md.Type.String()))
		}
		if b.Metadata == nil {
			b.Metadata = make(map[string]relay.Metadata, len(req.Metadata))
		}
		b.Metadata[md.MetricFamilyName] = relay.Metadata{Type: string(typ), Help: md.Help, Unit: md.Unit}
	}
	return b, stats, nil
}

// BenchmarkDecodeV1 compares the wire decoder with the generated code on the
// same request (no HTTP, no snappy).
func BenchmarkDecodeV1(b *testing.B) {
	const nSeries = 2000
	req := &prompb.WriteRequest{}
	for i := range nSeries {
		req.Timeseries = append(req.Timeseries, v1Series([]prompb.Sample{{Value: float64(i), Timestamp: 1}},
			"__name__", "node_cpu_seconds_total", "cpu", fmt.Sprint(i%64), "mode", fmt.Sprint(i/64), "instance", "host:9100", "job", "node"))
	}
	raw := marshalV1(b, req)
	for _, bc := range []struct {
		name   string
		decode func([]byte, int64) (*relay.Batch, decodeStats, error)
	}{
		{"wire", func(body []byte, ms int64) (*relay.Batch, decodeStats, error) { return decodeV1(body, ms, nil) }},
		{"reference", decodeV1Reference},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := bc.decode(raw, 1); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*nSeries), "ns/sample")
		})
	}
}
