package cloud

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"
)

// revocations is the deny list of cloud.revoked_file: certificate
// fingerprints and serial numbers, and tenant/site pairs. The file is
// re-read when its size or modification time changes, checked at most once
// a second; a file that cannot be read keeps the last list in force (so
// deleting the file by mistake revokes nothing less). Safe for concurrent use.
type revocations struct {
	path string
	log  *slog.Logger

	mu      sync.Mutex
	checked time.Time
	mtime   time.Time
	size    int64
	entries map[string]bool // normalized lines
}

// newRevocations loads path; an error names what is wrong with the file.
func newRevocations(path string, log *slog.Logger) (*revocations, error) {
	r := &revocations{path: path, log: log}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("cloud.revoked_file: %w", err)
	}
	if err := r.load(st); err != nil {
		return nil, fmt.Errorf("cloud.revoked_file: %w", err)
	}
	return r, nil
}

func (r *revocations) load(st os.FileInfo) error {
	b, err := os.ReadFile(r.path)
	if err != nil {
		return err
	}
	entries := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line, _, _ := strings.Cut(sc.Text(), "#")
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if strings.Contains(line, "/") {
			entries[line] = true
			continue
		}
		h := normalizeHex(line)
		if h == "" {
			return fmt.Errorf("%s:%d: %q is neither a hex fingerprint or serial nor tenant/site", r.path, n, line)
		}
		entries[h] = true
	}
	r.entries, r.mtime, r.size = entries, st.ModTime(), st.Size()
	return nil
}

// normalizeHex returns s without colons, lower case, without leading
// zeros, or "" if s is not hex.
func normalizeHex(s string) string {
	s = strings.ToLower(strings.ReplaceAll(s, ":", ""))
	if _, err := hex.DecodeString(s + strings.Repeat("0", len(s)%2)); err != nil || s == "" {
		return ""
	}
	if t := strings.TrimLeft(s, "0"); t != "" {
		return t
	}
	return "0"
}

// refresh re-reads the file if it changed.
func (r *revocations) refresh() {
	now := time.Now()
	if now.Sub(r.checked) < time.Second {
		return
	}
	r.checked = now
	st, err := os.Stat(r.path)
	if err != nil {
		r.log.Error("revoked_file unreadable; the last list stays in force", "path", r.path, "err", err)
		return
	}
	if st.ModTime().Equal(r.mtime) && st.Size() == r.size {
		return
	}
	if err := r.load(st); err != nil {
		r.log.Error("revoked_file not reloaded; the last list stays in force", "path", r.path, "err", err)
		return
	}
	r.log.Info("revoked_file reloaded", "path", r.path, "entries", len(r.entries))
}

// revoked reports why cert (nil without one) or id is revoked, "" if not.
func (r *revocations) revoked(cert *x509.Certificate, id identity) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.refresh()
	if r.entries[id.tenant+"/"+id.site] {
		return "site " + id.tenant + "/" + id.site + " is revoked"
	}
	if cert != nil {
		sum := sha256.Sum256(cert.Raw)
		if r.entries[normalizeHex(hex.EncodeToString(sum[:]))] {
			return "client certificate is revoked (fingerprint)"
		}
		if r.entries[normalizeHex(cert.SerialNumber.Text(16))] {
			return "client certificate is revoked (serial " + cert.SerialNumber.Text(16) + ")"
		}
	}
	return ""
}
