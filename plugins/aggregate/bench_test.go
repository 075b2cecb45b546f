package aggregate

import (
	"fmt"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/plugins/native"
	"github.com/edgerelay/edgerelay/sdk/abi"
)

// BenchmarkStream: 1000 counters of 10 instances, one sample each per
// batch, batches 15 s apart, aggregated by job into sum and rate over 1m.
func BenchmarkStream(b *testing.B) {
	st, err := New([]byte(`{"interval": "1m", "without": ["instance", "cpu"], "outputs": ["sum", "rate"], "keep_input": false, "delay": "0s"}`))
	if err != nil {
		b.Fatal(err)
	}
	const n = 1000
	req := &native.Request{Samples: &abi.Samples{}}
	for i := range n {
		req.NewRefs = append(req.NewRefs, uint32(i))
		req.NewLabels = append(req.NewLabels, labels.FromStrings("__name__", "node_cpu_seconds_total", "job", "node",
			"instance", fmt.Sprint(i%10), "cpu", fmt.Sprint(i/10), "mode", "idle"))
	}
	var resp native.Response
	b.ReportAllocs()
	for k := 0; b.Loop(); k++ {
		req.Samples.Reset()
		for i := range n {
			req.Samples.Append(uint32(i), int64(7000+15000*k), float64(k*i))
		}
		resp.Reset()
		if err := st.Stream(req, &resp); err != nil {
			b.Fatal(err)
		}
		req.NewRefs, req.NewLabels = req.NewRefs[:0], req.NewLabels[:0]
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sample")
}
