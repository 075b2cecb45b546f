package cloud

import (
	"context"
	"crypto/tls"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/edgerelay/edgerelay/internal/wire/chained"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// TestRelayedBlocks: a chaining relay listed in cloud.relays for tenant
// acme authenticates with its token only; its acme blocks are received
// once by the edge's (queue id, seq), however often resent; a block of a
// tenant not listed for it is refused and counted, its samples reported
// refused, and nothing of it is written.
func TestRelayedBlocks(t *testing.T) {
	dir := t.TempDir()
	tok := filepath.Join(dir, "relay.token")
	os.WriteFile(tok, []byte("s3cret\n"), 0o600)
	cfg, err := config.Parse([]byte("cloud:\n  data_dir: " + dir + "/cloud\n  files_dir: " + dir + "/files\n" +
		"  relays: [{name: region-eu, token_file: " + tok + ", tenants: [acme]}]\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := newReceiver(cfg.Cloud, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.auth.check(transport.Hello{Tenant: config.RelayHelloTenant, Site: "region-eu", Token: "wrong"}, tls.ConnectionState{}); err == nil {
		t.Fatal("a relay with a wrong token was accepted")
	}
	p, err := c.auth.check(transport.Hello{Tenant: config.RelayHelloTenant, Site: "region-eu", Token: "s3cret", QueueID: 99}, tls.ConnectionState{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	good := chained.Encode(nil, 7, 1, scrapeBlock("acme", "s1", 1_700_000_000_000))
	for seq := uint64(1); seq <= 2; seq++ { // the relay resends it under a new seq of its own
		if _, err := c.handle(ctx, p, seq, 0, good); err != nil {
			t.Fatal(err)
		}
	}
	if got := testutil.ToFloat64(c.blocks.WithLabelValues("accepted")); got != 1 {
		t.Errorf("accepted blocks = %v, want 1 (the resend is a duplicate of edge queue 7 seq 1)", got)
	}
	other := chained.Encode(nil, 8, 1, scrapeBlock("globex", "s1", 1_700_000_000_000))
	ack, err := c.handle(ctx, p, 3, 0, other)
	if err != nil || ack.Refused == 0 {
		t.Fatalf("a block of a tenant not listed for the relay: ack %+v, err %v; want acknowledged with its samples refused", ack, err)
	}
	if got := testutil.ToFloat64(c.relayRefused.WithLabelValues("region-eu", "tenant_not_allowed")); got != 1 {
		t.Errorf("refused chained blocks = %v, want 1", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "files", "globex")); len(m) != 0 {
		t.Errorf("a refused tenant's files were written: %v", m)
	}
	if _, err := c.handle(ctx, p, 4, 0, []byte("not an envelope")); err == nil {
		t.Error("an undecodable chained block was acknowledged")
	}
}
