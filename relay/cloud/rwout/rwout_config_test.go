package rwout

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay/config"
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

// TestSigV4Signs: with sigv4 set, each request is signed (AWS SigV4
// Authorization header naming the access key, region and service).
func TestSigV4Signs(t *testing.T) {
	var auth []string
	s := &sink{answer: func(_ *prompb.WriteRequest, r *http.Request) int {
		auth = append(auth, r.Header.Get("Authorization"))
		return 204
	}}
	srv := httptest.NewServer(s)
	defer srv.Close()
	body := fmt.Sprintf("remote_write:\n  - url: %s/api/v1/write\n    sigv4: {region: eu-west-1, access_key: AKIDEXAMPLE, secret_key: secret, service_name: aps}\n", srv.URL)
	c, err := config.Parse([]byte("cloud:\n" + indent(body)))
	if err != nil {
		t.Fatal(err)
	}
	f := start(t, c.Cloud.Forward[0], Options{})
	sendWait(t, f, batch(1, 1000))
	if len(auth) != 1 || !strings.HasPrefix(auth[0], "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth[0], "/eu-west-1/aps/aws4_request") {
		t.Fatalf("Authorization %q", auth)
	}
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSuffix(s, "\n"), "\n", "\n  ") + "\n"
}
