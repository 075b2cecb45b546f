package files

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/edgerelay/edgerelay/relay"
)

func TestSanitize(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"acme", "acme"},
		{"10.0.0.1_9100.node", "10.0.0.1_9100.node"},
		{"", "_"},
		{".", "_"},
		{"..", "__"},
		{"...", "__."},
		{"../../etc", "___.__etc"},
		{"/etc/passwd", "_etc_passwd"},
		{"a/b", "a_b"},
		{`a\b`, "a_b"},
		{"a\x00b", "a_b"},
		{"a\nb", "a_b"},
		{".hidden", "_hidden"},
		{"a..b", "a._b"},
		{"\xff\xfe", "_"},
		{"ünïcode", "ünïcode"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got := Sanitize(tc.in)
			if got != tc.want {
				t.Fatalf("Sanitize(%q) = %q, want %q", tc.in, got, tc.want)
			}
			checkComponent(t, got)
		})
	}
	long := Sanitize(strings.Repeat("é", 300))
	checkComponent(t, long)
	if long == Sanitize(strings.Repeat("é", 301)) {
		t.Fatal("long names that differ map to the same component")
	}
}

// checkComponent asserts s is one harmless path component.
func checkComponent(t *testing.T, s string) {
	t.Helper()
	if s == "" || len(s) > maxComponent || strings.ContainsAny(s, "/\\\x00") ||
		strings.Contains(s, "..") || strings.HasPrefix(s, ".") || !utf8.ValidString(s) {
		t.Fatalf("unsafe component %q", s)
	}
}

// TestHostileNamesStayInside writes batches whose tenant, site, job and instance
// try to leave the files directory, and checks that everything written is
// below it and nothing appeared beside it.
func TestHostileNamesStayInside(t *testing.T) {
	parent := t.TempDir()
	root := filepath.Join(parent, "files")
	w, _ := newWriter(t, root)
	hostile := []string{
		"..", ".", "../..", "../../../tmp/x", "/etc", "/", "a/../../b", `..\..\x`,
		"\x00", "a\x00/../b", ".tmp-x", "latest", strings.Repeat("x", 5000), "\n", "~", "$HOME",
	}
	for _, tc := range []struct{ name, tenant, site, job, instance string }{
		{"tenant", "", "s", "node", "h:1"},
		{"site", "acme", "", "node", "h:1"},
		{"job", "acme", "s", "", "h:1"},
		{"instance", "acme", "s", "node", ""},
		{"all", "", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, h := range hostile {
				tenant, site, job, inst := or(tc.tenant, h), or(tc.site, h), or(tc.job, h), or(tc.instance, h)
				b := scrapeBatch(1000, 1)
				b.Job, b.Instance = job, inst
				if err := w.Write(tenant, site, b); err != nil {
					t.Fatalf("Write(%q, %q, job %q, instance %q): %v", tenant, site, job, inst, err)
				}
				rw := &relay.Batch{Timestamp: 2000, Series: []relay.Series{ser(1, 1, "__name__", "x", "job", job, "instance", inst)}}
				if err := w.Write(tenant, site, rw); err != nil {
					t.Fatalf("Write remote_write(%q, %q, job %q, instance %q): %v", tenant, site, job, inst, err)
				}
			}
		})
	}
	ents, err := os.ReadDir(parent)
	if err != nil || len(ents) != 1 || ents[0].Name() != "files" {
		t.Fatalf("something was written beside the files dir: %v %v", ents, err)
	}
	dirs := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		depth := len(strings.Split(rel, string(filepath.Separator)))
		if d.Type()&fs.ModeSymlink != 0 {
			link, _ := os.Readlink(p)
			if d.Name() != latestName || depth != 4 || strings.ContainsAny(link, "/.") {
				t.Errorf("unexpected link %s -> %s", rel, link)
			}
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") || depth > 5 {
			t.Errorf("unexpected entry %s", rel)
		}
		if d.IsDir() && depth == 4 {
			dirs++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if dirs == 0 {
		t.Fatal("no scrape directories written")
	}
}

func or(s, h string) string {
	if s == "" {
		return h
	}
	return s
}

// FuzzSanitize requires every name to become one harmless component.
func FuzzSanitize(f *testing.F) {
	for _, s := range []string{"", ".", "..", "../x", "/", "a\x00b", "\xff", strings.Repeat("é", 150)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Sanitize(s)
		checkComponent(t, got)
		if filepath.Join("/root", got) != "/root/"+got {
			t.Fatalf("%q does not stay a single component: %q", got, filepath.Join("/root", got))
		}
	})
}
