package notify

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"

	"github.com/edgerelay/edgerelay/relay/cloud/files"
)

// Notice announces one new scrape directory. It is what a webhook gets
// (in a {"notices": [...]} body) and an exec hook reads on its standard
// input, one JSON object.
type Notice struct {
	// ID is the directory relative to cloud.files_dir
	// (<tenant>/<site>/<target>/<epoch_us>): a notice delivered twice
	// (after a crash, or a failure at once retried) has the same ID.
	ID string `json:"id"`
	// Dir is the directory, absolute; Files its files, absolute.
	Dir   string   `json:"dir"`
	Files []string `json:"files"`
	// Tenant and Site are those of the edge's credential.
	Tenant string `json:"tenant"`
	Site   string `json:"site"`
	// Job and Instance name the target; TargetLabels are its labels (the
	// .json file's olabels).
	Job          string            `json:"job"`
	Instance     string            `json:"instance"`
	TargetLabels map[string]string `json:"target_labels"`
	// Timestamp is the scrape's timestamp in milliseconds.
	Timestamp int64 `json:"timestamp"`
}

// noticeOf is the notice of scrape directory d under root.
func noticeOf(root string, d files.Dir) Notice {
	id, err := filepath.Rel(root, d.Path)
	if err != nil {
		id = d.Path
	}
	n := Notice{ID: filepath.ToSlash(id), Dir: d.Path, Tenant: d.Tenant, Site: d.Site, Job: d.Job, Instance: d.Instance,
		TargetLabels: d.TargetLabels.Map(), Timestamp: d.Timestamp}
	for _, f := range d.Files {
		n.Files = append(n.Files, filepath.Join(d.Path, f))
	}
	return n
}

// encode writes notices as one spool record: one JSON object per line.
func encode(notices []Notice) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	for i := range notices {
		if err := enc.Encode(&notices[i]); err != nil {
			return nil, err
		}
	}
	return b.Bytes(), nil
}

// errCorrupt marks a spool record that does not decode.
var errCorrupt = errors.New("corrupt spool record")

// decode reads a spool record (encode's output). A record that is not
// that — a disk that lost or garbled it — is errCorrupt.
func decode(b []byte) ([]Notice, error) {
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, fmt.Errorf("%w: does not end a line", errCorrupt)
	}
	var out []Notice
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		var n Notice
		if err := json.Unmarshal(b[:i], &n); err != nil {
			return nil, fmt.Errorf("%w: line %d: %v", errCorrupt, len(out)+1, err)
		}
		if n.ID == "" {
			return nil, fmt.Errorf("%w: line %d has no id", errCorrupt, len(out)+1)
		}
		out = append(out, n)
		b = b[i+1:]
	}
	return out, nil
}
