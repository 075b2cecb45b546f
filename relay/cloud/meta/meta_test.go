package meta

import (
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
)

func md(typ, help, unit string) relay.Metadata {
	return relay.Metadata{Type: typ, Help: help, Unit: unit}
}

// batch is a remote_write batch stamped ts with one sample of each named
// series and the metadata m.
func batch(ts int64, m map[string]relay.Metadata, names ...string) *relay.Batch {
	b := &relay.Batch{Timestamp: ts, Metadata: maps.Clone(m)}
	for _, n := range names {
		b.Series = append(b.Series, relay.Series{Labels: labels.FromStrings("__name__", n, "job", "rw"), Samples: []relay.Sample{{T: ts, V: 1}}})
	}
	return b
}

func newStore(t *testing.T, cfg Config) *Store {
	t.Helper()
	cfg.Logger = slog.New(slog.DiscardHandler)
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func apply(t *testing.T, s *Store, tenant, site string, b *relay.Batch) map[string]relay.Metadata {
	t.Helper()
	if err := s.Apply(tenant, site, b); err != nil {
		t.Fatal(err)
	}
	return b.Metadata
}

var announced = map[string]relay.Metadata{
	"http_requests_total": md("counter", "Requests.", ""),
	"rpc":                 md("counter", "RPCs (announced without _total).", ""),
	"req_seconds":         md("histogram", "Latency.", "seconds"),
	"build":               md("info", "Build.", ""),
	"temp_celsius":        md("gauge", "Temperature.", "celsius"),
}

func TestApplyFillsFamiliesOfTheBatch(t *testing.T) {
	s := newStore(t, Config{})
	if got := apply(t, s, "acme", "plant-7", batch(1, announced)); got != nil {
		t.Errorf("metadata-only batch keeps %v", got)
	}
	got := apply(t, s, "acme", "plant-7", batch(2, nil,
		"http_requests_total", "rpc_total", "req_seconds_bucket", "req_seconds_sum", "req_seconds_count",
		"build_info", "temp_celsius", "unknown_thing"))
	want := maps.Clone(announced)
	if !maps.Equal(got, want) {
		t.Errorf("filled %v\nwant %v", got, want)
	}
	if got := apply(t, s, "acme", "plant-7", batch(3, nil, "temp_celsius")); !maps.Equal(got, map[string]relay.Metadata{"temp_celsius": announced["temp_celsius"]}) {
		t.Errorf("one family: %v", got)
	}
	if got := apply(t, s, "acme", "plant-7", batch(3, nil, "unknown_thing")); got != nil {
		t.Errorf("no family known: %v", got)
	}
	// Another site and another tenant know nothing of it.
	if got := apply(t, s, "acme", "plant-8", batch(3, nil, "temp_celsius")); got != nil {
		t.Errorf("another site: %v", got)
	}
	if got := apply(t, s, "other", "plant-7", batch(3, nil, "temp_celsius")); got != nil {
		t.Errorf("another tenant: %v", got)
	}
	if n := s.Families(); n != len(announced) {
		t.Errorf("families = %d, want %d", n, len(announced))
	}
}

// TestNewestWins: a value carried by an older batch (a backlog lane drained
// after the live one) does not replace a newer one.
func TestNewestWins(t *testing.T) {
	s := newStore(t, Config{})
	newer := map[string]relay.Metadata{"temp_celsius": md("gauge", "Temperature, new.", "celsius")}
	older := map[string]relay.Metadata{"temp_celsius": md("gauge", "Temperature, old.", "celsius")}
	apply(t, s, "acme", "plant-7", batch(200, newer))
	if got := apply(t, s, "acme", "plant-7", batch(100, older, "temp_celsius")); !maps.Equal(got, newer) {
		t.Errorf("after an older value: %v, want %v", got, newer)
	}
	if got := apply(t, s, "acme", "plant-7", batch(300, older, "temp_celsius")); !maps.Equal(got, older) {
		t.Errorf("after a newer value: %v, want %v", got, older)
	}
}

func TestBounds(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := newStore(t, Config{MaxSiteFamilies: 3, MaxFamilies: 5, Registerer: reg})
	four := map[string]relay.Metadata{}
	for i := range 4 {
		four[fmt.Sprint("f", i)] = md("gauge", fmt.Sprint(i), "")
	}
	apply(t, s, "acme", "a", batch(1, four))
	if n := s.Families(); n != 3 {
		t.Fatalf("families = %d past a site cap of 3", n)
	}
	if n := testutil.ToFloat64(s.refused); n != 1 {
		t.Errorf("refused = %v, want 1", n)
	}
	apply(t, s, "acme", "b", batch(1, four))
	if n := s.Families(); n != 5 {
		t.Fatalf("families = %d, want the total cap 5", n)
	}
	if n := testutil.ToFloat64(s.refused); n != 3 {
		t.Errorf("refused = %v, want 3", n)
	}
	// A family held still changes at the cap.
	var held string
	for f := range four {
		if got := apply(t, s, "acme", "a", batch(1, nil, f)); got != nil {
			held = f
			break
		}
	}
	changed := map[string]relay.Metadata{held: md("counter", "changed", "")}
	if got := apply(t, s, "acme", "a", batch(2, changed, held)); !maps.Equal(got, changed) {
		t.Errorf("change at the cap: %v", got)
	}
	if got := testutil.CollectAndCount(reg, "edgerelay_cloud_metadata_families"); got != 1 {
		t.Errorf("families gauge registered %d times", got)
	}
}

func TestPersisted(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "metadata")
	s := newStore(t, Config{Dir: dir})
	apply(t, s, "acme", "plant/7..", batch(1, announced))
	apply(t, s, "acme", "plant-8", batch(1, map[string]relay.Metadata{"x": md("gauge", "X.", "")}))

	again := newStore(t, Config{Dir: dir})
	if got := apply(t, again, "acme", "plant/7..", batch(2, nil, "temp_celsius", "rpc_total")); !maps.Equal(got, map[string]relay.Metadata{
		"temp_celsius": announced["temp_celsius"], "rpc": announced["rpc"],
	}) {
		t.Errorf("after a restart: %v", got)
	}
	if n := again.Families(); n != len(announced)+1 {
		t.Errorf("families after a restart = %d", n)
	}

	// A damaged file is set aside; the rest loads.
	files, _ := filepath.Glob(filepath.Join(dir, "acme.plant-8.json"))
	if len(files) != 1 {
		t.Fatalf("site file: %v", files)
	}
	os.WriteFile(files[0], []byte(`{"tenant":"acme","site":"plant-8","families":{"x":`), 0o644)
	third := newStore(t, Config{Dir: dir})
	if n := third.Families(); n != len(announced) {
		t.Errorf("families with one file damaged = %d", n)
	}
	if _, err := os.Stat(files[0] + ".corrupt"); err != nil {
		t.Errorf("damaged file not set aside: %v", err)
	}
}

