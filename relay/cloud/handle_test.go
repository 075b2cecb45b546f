package cloud

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/internal/wire/block"
	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

func testReceiver(t *testing.T) *receiver {
	t.Helper()
	return testReceiverAt(t, t.TempDir())
}

func testReceiverAt(t testing.TB, dir string) *receiver {
	t.Helper()
	cfg, err := config.Parse([]byte("cloud:\n  data_dir: " + dir + "/cloud\n  files_dir: " + dir + "/files\n"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := newReceiver(cfg.Cloud, Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func scrapeBlock(tenant, site string, ts int64) []byte {
	return block.Encode(nil, &relay.Block{Tenant: tenant, Site: site, Batches: []*relay.Batch{{
		Scrape: true, Job: "node", Instance: "h:9100", Timestamp: ts,
		Series: []relay.Series{{
			Labels:  labels.FromStrings("__name__", "up", "instance", "h:9100", "job", "node", "site", site, "tenant", "forged"),
			Samples: []relay.Sample{{T: ts, V: 1}},
		}},
	}}})
}

func TestHandle(t *testing.T) {
	c := testReceiver(t)
	ctx := context.Background()
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}

	if _, err := c.handle(ctx, peer, 1, 0, scrapeBlock("acme", "s1", 1_700_000_000_000)); err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(c.cfg.FilesDir, "acme", "s1", "h_9100.node", "1700000000000000", "*.json"))
	if len(dirs) != 1 {
		t.Fatalf("scrape not written: %v", dirs)
	}
	meta, _ := os.ReadFile(dirs[0])
	if !strings.Contains(string(meta), `"tenant":"acme"`) || strings.Contains(string(meta), "forged") {
		t.Fatalf("tenant label not set from the authenticated peer: %s", meta)
	}

	// The same block again (a resend after a lost ack) is acked, not applied.
	if _, err := c.handle(ctx, peer, 1, 0, scrapeBlock("acme", "s1", 1_700_000_001_000)); err != nil {
		t.Fatal(err)
	}
	if got := testutil.ToFloat64(c.duplicates); got != 1 {
		t.Fatalf("duplicates = %v", got)
	}
	if d, _ := filepath.Glob(filepath.Join(c.cfg.FilesDir, "acme", "s1", "h_9100.node", "1700000001000000")); len(d) != 0 {
		t.Fatal("a duplicate block was applied")
	}

	for _, tc := range []struct {
		name string
		seq  uint64
		data []byte
	}{
		{"block of another tenant", 2, scrapeBlock("other", "s1", 1_700_000_002_000)},
		{"block of another site", 3, scrapeBlock("acme", "s2", 1_700_000_003_000)},
		{"garbage", 4, []byte("not a block")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := c.handle(ctx, peer, tc.seq, 0, tc.data); err == nil {
				t.Fatal("accepted")
			}
			if seen, _ := c.marks.seen("acme", "s1", 7, tc.seq); seen {
				t.Fatal("a refused block was marked as handled")
			}
		})
	}
}
