package main

import (
	"context"
	"fmt"
	"os"

	"github.com/prometheus/prometheus/model/labels"
	"go.yaml.in/yaml/v3"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/plugins/host"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
)

// fleet measures what a fleet of hosts node_exporter scrapes (the recorded
// scrapes, replayed 15 s apart, instance and values varied per host) costs
// on the wire without a plugin stage and with builtin:aggregate summing
// every metric without instance and cpu, keep_input false: the scrapes,
// left empty, are not shipped (the edge ships no empty scrape); the
// aggregates go as the edge ships them, whole batches in the block codec
// (zstd-compressed, as block.Encode does), and, for comparison, as delta
// frames of one target. It prints the three and exits.
func fleet(dir string, hosts int) {
	w, err := loadNodeExporter(dir)
	if err != nil {
		fmt.Fprintln(os.Stderr, "wire:", err)
		os.Exit(1)
	}
	var cfgNode yaml.Node
	_ = yaml.Unmarshal([]byte(`{interval: 1m, without: [instance, cpu], outputs: [sum], keep_input: false, delay: 0s}`), &cfgNode)
	chain, err := host.NewChain(context.Background(), []config.PluginConfig{{Name: "agg", Module: "builtin:aggregate", Config: *cfgNode.Content[0]}}, host.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "wire:", err)
		os.Exit(1)
	}
	var raw, kept, derived []*relay.Batch
	inSamples := 0
	for r, src := range w.scrapes {
		ts := int64(1_800_000_000_000) + int64(r)*15000
		for h := range hosts {
			inst := fmt.Sprintf("host-%d:9100", h)
			b := &relay.Batch{Scrape: true, Job: "node", Instance: inst, Timestamp: ts, Metadata: src.Metadata}
			for _, s := range src.Series {
				ns := relay.Series{Labels: labels.NewBuilder(s.Labels).Set("instance", inst).Labels()}
				for _, p := range s.Samples {
					ns.Samples = append(ns.Samples, relay.Sample{T: ts, V: p.V * (1 + float64(h)/100)})
				}
				b.Series = append(b.Series, ns)
			}
			inSamples += b.Samples()
			cp := *b
			cp.Series = append([]relay.Series(nil), b.Series...)
			raw = append(raw, &cp)
			if err := chain.Process(context.Background(), b); err != nil {
				fmt.Fprintln(os.Stderr, "wire:", err)
				os.Exit(1)
			}
			if len(b.Series) > 0 {
				kept = append(kept, b)
			}
			if d := chain.TakeDerived(); d != nil {
				derived = append(derived, d)
			}
		}
	}
	for _, set := range [][]*relay.Batch{raw, kept} {
		for _, b := range set {
			deltaScrapes[b] = toScrapes([]*relay.Batch{b})[0]
		}
	}
	rawP, _ := deltaEncode(raw, delta.Version3)
	var keptP [][]byte
	if len(kept) > 0 {
		keptP, _ = deltaEncode(kept, delta.Version3)
	}
	derP, _ := codecEncode(derived)
	derD := aggregatesAsFrames(derived)
	dn := 0
	for _, d := range derived {
		dn += d.Samples()
	}
	minutes := float64(len(w.scrapes)) * 15 / 60
	fmt.Printf("hosts=%d scrapes=%d (15 s apart) input samples=%d\n", hosts, len(w.scrapes), inSamples)
	fmt.Printf("no stage (delta+zstd): %d bytes, %.3f B/input sample, %.0f B/host/min\n", size(rawP), float64(size(rawP))/float64(inSamples), float64(size(rawP))/float64(hosts)/minutes)
	fmt.Printf("keep_input false: scrapes (up, unmatched) %d bytes + aggregates %d bytes (%d samples, block codec) = %.4f B/input sample, %.0f B/host/min\n",
		size(keptP), size(derP), dn, float64(size(keptP)+size(derP))/float64(inSamples), float64(size(keptP)+size(derP))/float64(hosts)/minutes)
	fmt.Printf("aggregates as delta frames of one target (delta+zstd, a block per window): %d bytes = %.4f B/input sample, %.0f B/host/min with the scrapes\n",
		size(derD), float64(size(derD))/float64(inSamples), float64(size(keptP)+size(derD))/float64(hosts)/minutes)
	os.Exit(0)
}

// aggregatesAsFrames delta-encodes the emitted batches as the scrapes of
// one target, a batch per window: what the aggregates would cost shipped
// through the delta codec as scraped series are. Each window's batch holds
// one sample per output series (delay 0s), as a frame needs.
func aggregatesAsFrames(derived []*relay.Batch) [][]byte {
	var as []*relay.Batch
	for _, d := range derived {
		b := &relay.Batch{Scrape: true, Job: "edgerelay_aggregate", Series: d.Series, Metadata: d.Metadata}
		for _, sr := range d.Series {
			if len(sr.Samples) != 1 {
				fmt.Fprintf(os.Stderr, "wire: an emitted batch holds %d samples of %s; a frame holds one\n", len(sr.Samples), sr.Labels)
				os.Exit(1)
			}
			b.Timestamp = max(b.Timestamp, sr.Samples[0].T)
		}
		deltaScrapes[b] = toScrapes([]*relay.Batch{b})[0]
		as = append(as, b)
	}
	p, _ := deltaEncode(as, delta.Version3)
	return p
}
