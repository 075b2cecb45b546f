package cloud

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
	"github.com/edgerelay/edgerelay/store"
)

// TestImportKeepsLanes: an edge split its queue (a backlog lane and a live
// lane, each its own delta generation), sent the first blocks of both
// lanes live, then lost the link and exported the rest. Imported, each
// block applies against its own lane's base: every scrape is written, none
// lost; importing again changes nothing.
func TestImportKeepsLanes(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.DiscardHandler)
	q, err := store.Open(filepath.Join(dir, "queue"), store.Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	backlog := &deltaEdge{enc: delta.NewEncoder(1)}
	live := &deltaEdge{enc: delta.NewEncoder(2)}
	live.n = 1000
	for range 6 {
		if _, err := q.Append(store.Record{Data: backlog.block(), Samples: 10}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := q.StartLane(); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if _, err := q.Append(store.Record{Data: live.block(), Samples: 10}); err != nil {
			t.Fatal(err)
		}
	}

	// Blocks 1-2 (backlog) and 7-8 (live) went over the link.
	c := testReceiverAt(t, dir)
	bs, err := q.Read(0, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: q.ID()}
	for _, i := range []int{0, 6, 1, 7} {
		if _, err := c.handle(context.Background(), peer, bs[i].Seq, bs[i].Lane, bs[i].Data); err != nil {
			t.Fatal(err)
		}
	}
	c.bases.close()

	var bundle bytes.Buffer
	if _, err := q.Export(&bundle, 0, 0, nil); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte("cloud:\n  data_dir: " + dir + "/cloud\n  files_dir: " + dir + "/files\n"))
	if err != nil {
		t.Fatal(err)
	}
	for round, want := range []ImportStats{{Blocks: 8, Duplicates: 4, Samples: 8 * 10}, {Duplicates: 12}} {
		st, err := Import(context.Background(), cfg.Cloud, Options{Logger: log}, bytes.NewReader(bundle.Bytes()), nil)
		if err != nil || st != want {
			t.Fatalf("import %d: %+v, %v; want %+v", round+1, st, err, want)
		}
	}
	if n := written(t, c); n != 12 {
		t.Fatalf("%d scrapes written, want 12", n)
	}
}
