package delta_test

import (
	"fmt"
	"math"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
)

func Example() {
	up := string(delta.AppendLabel(delta.AppendLabel(nil, "__name__", "up"), "job", "node"))
	reqs := string(delta.AppendLabel(nil, "__name__", "http_requests_total"))
	target := delta.TargetKey("node", "host:9100")

	enc := delta.NewEncoder(1)
	dec := delta.NewDecoder()
	for i, ts := range []int64{15000, 30000, 45000} {
		s := &delta.Scrape{Target: target, Timestamp: ts, Series: []delta.Series{
			{Labels: up, T: ts, V: math.Float64bits(1)},
			{Labels: reqs, T: ts, V: math.Float64bits(float64(1000 + 7*i))},
		}}
		frame := enc.AppendFrame(nil, s)
		got, err := dec.Apply(frame)
		if err != nil {
			panic(err)
		}
		fmt.Printf("frame %d: %d bytes, %d series, requests=%v\n", i, len(frame), len(got.Series),
			math.Float64frombits(got.Series[1].V))
	}
	// Output:
	// frame 0: 83 bytes, 2 series, requests=1000
	// frame 1: 33 bytes, 2 series, requests=1007
	// frame 2: 33 bytes, 2 series, requests=1014
}