// TestPersistFailureChangesNothing: a change that cannot be written is
// refused as a whole; the block is resent and applies then.
func TestPersistFailureChangesNothing(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "metadata")
	s := newStore(t, Config{Dir: dir})
	apply(t, s, "acme", "plant-7", batch(1, map[string]relay.Metadata{"a": md("gauge", "A.", "")}))
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, nil, 0o644); err != nil { // the directory is now a file
		t.Fatal(err)
	}
	b := batch(2, map[string]relay.Metadata{"a": md("gauge", "A changed.", ""), "b": md("gauge", "B.", "")}, "a")
	if err := s.Apply("acme", "plant-7", b); err == nil {
		t.Fatal("Apply succeeded with its state unwritable")
	}
	if len(b.Metadata) != 2 {
		t.Errorf("batch changed on failure: %v", b.Metadata)
	}
	if n := s.Families(); n != 1 {
		t.Errorf("families = %d after a failed change, want 1", n)
	}
	os.Remove(dir)
	os.MkdirAll(dir, 0o755)
	if got := apply(t, s, "acme", "plant-7", batch(2, nil, "a")); !maps.Equal(got, map[string]relay.Metadata{"a": md("gauge", "A.", "")}) {
		t.Errorf("after the failure: %v", got)
	}
}

