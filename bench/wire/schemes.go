package main

import (
	"fmt"
	"math"
	"sort"

	"github.com/golang/snappy"
	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay"
)

// A scheme encodes the scrapes of a workload into wire payloads and
// decodes them again. encode returns the payloads and, for each, the index
// of the first scrape it carries samples of.
type scheme struct {
	name   string
	encode func(scrapes []*relay.Batch) (payloads [][]byte, first []int)
	decode func(payloads [][]byte) (samples int)
	// framing is what the transport adds to each payload: a BLOCK frame's
	// type, length and sequence number (relay/transport/PROTOCOL.md).
	framing int
}

// blockFraming is a BLOCK frame's header: type u8, length u32, seq u64.
const blockFraming = 13

var (
	// zenc compresses remote_write + zstd requests.
	zenc, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1))
	zdec, _ = zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
)

// rwBatch is Prometheus' default queue_config.max_samples_per_send.
const rwBatch = 2000

func schemes() []scheme {
	return []scheme{
		{name: "edgerelay delta v3+zstd", encode: func(s []*relay.Batch) ([][]byte, []int) { return deltaEncode(s, delta.Version3) },
			decode: deltaDecode, framing: blockFraming},
		{name: "edgerelay delta v2+zstd", encode: func(s []*relay.Batch) ([][]byte, []int) { return deltaEncode(s, delta.Version) },
			decode: deltaDecode, framing: blockFraming},
		{name: "remote_write 1.0 (snappy)", encode: func(s []*relay.Batch) ([][]byte, []int) {
			return rwEncode(s, func(b []byte) []byte { return snappy.Encode(nil, b) })
		}, decode: func(p [][]byte) int { return rwDecode(p, snappy.Decode) }},
		{name: "remote_write 1.0 + zstd", encode: func(s []*relay.Batch) ([][]byte, []int) {
			return rwEncode(s, func(b []byte) []byte { return zenc.EncodeAll(b, nil) })
		}, decode: func(p [][]byte) int {
			return rwDecode(p, func(dst, b []byte) ([]byte, error) { return zdec.DecodeAll(b, dst[:0]) })
		}},
		{name: "edgerelay block codec v1", encode: codecEncode, decode: codecDecode, framing: blockFraming},
	}
}

// toScrapes converts batches to delta scrapes the way the edge does once
// per series: the canonical label key is built once and reused.
func toScrapes(batches []*relay.Batch) []*delta.Scrape {
	keys := map[string]string{}
	var buf []byte
	out := make([]*delta.Scrape, len(batches))
	for i, b := range batches {
		s := &delta.Scrape{Target: delta.TargetKey(b.Job, b.Instance), Timestamp: b.Timestamp,
			Series: make([]delta.Series, 0, len(b.Series))}
		for _, sr := range b.Series {
			id := sr.Labels.String()
			key, ok := keys[id]
			if !ok {
				buf = buf[:0]
				sr.Labels.Range(func(l labels.Label) { buf = delta.AppendLabel(buf, l.Name, l.Value) })
				key = string(buf)
				keys[id] = key
			}
			for _, smp := range sr.Samples {
				s.Series = append(s.Series, delta.Series{Labels: key, T: smp.T, V: math.Float64bits(smp.V)})
			}
		}
		for f, m := range b.Metadata {
			s.Metadata = append(s.Metadata, delta.Meta{Family: f, Type: m.Type, Help: m.Help, Unit: m.Unit})
		}
		sort.Slice(s.Metadata, func(a, c int) bool { return s.Metadata[a].Family < s.Metadata[c].Family })
		out[i] = s
	}
	return out
}

// deltaScrapes caches the conversion so it is not timed: at the edge it
// happens once per new series.
var deltaScrapes = map[*relay.Batch]*delta.Scrape{}

// deltaEncode encodes frames of the given version (delta.Version3 or
// delta.Version, which writes versions 1 and 2) into blocks as the edge
// queues them (block.Encode: the container, zstd with a 1 MiB window), a
// block per group of scrapes stamped within a second, as the edge's group
// commit gathers them. Each block's frames are passed to onBlock, if set,
// with the Sections of each.
func deltaEncode(batches []*relay.Batch, version int) ([][]byte, []int) {
	return deltaBlocks(batches, version, nil)
}

