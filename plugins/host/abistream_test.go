package host

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

// abiStreamCases are the stream half of TestABISuite, on the emit plugin:
// new series with their own labels and metadata, each label set told once,
// bounded by limits.max_series, and kept out of a scrape's own series.
func abiStreamCases(t *testing.T, m abiModules) {
	ls := labels.FromStrings
	in := func(ts int64) *relay.Batch {
		b := &relay.Batch{}
		for _, l := range []labels.Labels{
			ls("__name__", "a", "job", "j", "x", "1"), ls("__name__", "a", "job", "j", "x", "2"), ls("__name__", "b", "job", "j"),
		} {
			b.Series = append(b.Series, relay.Series{Labels: l, Samples: []relay.Sample{{T: ts, V: 1}, {T: ts + 1, V: 2}}})
		}
		return b
	}
	run := func(t *testing.T, c *Chain, b *relay.Batch) []string {
		t.Helper()
		if err := c.Process(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, s := range b.Series {
			line := s.Labels.String()
			for _, p := range s.Samples {
				line += " " + strings.TrimRight(strings.TrimRight(strings.Replace(
					strings.Join([]string{itoa(p.T), ftoa(p.V)}, "@"), ".000000", "", 1), "0"), ".")
			}
			out = append(out, line)
		}
		slices.Sort(out)
		return out
	}
	t.Run("new series with labels and metadata, input kept", func(t *testing.T) {
		c := newTestChain(t, nil, abiStage(t, "emit", m.emit, "", ""))
		b := in(1000)
		got := run(t, c, b)
		want := []string{
			`{__name__="a", job="j", x="1"} 1000@1 1001@2`, `{__name__="a", job="j", x="2"} 1000@1 1001@2`,
			`{__name__="a:seen", job="j"} 1001@4`, `{__name__="b", job="j"} 1000@1 1001@2`,
			`{__name__="b:seen", job="j"} 1001@2`, `{__name__="emit_told"} 1001@3`,
		}
		if !slices.Equal(got, want) {
			t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		if md := b.Metadata["a:seen"]; md.Type != "counter" || md.Help != "samples seen" {
			t.Errorf("metadata of a:seen = %+v", md)
		}
		// The second batch: the same series, told once (emit_told stays 3).
		got = run(t, c, in(2000))
		if !slices.Contains(got, `{__name__="emit_told"} 2001@3`) || !slices.Contains(got, `{__name__="a:seen", job="j"} 2001@8`) {
			t.Fatalf("second batch: %s", strings.Join(got, "\n"))
		}
	})
	t.Run("drop_input ships only new series", func(t *testing.T) {
		c := newTestChain(t, nil, abiStage(t, "emit", m.emit, `{drop_input: true}`, ""))
		got := run(t, c, in(1000))
		want := []string{`{__name__="a:seen", job="j"} 1001@4`, `{__name__="b:seen", job="j"} 1001@2`, `{__name__="emit_told"} 1001@3`}
		if !slices.Equal(got, want) {
			t.Fatalf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
	t.Run("a scrape's new series ship apart", func(t *testing.T) {
		c := newTestChain(t, nil, abiStage(t, "emit", m.emit, "", ""))
		b := in(1000)
		b.Scrape, b.Job, b.Instance = true, "j", "h:1"
		if got := run(t, c, b); len(got) != 3 || strings.Contains(strings.Join(got, ""), "seen") {
			t.Fatalf("scrape batch kept %s", got)
		}
		d := c.TakeDerived()
		if d == nil || d.Scrape || len(d.Series) != 3 || d.Metadata["b:seen"].Type != "counter" {
			t.Fatalf("TakeDerived = %+v", d)
		}
		if c.TakeDerived() != nil {
			t.Fatal("TakeDerived twice returned the series twice")
		}
	})
	t.Run("retired series leave the host's table", func(t *testing.T) {
		reg := prometheus.NewRegistry()
		c := newTestChain(t, reg, abiStage(t, "emit", m.emit, `{retire: true}`, ""))
		for ts := int64(1000); ts < 5000; ts += 1000 {
			run(t, c, in(ts))
		}
		if got := testutil.ToFloat64(c.m.declared.WithLabelValues("emit")); got != 1 { // emit_told only
			t.Fatalf("declared series = %v; want 1", got)
		}
	})
	for _, onError := range []string{"fail_open", "fail_closed"} {
		t.Run("unbounded emission stopped by max_series, "+onError, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			pc := abiStage(t, "emit", m.emit, `{unbounded: true}`, onError)
			pc.Limits.MaxSeries = 5
			c := newTestChain(t, reg, pc)
			b := in(1000) // 6 samples: 6 new series
			err := c.Process(context.Background(), b)
			if onError == "fail_closed" {
				if !errors.Is(err, ErrHeld) {
					t.Fatalf("Process = %v; want ErrHeld", err)
				}
			} else if err != nil || len(b.Series) != 3 || b.Samples() != 6 {
				t.Fatalf("Process = %v, %d series; want the batch passed unchanged", err, len(b.Series))
			}
			if got := testutil.ToFloat64(c.m.errors.WithLabelValues("emit", "limit")); got != 1 {
				t.Errorf("errors{kind=limit} = %v; want 1", got)
			}
		})
	}
}

func itoa(n int64) string   { return strconv.FormatInt(n, 10) }
func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
