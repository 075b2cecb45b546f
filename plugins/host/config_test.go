package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestConfigJSON(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	if err := os.WriteFile(keyFile, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, yaml, want, err string
	}{
		{"empty", ``, `{}`, ""},
		{"map", `{a: 1, b: [x, 2.5], c: {d: true}}`, `{"a":1,"b":["x",2.5],"c":{"d":true}}`, ""},
		{"non-string keys", `{1: one, true: yes}`, `{"1":"one","true":"yes"}`, ""},
		{"file read by the host", `{key_file: ` + keyFile + `, labels: [a]}`, `{"key":"s3cret","labels":["a"]}`, ""},
		{"both set", `{key: x, key_file: ` + keyFile + `}`, "", "both key and key_file"},
		{"missing file", `{key_file: /nonexistent/k}`, "", "key_file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var n yaml.Node
			if tc.yaml != "" {
				var doc yaml.Node
				if err := yaml.Unmarshal([]byte(tc.yaml), &doc); err != nil {
					t.Fatal(err)
				}
				n = *doc.Content[0]
			}
			got, err := configJSON(&n)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v; want %q", err, tc.err)
				}
				return
			}
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}
