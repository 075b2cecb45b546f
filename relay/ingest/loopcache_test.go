package ingest

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// TestLoopCacheWithoutMaps scrapes the same changing bodies with two
// loops, one whose cache drops its maps and spare lists after steady
// scrapes (as every cache does) and one whose cache keeps them, and wants
// the same batches
// from both: series added in the middle, gone, reordered, exposed twice,
// dropped by metric relabelling, named like a report series, and a failed
// scrape in between.
func TestLoopCacheWithoutMaps(t *testing.T) {
	const base = "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"2\"} 2\nb 3\nc 4\n"
	bodies := []string{
		base, base, base,
		"a{x=\"1\"} 1\na{x=\"1.5\"} 5\na{x=\"2\"} 2\nb 3\nc 4\n", // added in the middle
		"a{x=\"1\"} 1\na{x=\"1.5\"} 5\na{x=\"2\"} 2\nb 3\nc 4\n",
		"a{x=\"1\"} 1\na{x=\"1.5\"} 6\nb 3\nc 4\n", // a{x="2"} gone
		"a{x=\"1\"} 1\na{x=\"1.5\"} 6\nb 3\nc 4\n",
		"c 4\na{x=\"1.5\"} 6\na{x=\"1\"} 1\n", // reordered
		"c 4\na{x=\"1.5\"} 6\na{x=\"1\"} 1\n",
		"",                                                  // HTTP 500
		"c 4\na{x=\"1.5\"} 6\na{x=\"1\"} 1\na{x=\"1\"} 7\n", // exposed twice
		base, base,
		base + "up 5\n", // a report series' name
		base + "up 5\n", base, base,
	}
	job := loopJob("%s", "metric_relabel_configs: [{source_labels: [__name__], regex: b, action: drop}]")
	var got [2][]string
	for i, keep := range []bool{false, true} {
		lt := newLoopTarget(t, base)
		l, _, sink, _ := testLoop(t, fmt.Sprintf(job, lt.addr()))
		l.cache.keep = keep
		dropped := false
		for n, body := range bodies {
			lt.set(func(lt *loopTarget) {
				lt.body, lt.status = body, 200
				if body == "" {
					lt.status = 500
				}
			})
			b := scrapeAt(t, l, sink, int64(n+1)*1000)
			dropped = dropped || l.cache.entries == nil
			got[i] = append(got[i], batchString(b))
		}
		if dropped == keep {
			t.Fatalf("keep=%v: the cache's map of entries was dropped: %v", keep, dropped)
		}
	}
	for n := range bodies {
		if got[0][n] != got[1][n] {
			t.Errorf("scrape %d: without maps\n%s\nwith maps\n%s", n+1, got[0][n], got[1][n])
		}
	}
}

// batchString lists b's series and samples in order, without the
// scrape's duration and the instance label.
func batchString(b *relay.Batch) string {
	var sb strings.Builder
	for _, s := range b.Series {
		if s.Labels.Get("__name__") == "scrape_duration_seconds" {
			continue
		}
		fmt.Fprintf(&sb, "%s", labels.NewBuilder(s.Labels).Del("instance").Labels())
		for _, smp := range s.Samples {
			fmt.Fprintf(&sb, " %d:%x", smp.T, math.Float64bits(smp.V))
		}
		sb.WriteByte('\n')
	}
	return sb.String()
}
