package federate

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

// FuzzServeQuery sends arbitrary match[] and tenant values: the answer is
// a 200 or a 400, never a panic or anything else.
func FuzzServeQuery(f *testing.F) {
	s := fixture(f)
	f.Add(`{job="node"}`, "acme")
	f.Add(`{__name__=~"(lat|temp).*"}`, "")
	f.Add(`up{`, "x")
	f.Add(`{a=~"\\"}`, "")
	f.Fuzz(func(t *testing.T, match, tenant string) {
		v := url.Values{"match[]": {match}}
		if tenant != "" {
			v.Set("tenant", tenant)
		}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/federate?"+v.Encode(), nil))
		if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
			t.Fatalf("code %d for match %q: %s", rec.Code, match, rec.Body)
		}
	})
}
