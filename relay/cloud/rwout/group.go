package rwout

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/store"
)

var _ output.GroupOutput = (*Forwarder)(nil)

// DeliverAll is Deliver for several blocks at once (output.GroupOutput):
// their records go to the queue in one write, made durable by one sync;
// blocks already queued are skipped.
func (f *Forwarder) DeliverAll(_ context.Context, ds []*output.Delivery) error {
	if f.queue == nil {
		return errors.New("BUG: remote_write output delivered to before Open")
	}
	e := f.encs.get()
	defer f.encs.put(e)
	var todo []*output.Delivery
	var keys []deliveryKey
	for _, d := range ds {
		k := deliveryKey{d.Tenant, d.Site, d.QueueID, d.Seq}
		if f.recent.has(k) {
			f.m.skipped.Inc() // its first delivery may have failed at the sync below
			continue
		}
		todo, keys = append(todo, d), append(keys, k)
	}
	// The records of every block but the last, copied out of the encoder
	// one after another into buf (ends[i] is where record i ends); the
	// last block's stay in the encoder, which is not reused before the
	// queue took them.
	var buf []byte
	var ends, counts []int
	var metas []prompb.MetricMetadata
	var last [][]byte
	for i, d := range todo {
		n := len(metas)
		if f.meta != nil {
			for _, b := range d.Batches {
				metas = append(metas, f.meta.take(b)...)
			}
		}
		recs := e.encode(d, metas[n:])
		if i == len(todo)-1 {
			last = recs
			counts = append(counts, e.counts...)
			break
		}
		for j, r := range recs {
			buf = append(buf, r...)
			ends, counts = append(ends, len(buf)), append(counts, e.counts[j])
		}
	}
	if len(counts) > 0 {
		now := time.Now().UnixMilli()
		srecs := make([]store.Record, len(counts))
		start := 0
		for i, end := range ends {
			srecs[i] = store.Record{Data: buf[start:end:end], Samples: counts[i], Time: now}
			start = end
		}
		for i, r := range last {
			srecs[len(ends)+i] = store.Record{Data: r, Samples: counts[len(ends)+i], Time: now}
		}
		if err := f.append(srecs); err != nil {
			if f.meta != nil {
				f.meta.forget(metas)
			}
			return fmt.Errorf("queue: %w", err)
		}
	}
	// Queued, durable or not: a resend must not queue them again.
	for _, k := range keys {
		f.recent.add(k)
	}
	return f.sync()
}
