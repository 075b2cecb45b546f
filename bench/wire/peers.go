package main

import (
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"strconv"
	"strings"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/synth"
)

// peersWorkload is bench/peers' default workload: node_exporter (the
// recorded scrapes, in turn) and synthetic targets of the given series
// (bench/live/target, package relay/synth: a target of n series serves
// n/2 per family, 2·(n/2)+13 samples), every target scraped each interval
// ms at its own offset in the interval, as Prometheus spreads them, so
// each scrape goes in a block of its own as at the edge. Each scrape also
// carries the five series a Prometheus scrape adds (up, scrape_*).
func peersWorkload(node *workload, synthSeries []int, n int, interval int64, seed uint64) *workload {
	rng := rand.New(rand.NewPCG(seed, 2))
	targets := make([]*synth.Target, len(synthSeries))
	for i, s := range synthSeries {
		targets[i] = &synth.Target{Series: s / 2}
	}
	step := interval / int64(len(targets)+1)
	w := &workload{name: "peers " + seriesNames(synthSeries), targets: 1 + len(synthSeries)}
	intern := map[string]labels.Labels{}
	prev := map[string]int{}
	for k := range n {
		// From the recorded scrapes' time: the parser drops samples
		// stamped more than 10 minutes ahead of now.
		ts := node.scrapes[0].Timestamp + int64(k)*interval
		nb := *node.scrapes[k%len(node.scrapes)]
		nb.Timestamp = ts + int64(rng.IntN(20))
		nb.Series = retime(nb.Series, nb.Timestamp)
		w.scrapes = append(w.scrapes, withScrapeSeries(&nb, rng, prev))
		for i, t := range targets {
			rec := httptest.NewRecorder()
			t.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
			at := ts + step*int64(i+1) + int64(rng.IntN(20))
			b, err := parseText(rec.Body.Bytes(), at, "synth", "127.0.0.1:"+strconv.Itoa(9101+i))
			if err != nil {
				panic(fmt.Sprintf("BUG: parse synthetic target: %v", err))
			}
			for j := range b.Series {
				key := b.Series[j].Labels.String()
				if l, ok := intern[key]; ok {
					b.Series[j].Labels = l
				} else {
					intern[key] = b.Series[j].Labels
				}
			}
			w.scrapes = append(w.scrapes, withScrapeSeries(b, rng, prev))
		}
	}
	return w
}

// retime returns a copy of series with every sample at ts.
func retime(series []relay.Series, ts int64) []relay.Series {
	out := make([]relay.Series, len(series))
	for i, s := range series {
		out[i] = relay.Series{Labels: s.Labels, Samples: make([]relay.Sample, len(s.Samples))}
		for j, p := range s.Samples {
			out[i].Samples[j] = relay.Sample{T: ts, V: p.V}
		}
	}
	return out
}

// withScrapeSeries adds the series Prometheus' scrape adds: up,
// scrape_duration_seconds (a full-precision float), scrape_samples_scraped,
// scrape_samples_post_metric_relabeling and scrape_series_added.
func withScrapeSeries(b *relay.Batch, rng *rand.Rand, prev map[string]int) *relay.Batch {
	n := b.Samples()
	inst := b.Job + "/" + b.Instance
	added := n
	if _, ok := prev[inst]; ok {
		added = 0
	}
	prev[inst] = n
	vals := []struct {
		name string
		v    float64
	}{{"up", 1}, {"scrape_duration_seconds", 0.002 + rng.Float64()*0.3}, {"scrape_samples_scraped", float64(n)},
		{"scrape_samples_post_metric_relabeling", float64(n)}, {"scrape_series_added", float64(added)}}
	for _, v := range vals {
		b.Series = append(b.Series, relay.Series{Labels: labels.FromStrings("__name__", v.name, "instance", b.Instance, "job", b.Job),
			Samples: []relay.Sample{{T: b.Timestamp, V: v.v}}})
	}
	return b
}

func seriesNames(ns []int) string {
	var parts []string
	for _, n := range ns {
		if n%1000 == 0 {
			parts = append(parts, strconv.Itoa(n/1000)+"k")
		} else {
			parts = append(parts, strconv.Itoa(n))
		}
	}
	return "node+" + strings.Join(parts, "+")
}

// parseSeriesList parses "10k,10k,100k".
func parseSeriesList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		mul := 1
		if strings.HasSuffix(f, "k") {
			f, mul = strings.TrimSuffix(f, "k"), 1000
		}
		n, err := strconv.Atoi(f)
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("-peers-synth: %q is not a series count", f)
		}
		out = append(out, n*mul)
	}
	return out, nil
}
