package cloud

import (
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"

	"github.com/edgerelay/edgerelay/internal/wire/delta"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// TestDeltaVersion3BasesSurviveRestart: frames of version 3 (whose steady
// series have no record, predicted from the trend the base keeps) rebuild
// every scrape exactly across a restart and a fold of the base log into a
// checkpoint: each written scrape n holds m{i} = i·n.
func TestDeltaVersion3BasesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	peer := transport.Peer{Tenant: "acme", Site: "s1", QueueID: 7}
	enc := delta.NewEncoder(42)
	enc.SetVersion(delta.Version3)
	edge := &deltaEdge{enc: enc}
	seq := uint64(0)
	send := func(c *receiver) {
		t.Helper()
		seq++
		if _, err := c.handle(ctx, peer, seq, 0, edge.block()); err != nil {
			t.Fatalf("block %d: %v", seq, err)
		}
	}
	c := testReceiverAt(t, dir)
	for range 4 {
		send(c)
	}
	c.bases.close()
	c = testReceiverAt(t, dir)
	send(c)
	minFold = 0
	defer func() { minFold = 4 << 20 }()
	send(c) // folded into a checkpoint
	minFold = 4 << 20
	c.bases.close()
	c = testReceiverAt(t, dir)
	send(c)
	send(c)
	if frames(c, "applied") != 2 || frames(c, "no_base") != 0 || frames(c, "replay_failed") != 0 {
		t.Fatalf("applied %v, no_base %v, replay_failed %v", frames(c, "applied"), frames(c, "no_base"), frames(c, "replay_failed"))
	}
	files, _ := filepath.Glob(filepath.Join(dir, "files", "acme", "s1", "h_9100.node", "[0-9]*", "*.data.gz"))
	if len(files) != 8 {
		t.Fatalf("%d scrapes written, want 8", len(files))
	}
	sample := regexp.MustCompile(`(?m)^m\{.*i="(\d+)".*\} (\S+)`)
	for _, f := range files {
		us, _ := strconv.ParseInt(filepath.Base(filepath.Dir(f)), 10, 64)
		n := (us/1000 - 1_700_000_000_000) / 15000
		text := gunzip(t, f)
		got := sample.FindAllStringSubmatch(text, -1)
		if len(got) != 10 {
			t.Fatalf("scrape %d: %d samples of m in\n%s", n, len(got), text)
		}
		for _, m := range got {
			i, _ := strconv.ParseInt(m[1], 10, 64)
			if m[2] != strconv.FormatInt(i*n, 10) {
				t.Fatalf("scrape %d: m{i=%d} is %s, want %d", n, i, m[2], i*n)
			}
		}
	}
}

func gunzip(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
