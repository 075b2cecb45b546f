package host

import (
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// The identity of a scrape batch (Job, Instance, TargetLabels) is what the
// series-level chain made of the target's own label set, so that nothing the
// chain rewrites (an anonymized instance, a dropped label) crosses the wire
// in the batch's header. The rules, applied by Process to every scrape batch
// when the chain has series-level stages:
//
//   - The input is the target's label set as its "up" series carries it:
//     TargetLabels (job and instance included) with __name__="up"; a batch
//     without TargetLabels uses its job and instance. Because it is the up
//     series' label set, the memo answers it for free once the up series
//     went through the chain.
//   - Kept by the chain: TargetLabels becomes the output without __name__,
//     Job and Instance its job and instance labels ("" when the chain
//     removed them).
//   - Dropped by the chain (a filter keeping only some metric names drops
//     "up"): the identity is taken from the first series of the batch that
//     the chain kept (the series of a target carry its job and instance):
//     Job and Instance are its job and instance, TargetLabels its labels
//     named like the target's labels. When no series was kept, Job, Instance
//     and TargetLabels are empty: the batch has nothing to ship.
//
// Either way every value comes out of the chain; nothing from its input is
// kept. The answer is remembered per target, so a steady scrape pays one
// comparison of the target's labels.

// identAnswer is what the chain made of a target's label set.
type identAnswer struct {
	in      labels.Labels // the input (identityInput)
	out     labels.Labels // the output without __name__, when kept
	dropped bool
}

// identityInput returns the label set the chain derives b's identity from.
func identityInput(b *relay.Batch) labels.Labels {
	lb := labels.NewBuilder(b.TargetLabels)
	if b.TargetLabels.IsEmpty() {
		lb.Set(model.JobLabel, b.Job)
		lb.Set(model.InstanceLabel, b.Instance)
	}
	lb.Set(labels.MetricName, "up")
	return lb.Labels()
}

// answerOf turns the chain's result for in into an identAnswer.
func answerOf(in labels.Labels, r result) identAnswer {
	if r.stage >= 0 {
		return identAnswer{in: in, dropped: true}
	}
	return identAnswer{in: in, out: labels.NewBuilder(r.out).Del(labels.MetricName).Labels()}
}

// deriveIdentity sets b's Job, Instance and TargetLabels from a; b.Series
// holds the series the chain kept, with their new labels.
func deriveIdentity(b *relay.Batch, a identAnswer) {
	if !a.dropped {
		b.TargetLabels = a.out
		b.Job, b.Instance = a.out.Get(model.JobLabel), a.out.Get(model.InstanceLabel)
		return
	}
	if len(b.Series) == 0 {
		b.Job, b.Instance, b.TargetLabels = "", "", labels.EmptyLabels()
		return
	}
	first := b.Series[0].Labels
	var sb labels.ScratchBuilder
	a.in.Range(func(l labels.Label) {
		if l.Name == labels.MetricName {
			return
		}
		if v := first.Get(l.Name); v != "" {
			sb.Add(l.Name, v)
		}
	})
	sb.Sort()
	b.TargetLabels = sb.Labels()
	b.Job, b.Instance = first.Get(model.JobLabel), first.Get(model.InstanceLabel)
}

// identWork is the identity of one scrape batch while seriesLevel runs:
// remembered for the target, answered by the memo, or resolved together
// with the batch's series the memo lacks (need), so the chain's stages see
// it in the same call as those.
type identWork struct {
	in         labels.Labels
	r          result
	need       bool
	remembered bool
}

// identityStart looks b's identity up; last is the target's remembered
// state, or nil.
func (c *Chain) identityStart(b *relay.Batch, last *lastScrape) identWork {
	if last != nil && last.identOK && labels.Equal(last.identTL, b.TargetLabels) {
		return identWork{remembered: true}
	}
	w := identWork{in: identityInput(b)}
	if e := c.memo.get(w.in.Hash(), w.in); e != nil {
		w.r = result{out: e.out, stage: e.stage, ref: e.ref}
	} else {
		w.need = true
	}
	return w
}

// identityFinish sets b's identity once its series went through the chain
// (w.r holds the chain's answer for w.in by now).
func identityFinish(b *relay.Batch, last *lastScrape, w *identWork) {
	if w.remembered {
		deriveIdentity(b, last.ident)
		return
	}
	a := answerOf(w.in, w.r)
	if last != nil {
		last.identTL, last.ident, last.identOK = b.TargetLabels, a, !w.r.transient
	}
	deriveIdentity(b, a)
}