func deltaBlocks(batches []*relay.Batch, version int, onBlock func(first int, block []byte, secs []delta.Sections)) ([][]byte, []int) {
	enc := delta.NewEncoder(1)
	enc.SetVersion(version)
	var payloads [][]byte
	var first []int
	var frames [][]byte
	var secs []delta.Sections
	var start int64
	flush := func() {
		if len(frames) > 0 {
			p := block.Encode(nil, &relay.Block{Tenant: "acme", Site: "plant-7", Generation: enc.Generation(), Frames: frames})
			payloads = append(payloads, p)
			if onBlock != nil {
				onBlock(first[len(first)-1], p, secs)
			}
			frames, secs = nil, secs[:0]
		}
	}
	for i, b := range batches {
		s := deltaScrapes[b]
		if len(first) == 0 || b.Timestamp-start >= 1000 { // blocks of about one second of scrapes
			flush()
			start = b.Timestamp
			first = append(first, i)
		}
		frames = append(frames, enc.AppendFrame(nil, s))
		secs = append(secs, enc.LastSections())
	}
	flush()
	return payloads, first
}

func deltaDecode(payloads [][]byte) int {
	dec := delta.NewDecoder()
	n := 0
	for _, p := range payloads {
		b, err := block.Decode(p)
		if err != nil {
			panic(err)
		}
		for _, f := range b.Frames {
			s, err := dec.Apply(f)
			if err != nil {
				panic(fmt.Sprintf("BUG: delta decode: %v", err))
			}
			n += len(s.Series)
		}
	}
	return n
}

// rwEncode sends the samples in scrape order, rwBatch per request, each
// sample as one TimeSeries with all its labels, as Prometheus' queue
// manager does. Metadata is left out (Prometheus sends it separately).
func rwEncode(batches []*relay.Batch, compress func([]byte) []byte) ([][]byte, []int) {
	var payloads [][]byte
	var first []int
	req := &prompb.WriteRequest{Timeseries: make([]prompb.TimeSeries, 0, rwBatch)}
	reqFirst := -1
	var raw []byte
	flush := func() {
		if len(req.Timeseries) == 0 {
			return
		}
		size := req.Size()
		if cap(raw) < size {
			raw = make([]byte, size)
		}
		n, err := req.MarshalToSizedBuffer(raw[:size])
		if err != nil {
			panic(err)
		}
		payloads = append(payloads, compress(raw[size-n:size]))
		first = append(first, reqFirst)
		req.Timeseries = req.Timeseries[:0]
		reqFirst = -1
	}
	for i, b := range batches {
		for _, sr := range b.Series {
			for _, smp := range sr.Samples {
				if reqFirst < 0 {
					reqFirst = i
				}
				req.Timeseries = append(req.Timeseries, prompb.TimeSeries{
					Labels:  prompb.FromLabels(sr.Labels, nil),
					Samples: []prompb.Sample{{Value: smp.V, Timestamp: smp.T}},
				})
				if len(req.Timeseries) == rwBatch {
					flush()
				}
			}
		}
	}
	flush()
	return payloads, first
}

func rwDecode(payloads [][]byte, decompress func(dst, src []byte) ([]byte, error)) int {
	n := 0
	var raw []byte
	for _, p := range payloads {
		var err error
		raw, err = decompress(raw[:cap(raw)], p)
		if err != nil {
			panic(err)
		}
		var req prompb.WriteRequest
		if err := req.Unmarshal(raw); err != nil {
			panic(err)
		}
		for _, ts := range req.Timeseries {
			n += len(ts.Samples)
		}
	}
	return n
}

// codecEncode ships one relay block per scrape with the current block codec.
func codecEncode(batches []*relay.Batch) ([][]byte, []int) {
	payloads := make([][]byte, len(batches))
	first := make([]int, len(batches))
	for i, b := range batches {
		payloads[i] = block.Encode(nil, &relay.Block{Tenant: "acme", Site: "plant-7", Batches: []*relay.Batch{b}})
		first[i] = i
	}
	return payloads, first
}

func codecDecode(payloads [][]byte) int {
	n := 0
	for _, p := range payloads {
		b, err := block.Decode(p)
		if err != nil {
			panic(err)
		}
		n += b.Samples()
	}
	return n
}
