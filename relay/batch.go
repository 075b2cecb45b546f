// Package relay holds the types every part of edgerelay shares: a Batch of
// series as it moves from ingest through the plugin chain, the queue and the
// uplink to the cloud, and the sentinel errors parts decide on.
//
// Values of these types are not safe for concurrent mutation; a Batch is
// owned by one goroutine at a time and handed over, never shared.
package relay

import (
	"github.com/prometheus/prometheus/model/exemplar"
	"github.com/prometheus/prometheus/model/histogram"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/value"
)

// Sample is one float sample: a timestamp in milliseconds since the Unix
// epoch and its value. Value bits are kept exactly, NaN payloads included
// (Prometheus' staleness marker is a NaN with a particular payload).
type Sample struct {
	T int64
	V float64
}

// HistogramSample is one native histogram sample: a timestamp in
// milliseconds and exactly one of H (integer counts) or FH (float counts).
// Every field is carried exactly: schema, zero threshold and count, spans,
// buckets, custom values and the counter reset hint. A staleness marker is
// a histogram whose Sum is the staleness NaN (value.IsStaleNaN).
type HistogramSample struct {
	T  int64
	H  *histogram.Histogram
	FH *histogram.FloatHistogram
}

// IsStale reports whether h is a staleness marker: its sum is Prometheus'
// StaleNaN. A sample holding no histogram is not.
func (h *HistogramSample) IsStale() bool {
	switch {
	case h.H != nil:
		return value.IsStaleNaN(h.H.Sum)
	case h.FH != nil:
		return value.IsStaleNaN(h.FH.Sum)
	}
	return false
}

// Exemplar is an exemplar of a series: its own labels (trace_id, ...),
// value and, when HasTs, timestamp in milliseconds.
type Exemplar = exemplar.Exemplar

// Series is one label set and its samples in timestamp order. A series
// carries float Samples, native Histograms, or (rarely) both; Exemplars
// ride along with either.
type Series struct {
	Labels     labels.Labels
	Samples    []Sample
	Histograms []HistogramSample
	Exemplars  []Exemplar
}

// Metadata is what a scrape says about a metric family: its type
// ("counter", "gauge", "histogram", "summary", "untyped", ...), help and unit.
type Metadata struct {
	Type string
	Help string
	Unit string
}

// Batch is the unit that moves through edgerelay: the series of one scrape
// of one target, or of one remote_write request.
type Batch struct {
	// Scrape is true when the batch is one complete scrape of one target:
	// the cloud writes it as one directory. A remote_write batch has no
	// scrape boundary and the cloud splits it by (job, instance).
	Scrape bool
	// Job and Instance name the scraped target; empty for remote_write.
	// At the edge they start as the target's job and instance labels; the
	// plugin chain replaces them with what it made of the target's labels
	// before the batch is queued, so they never carry what it rewrote.
	Job, Instance string
	// Timestamp is the scrape's default timestamp in milliseconds; for
	// remote_write it is the time the request was received.
	Timestamp int64
	// TargetLabels are the scraped target's labels (the zstats "olabels"):
	// those of its up series, after relabel_configs and the plugin chain.
	// Discovered labels (__address__, __meta_*, ...) are never among them.
	// May be empty.
	TargetLabels labels.Labels
	// Series holds the samples. Labels include __name__.
	Series []Series
	// Metadata maps a metric family name to its metadata, where known.
	Metadata map[string]Metadata
}

// Samples returns the number of samples in b: float and native histogram
// samples (exemplars are not samples), as Prometheus counts them.
func (b *Batch) Samples() int {
	n := 0
	for i := range b.Series {
		n += len(b.Series[i].Samples) + len(b.Series[i].Histograms)
	}
	return n
}

// Block is what the edge queues and ships: the batches of one group commit,
// with the identity of the edge that produced them. The cloud trusts
// Tenant only after it has authenticated the sender.
type Block struct {
	Tenant  string
	Site    string
	Batches []*Batch
	// Frames holds scrapes delta-encoded by package internal/wire/delta, in the order
	// the edge encoded them; every frame belongs to Generation. The cloud
	// applies them to its per-target bases to rebuild the scrapes. Batches
	// holds what is sent whole (remote_write, and scrapes that do not fit
	// the delta model).
	Generation uint64
	Frames     [][]byte
}

// Samples returns the number of samples in all batches of b (frames are
// counted once the cloud has rebuilt them).
func (b *Block) Samples() int {
	n := 0
	for _, bt := range b.Batches {
		n += bt.Samples()
	}
	return n
}
