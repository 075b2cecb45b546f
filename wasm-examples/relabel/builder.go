package main

import (
	"slices"
	"strings"

	"github.com/edgerelay/edgerelay/sdk"
)

// builder accumulates changes to a label set the way Prometheus' label
// builder does (base, additions in insertion order, deletions), so that
// rules reading labels mid-way and labelmap's iteration order match it.
type builder struct {
	base sdk.Labels
	add  []sdk.Label
	del  []string
}

func (b *builder) get(n string) string {
	for _, a := range b.add {
		if a.Name == n {
			return a.Value
		}
	}
	if slices.Contains(b.del, n) {
		return ""
	}
	return b.base.Get(n)
}

func (b *builder) set(n, v string) {
	if v == "" {
		b.remove(n)
		return
	}
	for i := range b.add {
		if b.add[i].Name == n {
			b.add[i].Value = v
			return
		}
	}
	b.add = append(b.add, sdk.Label{Name: n, Value: v})
}

func (b *builder) remove(n string) {
	b.add = slices.DeleteFunc(b.add, func(a sdk.Label) bool { return a.Name == n })
	b.del = append(b.del, n)
}

// each calls f on a snapshot of the current labels: unchanged base labels
// in order, then additions in the order they were made.
func (b *builder) each(f func(l sdk.Label)) {
	add, del := slices.Clone(b.add), slices.Clone(b.del)
	for _, l := range b.base {
		if !slices.Contains(del, l.Name) && !slices.ContainsFunc(add, func(a sdk.Label) bool { return a.Name == l.Name }) {
			f(l)
		}
	}
	for _, a := range add {
		f(a)
	}
}

func (b *builder) labels() sdk.Labels {
	if len(b.add) == 0 && len(b.del) == 0 {
		return b.base
	}
	out := make(sdk.Labels, 0, len(b.base)+len(b.add))
	for _, l := range b.base {
		if !slices.Contains(b.del, l.Name) && !slices.ContainsFunc(b.add, func(a sdk.Label) bool { return a.Name == l.Name }) {
			out = append(out, l)
		}
	}
	out = append(out, b.add...)
	slices.SortFunc(out, func(x, y sdk.Label) int { return strings.Compare(x.Name, y.Name) })
	return out
}
