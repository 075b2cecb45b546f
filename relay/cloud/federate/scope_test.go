package federate

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestServeConfined pins what a reader confined to one tenant gets: only
// that tenant's series, whether or not it names the tenant, and 403 with
// nothing served when it names another; an unconfined reader may narrow.
func TestServeConfined(t *testing.T) {
	s := fixture(t)
	all := q(`{job="node"}`)
	for _, tc := range []struct {
		name, confined, query string
		hdr                   http.Header
		code                  int
		acme, globex          bool
	}{
		{"confined, no tenant named", "acme", all, nil, 200, true, false},
		{"confined, own tenant named", "acme", all + "&tenant=acme", nil, 200, true, false},
		{"confined, other tenant named", "acme", all + "&tenant=globex", nil, 403, false, false},
		{"confined, other tenant in header", "globex", all, http.Header{"X-Scope-Orgid": {"acme"}}, 403, false, false},
		{"confined, selector names another tenant", "acme", q(`{tenant="globex"}`), nil, 200, false, false},
		{"unconfined", "", all, nil, 200, true, true},
		{"unconfined, narrowed", "", all + "&tenant=globex", nil, 200, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/federate?"+tc.query, nil)
			for k, v := range tc.hdr {
				req.Header[k] = v
			}
			rec := httptest.NewRecorder()
			s.Serve(rec, req, tc.confined)
			body := rec.Body.String()
			if rec.Code != tc.code {
				t.Fatalf("code %d, want %d: %s", rec.Code, tc.code, body)
			}
			if got := strings.Contains(body, `tenant="acme"`); got != tc.acme {
				t.Errorf("acme's series served: %v, want %v\n%s", got, tc.acme, body)
			}
			if got := strings.Contains(body, `tenant="globex"`); got != tc.globex {
				t.Errorf("globex's series served: %v, want %v\n%s", got, tc.globex, body)
			}
		})
	}
}
