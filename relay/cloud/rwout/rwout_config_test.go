package rwout

import (
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
)

// TestSampleAgeLimit: series older than sample_age_limit are dropped as
// too_old, the others sent.
func TestSampleAgeLimit(t *testing.T) {
	s := &sink{}
	srv := httptest.NewServer(s)
	defer srv.Close()
	c := cfg(t, srv.URL, 100)
	c.QueueConfig.SampleAgeLimit = model.Duration(time.Hour)
	f := start(t, c, Options{})
	now := time.Now().UnixMilli()
	sendWait(t, f, batch(2, now-2*3600_000), batch(3, now))
	if n := len(s.samples()); n != 3 {
		t.Fatalf("received %d samples, want the 3 recent ones", n)
	}
	if n := testutil.ToFloat64(f.m.dropped.WithLabelValues(reasonTooOld)); n != 2 {
		t.Fatalf("dropped too_old %v, want 2", n)
	}
}
