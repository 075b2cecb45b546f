package meta

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// siteFile is the persisted metadata of one (tenant, site).
type siteFile struct {
	Tenant   string           `json:"tenant"`
	Site     string           `json:"site"`
	Families map[string]entry `json:"families"`
}

// path is the file of k: tenant and site escaped into one safe file name.
func (s *Store) path(k siteKey) string {
	return filepath.Join(s.dir, escape(k.tenant)+"."+escape(k.site)+".json")
}

// persist replaces k's file with st (fsutil.WriteFile). The caller holds
// s.mu and st.mu.
func (s *Store) persist(k siteKey, st *site) error {
	b, err := json.Marshal(siteFile{Tenant: k.tenant, Site: k.site, Families: st.fams})
	if err != nil {
		return fmt.Errorf("metadata state: %w", err)
	}
	if err := fsutil.WriteFile(s.path(k), b, 0o644); err != nil {
		return fmt.Errorf("metadata state: %w", err)
	}
	return nil
}

// load reads every site file of s.dir. A file that does not parse is set
// aside as .corrupt and logged: its site's edge sends its full set on its
// next connection.
func (s *Store) load() error {
	if err := os.MkdirAll(s.dir, 0o755); err != nil {
		return fmt.Errorf("metadata state: %w", err)
	}
	names, err := filepath.Glob(filepath.Join(s.dir, "*.json"))
	if err != nil {
		return fmt.Errorf("metadata state: %w", err)
	}
	for _, p := range names {
		b, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("metadata state: %w", err)
		}
		sf, err := decodeSite(b)
		if err == nil && s.path(siteKey{sf.Tenant, sf.Site}) != p {
			err = fmt.Errorf("names tenant %q site %q, which belong in another file", sf.Tenant, sf.Site)
		}
		if err != nil {
			s.log.Warn("persisted metadata unreadable; set aside, the site's edge sends its metadata again on its next connection",
				"file", p, "err", err)
			if rerr := os.Rename(p, p+".corrupt"); rerr != nil {
				return fmt.Errorf("metadata state: %w", rerr)
			}
			continue
		}
		st := &site{fams: make(map[string]entry, len(sf.Families))}
		for fam, e := range sf.Families {
			if len(st.fams) >= s.maxSite || s.total >= s.maxTotal {
				s.refused.Inc()
				continue
			}
			st.fams[fam] = e
			s.total++
		}
		s.sites[siteKey{sf.Tenant, sf.Site}] = st
	}
	return nil
}

// decodeSite parses a site file, refusing what the store never writes: an
// empty tenant, site or family name.
func decodeSite(b []byte) (siteFile, error) {
	var sf siteFile
	if err := json.Unmarshal(b, &sf); err != nil {
		return sf, err
	}
	if sf.Tenant == "" || sf.Site == "" {
		return sf, errors.New("no tenant or site")
	}
	if _, ok := sf.Families[""]; ok {
		return sf, errors.New("a family without a name")
	}
	return sf, nil
}

// escape keeps letters, digits, '-' and '_' and writes every other byte as
// %XX, so the result is one path element that cannot climb out and holds
// no '.'.
func escape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '-' || c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') {
			b.WriteByte(c)
		} else {
			b.WriteByte('%')
			b.WriteByte("0123456789ABCDEF"[c>>4])
			b.WriteByte("0123456789ABCDEF"[c&15])
		}
	}
	return b.String()
}
