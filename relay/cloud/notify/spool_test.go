package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func testMetrics() hookMetrics {
	return newMetrics(prometheus.NewRegistry(), discard()).hook("test")
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// empty reports whether s holds no record.
func (s *spool) empty() bool {
	_, ok := s.head()
	return !ok
}

func notices(prefix string, n int) []Notice {
	out := make([]Notice, n)
	for i := range out {
		out[i] = Notice{ID: fmt.Sprintf("%s/%d", prefix, i), Tenant: "acme", Timestamp: int64(i)}
	}
	return out
}

func mustAdd(t *testing.T, s *spool, ns []Notice) {
	t.Helper()
	b, err := encode(ns)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.add(b, len(ns)); err != nil {
		t.Fatal(err)
	}
}

// TestSpoolSurvivesRestart: records come back after a reopen, oldest
// first, with what was delivered of them forgotten (delivered again: at
// least once); a temporary file a crash left is removed.
func TestSpoolSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	s, err := openSpool(dir, 1<<20, testMetrics())
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, notices("a", 3))
	mustAdd(t, s, notices("b", 2))
	r, _ := s.head()
	s.progress(r.seq, 1)
	os.WriteFile(filepath.Join(dir, "0000000000000009.ndjson.tmp"), []byte("half"), 0o644)

	s, err = openSpool(dir, 1<<20, testMetrics())
	if err != nil {
		t.Fatal(err)
	}
	if s.notices != 5 || len(s.recs) != 2 {
		t.Fatalf("reopened: %d notices in %d records, want 5 in 2", s.notices, len(s.recs))
	}
	r, _ = s.head()
	got, err := s.read(r.seq)
	if err != nil || len(got) != 3 || got[0].ID != "a/0" {
		t.Fatalf("head %v %v", got, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "0000000000000009.ndjson.tmp")); !errors.Is(err, os.ErrNotExist) {
		t.Error("temporary file left")
	}
	s.remove(r.seq)
	if r2, _ := s.head(); r2.seq == r.seq || s.notices != 2 || testutil.ToFloat64(s.m.spoolNotices) != 2 {
		t.Fatalf("after remove: head %d, %d notices", r2.seq, s.notices)
	}
}

// TestSpoolBound: past maxBytes the oldest records go, their undelivered
// notices counted as dropped; the newest stays whatever its size.
func TestSpoolBound(t *testing.T) {
	one, _ := encode(notices("x", 10))
	s, err := openSpool(t.TempDir(), int64(3*len(one)), testMetrics())
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		mustAdd(t, s, notices(fmt.Sprint(i), 10))
	}
	r, _ := s.head()
	if got, _ := s.read(r.seq); got[0].ID != "2/0" || len(s.recs) != 3 {
		t.Fatalf("head %s, %d records: want the 3 newest", got[0].ID, len(s.recs))
	}
	if d := testutil.ToFloat64(s.m.dropped.WithLabelValues(reasonSpoolFull)); d != 20 {
		t.Fatalf("dropped %v, want 20", d)
	}
	mustAdd(t, s, notices("big", 100))
	if len(s.recs) != 1 || s.notices != 100 {
		t.Fatalf("an oversized record: %d records, %d notices; want it alone", len(s.recs), s.notices)
	}
}

// fakeHook fails its first fails sends, then records what it takes.
type fakeHook struct {
	mu    sync.Mutex
	fails int
	n     int
	got   []string
	err   error
}

func (f *fakeHook) name() string { return "fake" }
func (f *fakeHook) batch() int   { return f.n }
func (f *fakeHook) send(_ context.Context, ns []Notice) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return f.err
	}
	for _, n := range ns {
		f.got = append(f.got, n.ID)
	}
	return nil
}

// TestSenderRetriesWithBackoff: a hook failing 5 times gets every notice
// once, in order, after waits doubling from min_backoff to max_backoff.
func TestSenderRetriesWithBackoff(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sp, err := openSpool(t.TempDir(), 1<<20, testMetrics())
		if err != nil {
			t.Fatal(err)
		}
		h := &fakeHook{fails: 5, n: 2, err: errors.New("down")}
		s := &sender{hook: h, spool: sp, minBackoff: time.Second, maxBackoff: 4 * time.Second, log: discard(), m: sp.m}
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.run(ctx) }()
		start := time.Now()
		mustAdd(t, sp, notices("a", 3))
		mustAdd(t, sp, notices("b", 1))
		for !sp.empty() {
			time.Sleep(100 * time.Millisecond)
		}
		// 1 + 2 + 4 + 4 + 4 seconds of backoff.
		if took := time.Since(start).Truncate(time.Second); took != 15*time.Second {
			t.Errorf("delivered after %s, want 15s of backoff", took)
		}
		cancel()
		<-done
		want := []string{"a/0", "a/1", "a/2", "b/0"}
		if fmt.Sprint(h.got) != fmt.Sprint(want) {
			t.Errorf("hook got %v, want %v", h.got, want)
		}
		if sent, retried := testutil.ToFloat64(sp.m.sent), testutil.ToFloat64(sp.m.retries); sent != 4 || retried != 10 {
			t.Errorf("sent %v retried %v, want 4 and 10 (5 failed attempts of 2 notices)", sent, retried)
		}
	})
}

// TestSenderRefusedAndCorrupt: notices a hook refuses are counted as
// failed and not retried; an unreadable record is dropped and counted;
// the rest is delivered.
func TestSenderRefusedAndCorrupt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		dir := t.TempDir()
		sp, err := openSpool(dir, 1<<20, testMetrics())
		if err != nil {
			t.Fatal(err)
		}
		h := &fakeHook{fails: 1, n: 1, err: &refused{errors.New("400")}}
		s := &sender{hook: h, spool: sp, minBackoff: time.Second, maxBackoff: time.Second, log: discard(), m: sp.m}
		mustAdd(t, sp, notices("a", 2))
		mustAdd(t, sp, notices("b", 2))
		mustAdd(t, sp, notices("c", 1))
		os.WriteFile(sp.path(sp.recs[1].seq), []byte("{garbage\n"), 0o644)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error)
		go func() { done <- s.run(ctx) }()
		for !sp.empty() {
			time.Sleep(100 * time.Millisecond)
		}
		cancel()
		<-done
		if fmt.Sprint(h.got) != "[a/1 c/0]" {
			t.Errorf("hook got %v", h.got)
		}
		if f, c := testutil.ToFloat64(sp.m.failed), testutil.ToFloat64(sp.m.dropped.WithLabelValues(reasonCorrupt)); f != 1 || c != 2 {
			t.Errorf("failed %v, corrupt %v; want 1 and 2", f, c)
		}
	})
}

// FuzzDecode: a spool record from a damaged disk decodes or is errCorrupt;
// what decodes encodes back to the same notices.
func FuzzDecode(f *testing.F) {
	good, _ := encode(notices("acme/plant-7/x.job/1700000000000000", 2))
	for _, s := range [][]byte{good, []byte("{}\n"), []byte("{\"id\":\"a\"}"), []byte("\n"), nil} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ns, err := decode(b)
		if err != nil {
			if !errors.Is(err, errCorrupt) {
				t.Fatalf("error %v is not errCorrupt", err)
			}
			return
		}
		again, err := encode(ns)
		if err != nil {
			t.Fatal(err)
		}
		ns2, err := decode(again)
		if err != nil || fmt.Sprint(ns2) != fmt.Sprint(ns) {
			t.Fatalf("re-encoded %q decodes to %v (%v), want %v", again, ns2, err, ns)
		}
	})
}
