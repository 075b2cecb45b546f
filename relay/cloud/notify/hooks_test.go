package notify

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/cloud/files"
	"github.com/edgerelay/edgerelay/relay/cloud/output"
	"github.com/edgerelay/edgerelay/relay/config"
)

// TestWebhookAnswers: what each answer of a webhook makes of a send.
func TestWebhookAnswers(t *testing.T) {
	var got body
	var hdr http.Header
	status, retry := 200, ""
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header
		json.NewDecoder(r.Body).Decode(&got)
		if retry != "" {
			w.Header().Set("Retry-After", retry)
		}
		w.WriteHeader(status)
	}))
	defer ts.Close()
	w := newWebhook(config.Webhook{URL: ts.URL, Headers: map[string]string{"Authorization": "Bearer t"}, Timeout: time.Second, MaxNotices: 10})
	for _, tc := range []struct {
		status         int
		retry          string
		ok, refused    bool
		wantRetryAfter time.Duration
	}{
		{200, "", true, false, 0},
		{204, "", true, false, 0},
		{503, "7", false, false, 7 * time.Second},
		{429, "", false, false, 0},
		{500, "", false, false, 0},
		{408, "", false, false, 0},
		{400, "", false, true, 0},
		{404, "", false, true, 0},
	} {
		status, retry = tc.status, tc.retry
		err := w.send(t.Context(), notices("a", 2))
		var ref *refused
		var ra *retryAfter
		switch {
		case (err == nil) != tc.ok, errors.As(err, &ref) != tc.refused:
			t.Errorf("%d: %v", tc.status, err)
		case tc.wantRetryAfter > 0 && (!errors.As(err, &ra) || ra.after != tc.wantRetryAfter):
			t.Errorf("%d Retry-After %s: %v", tc.status, tc.retry, err)
		}
	}
	if len(got.Notices) != 2 || got.Notices[1].ID != "a/1" || hdr.Get("Authorization") != "Bearer t" || hdr.Get("Content-Type") != "application/json" {
		t.Errorf("body %+v, headers %v", got, hdr)
	}
}

// TestExecHook: the command gets the notice on stdin and in its
// environment; a failing or slow one is an error to retry.
func TestExecHook(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	n := Notice{ID: "acme/s/x.j/1000", Dir: "/f/acme/s/x.j/1000", Files: []string{"/f/acme/s/x.j/1000/1000.data.gz", "/f/acme/s/x.j/1000/1000.json"},
		Tenant: "acme", Site: "s", Job: "j", Instance: "x\x00y", Timestamp: 1}
	e := &execHook{cfg: config.NotifyExec{Command: "/bin/sh", Args: []string{"-c", `cat > "$0"; echo "$EDGERELAY_NOTIFY_ID $EDGERELAY_NOTIFY_DATA $EDGERELAY_NOTIFY_INSTANCE" >> "$0"`, out}, Timeout: 5 * time.Second}}
	if err := e.send(t.Context(), []Notice{n}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var got Notice
	if len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &got) != nil || got.ID != n.ID || got.Instance != n.Instance {
		t.Fatalf("stdin: %q", b)
	}
	if lines[1] != "acme/s/x.j/1000 /f/acme/s/x.j/1000/1000.data.gz x_y" {
		t.Errorf("environment: %q", lines[1])
	}
	fail := &execHook{cfg: config.NotifyExec{Command: "/bin/sh", Args: []string{"-c", "echo nope >&2; exit 3"}, Timeout: 5 * time.Second}}
	if err := fail.send(t.Context(), []Notice{n}); err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("exit 3: %v", err)
	}
	slow := &execHook{cfg: config.NotifyExec{Command: "/bin/sh", Args: []string{"-c", "sleep 10"}, Timeout: 100 * time.Millisecond}}
	start := time.Now()
	if err := slow.send(t.Context(), []Notice{n}); err == nil || !strings.Contains(err.Error(), "killed after") {
		t.Errorf("slow: %v", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("a command past its timeout held the hook %s", time.Since(start))
	}
}

// TestFilesSpoolsOncePerCommit: the wrapped files output spools a block's
// directories once: a repeat before the commit (another output failed it)
// is not spooled again; after the commit (a resend after a crash) it is,
// with the same ids.
func TestFilesSpoolsOncePerCommit(t *testing.T) {
	root, data := t.TempDir(), t.TempDir()
	fw, err := files.New(files.Config{Dir: root})
	if err != nil {
		t.Fatal(err)
	}
	nt, err := New(Config{FilesDir: root, SpoolDir: data, Registerer: prometheus.NewRegistry(), Logger: discard(),
		Notify: config.Notify{Webhook: &config.Webhook{URL: "http://127.0.0.1:1/"}, SpoolMaxBytes: 1 << 20}})
	if err != nil {
		t.Fatal(err)
	}
	out := Files{W: fw, N: nt}
	sp := nt.senders[0].spool
	d := &output.Delivery{Tenant: "acme", Site: "plant-7", QueueID: 1, Seq: 9, Batches: []*relay.Batch{{
		Scrape: true, Job: "node", Instance: "10.0.0.1:9100", Timestamp: 1700000000000,
		TargetLabels: labels.FromStrings("job", "node", "rack", "r1"),
		Series:       []relay.Series{{Labels: labels.FromStrings("__name__", "up"), Samples: []relay.Sample{{T: 1700000000000, V: 1}}}},
	}}}
	for range 2 {
		if err := out.Deliver(t.Context(), d); err != nil {
			t.Fatal(err)
		}
	}
	if sp.notices != 1 {
		t.Fatalf("%d notices spooled for one directory delivered twice before its commit", sp.notices)
	}
	r, _ := sp.head()
	ns, err := sp.read(r.seq)
	if err != nil {
		t.Fatal(err)
	}
	n := ns[0]
	want := "acme/plant-7/10.0.0.1_9100.node/1700000000000000"
	if n.ID != want || n.Dir != filepath.Join(root, want) || n.Job != "node" || n.Instance != "10.0.0.1:9100" || n.Site != "plant-7" ||
		n.TargetLabels["rack"] != "r1" || n.Timestamp != 1700000000000 || len(n.Files) != 2 {
		t.Fatalf("notice %+v", n)
	}
	for _, f := range n.Files {
		if _, err := os.Stat(f); err != nil {
			t.Errorf("notice names %s: %v", f, err)
		}
	}
	out.Committed(d)
	if err := out.Deliver(t.Context(), d); err != nil {
		t.Fatal(err)
	}
	if sp.notices != 2 {
		t.Fatalf("a block delivered again after its commit: %d notices, want 2 (at least once)", sp.notices)
	}
}
