//go:build full

package rwout

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/prometheus/prompb"

	"github.com/edgerelay/edgerelay/relay/config"
)

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
