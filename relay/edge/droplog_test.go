package edge

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/edgerelay/edgerelay/store"
)

func TestDropLogOncePerEpisode(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var l dropLog
	for i := range 50 {
		l.note(store.Dropped{Blocks: 1, Bytes: 100, Samples: 10, FirstSeq: uint64(i + 1), LastSeq: uint64(i + 1)}, log)
	}
	if n := strings.Count(buf.String(), "\n"); n != 1 {
		t.Fatalf("%d log lines for one episode of 50 drops:\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "queue full") {
		t.Fatalf("log: %s", buf.String())
	}
	// A minute later the episode's drops since are summarised.
	l.logged = l.logged.Add(-dropEpisodeGap)
	l.note(store.Dropped{Blocks: 1, Bytes: 100, Samples: 10, FirstSeq: 51, LastSeq: 51}, log)
	if !strings.Contains(buf.String(), "blocks=50 bytes=5000 samples=500 first_seq=2 last_seq=51") {
		t.Fatalf("summary missing or wrong:\n%s", buf.String())
	}
}
