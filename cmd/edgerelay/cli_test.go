package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCLI(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	app := newApp()
	var out, errOut bytes.Buffer
	app.Writer, app.ErrWriter = &out, &errOut
	err = app.Run(append([]string{"edgerelay"}, args...))
	return out.String(), errOut.String(), err
}

func TestCheckConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("edge:\n  site: x\n  upstream: {address: nowhere}\n"), 0o644)
	for _, tc := range []struct {
		name    string
		file    string
		wantErr bool
		want    []string
	}{
		{"example edge", "../../configs/edge.yaml", false, []string{"valid", "tenant acme", "site plant-7", "2 scrape jobs"}},
		{"example cloud", "../../configs/cloud.yaml", false, []string{"valid", "cloud (quic 127.0.0.1:4433"}},
		{"missing fields", bad, true, []string{"edge.tenant is required", `edge.upstream.address must be host:port; got "nowhere"`}},
		{"no such file", "does-not-exist.yaml", true, []string{"does-not-exist.yaml"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, err := runCLI(t, "check-config", tc.file)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr && !errors.Is(err, errReported) {
				t.Fatalf("error %v was not reported line by line", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(out+errOut, w) {
					t.Errorf("output %q lacks %q", out+errOut, w)
				}
			}
			if tc.wantErr && len(strings.Split(strings.TrimSpace(errOut), "\n")) < len(tc.want) {
				t.Errorf("want one line per problem, got %q", errOut)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	out, _, err := runCLI(t, "version")
	if err != nil || !strings.HasPrefix(out, "edgerelay ") || !strings.Contains(out, "go1.") {
		t.Fatalf("version: %q %v", out, err)
	}
}

func TestFlagsFromEnvironment(t *testing.T) {
	t.Setenv("EDGERELAY_LOG_LEVEL", "bogus")
	_, _, err := runCLI(t, "run", "--config", "../../configs/edge.yaml")
	if err == nil || !strings.Contains(err.Error(), "--log-level") {
		t.Fatalf("EDGERELAY_LOG_LEVEL not read: %v", err)
	}
}

func TestCerts(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := runCLI(t, "certs", "--out", dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"ca.pem", "cloud.pem", "cloud-key.pem", "edge.pem", "edge-key.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestParseUntil(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "", want: 0},
		{in: "6h", want: now.Add(-6 * time.Hour).UnixMilli()},
		{in: "2026-11-29T00:00:00Z", want: time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC).UnixMilli()},
		{in: "-1h", bad: true},
		{in: "yesterday", bad: true},
	} {
		got, err := parseUntil(tc.in, now)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("parseUntil(%q) = %d, %v; want %d (error %v)", tc.in, got, err, tc.want, tc.bad)
		}
	}
}
