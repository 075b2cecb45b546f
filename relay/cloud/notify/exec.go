package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/edgerelay/edgerelay/relay/config"
)

// execHook runs the configured command once per notice, with the notice as
// one JSON object (and a newline) on its standard input and in environment
// variables besides the cloud's own:
//
//	EDGERELAY_NOTIFY_ID         the notice's id (the directory relative to files_dir)
//	EDGERELAY_NOTIFY_DIR        the scrape directory, absolute
//	EDGERELAY_NOTIFY_DATA       its .data.gz file
//	EDGERELAY_NOTIFY_JSON       its .json file
//	EDGERELAY_NOTIFY_NATIVE     its .native.gz file, when it has one
//	EDGERELAY_NOTIFY_TENANT, _SITE, _JOB, _INSTANCE
//	EDGERELAY_NOTIFY_TIMESTAMP  the scrape's timestamp in milliseconds
//
// Exit status 0 delivers the notice; any other, or running longer than
// timeout (the command is killed), is retried.
type execHook struct {
	cfg config.NotifyExec
}

func (e *execHook) name() string { return "exec" }
func (e *execHook) batch() int   { return 1 }

func (e *execHook) send(ctx context.Context, notices []Notice) error {
	n := notices[0]
	in, err := json.Marshal(n)
	if err != nil {
		return &refused{err}
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.cfg.Command, e.cfg.Args...)
	cmd.Stdin = bytes.NewReader(append(in, '\n'))
	cmd.Env = append(os.Environ(), env(n)...)
	var out tail
	cmd.Stdout, cmd.Stderr = &out, &out
	// A child that keeps the output open does not hold the hook.
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() == context.DeadlineExceeded {
			err = fmt.Errorf("killed after %s", e.cfg.Timeout)
		}
		return fmt.Errorf("%s: %w; output: %q", e.cfg.Command, err, bytes.TrimSpace(out.b))
	}
	return nil
}

// env is the notice's EDGERELAY_NOTIFY_* variables.
func env(n Notice) []string {
	v := []string{
		"EDGERELAY_NOTIFY_ID=" + n.ID, "EDGERELAY_NOTIFY_DIR=" + n.Dir,
		"EDGERELAY_NOTIFY_TENANT=" + n.Tenant, "EDGERELAY_NOTIFY_SITE=" + n.Site,
		"EDGERELAY_NOTIFY_JOB=" + n.Job, "EDGERELAY_NOTIFY_INSTANCE=" + n.Instance,
		"EDGERELAY_NOTIFY_TIMESTAMP=" + strconv.FormatInt(n.Timestamp, 10),
	}
	for _, f := range n.Files {
		switch {
		case strings.HasSuffix(f, ".data.gz"):
			v = append(v, "EDGERELAY_NOTIFY_DATA="+f)
		case strings.HasSuffix(f, ".native.gz"):
			v = append(v, "EDGERELAY_NOTIFY_NATIVE="+f)
		case strings.HasSuffix(f, ".json"):
			v = append(v, "EDGERELAY_NOTIFY_JSON="+f)
		}
	}
	for i := range v {
		// A NUL, which an edge could put in a label, cannot be in the
		// environment.
		v[i] = strings.ReplaceAll(v[i], "\x00", "_")
	}
	return v
}

// tail keeps the last 1 KiB written to it, for the log.
type tail struct{ b []byte }

func (t *tail) Write(p []byte) (int, error) {
	t.b = append(t.b, p...)
	if len(t.b) > 1024 {
		t.b = t.b[len(t.b)-1024:]
	}
	return len(p), nil
}
