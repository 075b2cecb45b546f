package edge

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestSharedIdentityIsLoggedAndCounted(t *testing.T) {
	ids := newIdentities(prometheus.NewRegistry())
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	anon := target{"node", ""} // a chain that removed instance
	a, b := target{"node", "10.0.0.1:9100"}, target{"node", "10.0.0.2:9100"}
	for range 3 {
		ids.note(a, anon, log)
		ids.note(target{"node", "10.0.0.3:9100"}, target{"node", "x3"}, log) // distinct: fine
	}
	if got := testutil.ToFloat64(ids.collisions); got != 0 || logs.Len() != 0 {
		t.Fatalf("one target per identity: %v collisions, logs %q", got, logs.String())
	}
	for range 3 {
		ids.note(b, anon, log)
		ids.note(a, anon, log)
	}
	if got := testutil.ToFloat64(ids.collisions); got != 1 {
		t.Errorf("collisions = %v; want 1 (each shared identity once)", got)
	}
	if n := strings.Count(logs.String(), "same job and instance"); n != 1 || !strings.Contains(logs.String(), "10.0.0.2:9100") {
		t.Errorf("want one warning naming the second target; logs:\n%s", logs.String())
	}
}
