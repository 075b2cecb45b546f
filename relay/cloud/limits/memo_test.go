package limits

import (
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay/config"
)

// TestMemoKeepsLimits: a target's scrapes admitted through a Memo are held
// to the same limits as without: series it keeps sending stay active
// (never swept while they come, though most scrapes skip the tracker), a
// series that stops frees its place after SeriesIdle, and after a reload
// lowering max_series the memoised series are checked again.
func TestMemoKeepsLimits(t *testing.T) {
	now := time.Unix(1000, 0)
	lim := config.Limits{MaxSeries: 3}
	cfg := func() config.Cloud {
		c := config.Cloud{Limits: config.DefaultLimits, Tenants: []config.Tenant{{Name: "a", Limits: lim}}}
		c.Limits.MaxBaseSeries = 2 * c.Limits.MaxSeries
		return c
	}
	l := New(Config{Of: func(t string) config.Limits { c := cfg(); return c.TenantLimits(t) }, Tenants: []string{"a"},
		SeriesIdle: time.Minute, Now: func() time.Time { return now }})
	var ls []labels.Labels
	for i := range 4 {
		ls = append(ls, labels.FromStrings("__name__", "m", "i", fmt.Sprint(i)))
	}
	var m Memo
	// Two series through the memo for five minutes, a scrape every 5 s.
	for range 60 {
		b := batch(ls[0], ls[1])
		if n := l.AdmitMemo("a", "s1", b, &m); n != 0 || len(b.Series) != 2 {
			t.Fatalf("at %v: refused %d, kept %d; want 0, 2", now, n, len(b.Series))
		}
		now = now.Add(5 * time.Second)
	}
	if got := l.ActiveSeries("a"); got != 2 {
		t.Fatalf("active series %d after five minutes of the same two, want 2", got)
	}
	// Another target's two new series: one fits under max_series 3.
	var other Memo
	b := batch(ls[2], ls[3])
	if n := l.AdmitMemo("a", "s1", b, &other); n != 2 || len(b.Series) != 1 {
		t.Fatalf("refused %d samples, kept %d series; want 2, 1", n, len(b.Series))
	}
	// The first target stops; after SeriesIdle its places are free.
	now = now.Add(time.Minute + 30*time.Second)
	b = batch(ls[2], ls[3])
	if n := l.AdmitMemo("a", "s1", b, &other); n != 0 || len(b.Series) != 2 {
		t.Fatalf("after the first target went idle: refused %d, kept %d; want 0, 2", n, len(b.Series))
	}
	// A reload to max_series 1: every series is checked again.
	lim.MaxSeries = 1
	l.Reloaded([]string{"a"})
	b = batch(ls[2], ls[3])
	if n := l.AdmitMemo("a", "s1", b, &other); n != 2 || len(b.Series) != 1 {
		t.Fatalf("after a reload to max_series 1: refused %d samples, kept %d series; want 2, 1", n, len(b.Series))
	}
}

// BenchmarkAdmitMemo: BenchmarkAdmit's steady scrape through a Memo, as
// the cloud admits a site's rebuilt scrapes.
func BenchmarkAdmitMemo(b *testing.B) {
	benchAdmit(b, &Memo{})
}