func FuzzDecodeSite(f *testing.F) {
	f.Add([]byte(`{"tenant":"acme","site":"plant-7","families":{"x":{"md":{"Type":"gauge","Help":"X.","Unit":""},"ts":1}}}`))
	f.Add([]byte(`{"tenant":"acme","site":"","families":{}}`))
	f.Add([]byte(`{"tenant":"acme","site":"s","families":{"":{}}}`))
	f.Add([]byte(`{`))
	f.Fuzz(func(t *testing.T, b []byte) {
		sf, err := decodeSite(b)
		if err != nil {
			return
		}
		if sf.Tenant == "" || sf.Site == "" {
			t.Fatalf("accepted %+v", sf)
		}
		if _, ok := sf.Families[""]; ok {
			t.Fatal("accepted a family without a name")
		}
		// What was accepted loads into a store.
		dir := t.TempDir()
		s := &Store{dir: dir}
		p := s.path(siteKey{sf.Tenant, sf.Site})
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Skip(err) // a name too long for the file system
		}
		st, err := New(Config{Dir: dir})
		if err != nil {
			t.Fatal(err)
		}
		if st.Families() != len(sf.Families) {
			t.Fatalf("loaded %d of %d families", st.Families(), len(sf.Families))
		}
	})
}

// TestConcurrentApply learns and fills from several goroutines, sites shared
// and not (run with -race).
func TestConcurrentApply(t *testing.T) {
	s := newStore(t, Config{Dir: t.TempDir()})
	done := make(chan struct{})
	for g := range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := range 100 {
				site := fmt.Sprint("s", g%2)
				m := map[string]relay.Metadata{fmt.Sprint("f", i%10): md("gauge", fmt.Sprint(i%3), "")}
				if i%3 == 0 {
					m = nil
				}
				b := batch(int64(i), m, fmt.Sprint("f", i%10), "f1_total")
				if err := s.Apply("acme", site, b); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
	if n := s.Families(); n != 20 {
		t.Errorf("families = %d, want 10 per site", n)
	}
}

// BenchmarkApply measures giving a remote_write batch of 2000 series in
// 100 families (counters, histograms) the metadata of a site that holds
// 1000 families: what each remote_write batch costs the cloud.
func BenchmarkApply(b *testing.B) {
	s, err := New(Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	m := map[string]relay.Metadata{}
	for i := range 1000 {
		m[fmt.Sprint("family_", i)] = md("histogram", "Some help text of a typical length.", "seconds")
	}
	if err := s.Apply("acme", "plant-7", batch(1, m)); err != nil {
		b.Fatal(err)
	}
	var names []string
	for i := range 2000 {
		f := fmt.Sprint("family_", i%100)
		switch i % 4 {
		case 0:
			names = append(names, f+"_bucket")
		case 1:
			names = append(names, f+"_sum")
		case 2:
			names = append(names, f+"_count")
		default:
			names = append(names, f+"_total")
		}
	}
	bt := batch(2, nil, names...)
	b.ReportAllocs()
	for b.Loop() {
		bt.Metadata = nil
		if err := s.Apply("acme", "plant-7", bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(names)), "ns/series")
}

// TestTenantBounds: a tenant's own max_metadata_families (SiteFamilies)
// replaces MaxSiteFamilies for its sites, and each refusal is reported
// with its tenant.
func TestTenantBounds(t *testing.T) {
	refused := map[string]int{}
	s := newStore(t, Config{MaxSiteFamilies: 10,
		SiteFamilies: func(tenant string) int {
			if tenant == "small" {
				return 2
			}
			return 0
		},
		Refused: func(tenant string, n int) { refused[tenant] += n },
	})
	four := map[string]relay.Metadata{}
	for i := range 4 {
		four[fmt.Sprint("f", i)] = md("gauge", fmt.Sprint(i), "")
	}
	apply(t, s, "small", "a", batch(1, four))
	apply(t, s, "big", "a", batch(1, four))
	if n := s.Families(); n != 6 {
		t.Errorf("families = %d, want 2 (small) + 4 (big)", n)
	}
	if fmt.Sprint(refused) != "map[small:2]" {
		t.Errorf("refused by tenant = %v, want map[small:2]", refused)
	}
}
