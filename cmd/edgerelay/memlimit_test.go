package main

import (
	"bufio"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestCloudOnlyMemoryLimit: a process running only the cloud role does not
// keep the gateway's default memory limit (the collector follows GOGC), and
// keeps one given explicitly.
func TestCloudOnlyMemoryLimit(t *testing.T) {
	bin := buildBinary(t)
	for _, c := range []struct {
		name string
		args []string
		want float64
	}{
		{"default", nil, float64(1<<63 - 1)},
		{"explicit", []string{"--memory-limit", "200MiB"}, 200 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			httpAddr := freePort(t, "tcp")
			cfg := filepath.Join(dir, "cloud.yaml")
			yaml := "cloud:\n  quic_listen: " + freePort(t, "udp") + "\n  http_listen: " + httpAddr +
				"\n  data_dir: " + filepath.Join(dir, "data") + "\n  files_dir: " + filepath.Join(dir, "files") + "\n"
			if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			p := start(t, bin, append(c.args, "run", "--config", cfg)...)
			var got float64
			waitFor(t, "go_gc_gomemlimit_bytes on /metrics", 30*time.Second, func() bool {
				v, ok := gaugeValue("http://"+httpAddr+"/metrics", "go_gc_gomemlimit_bytes")
				got = v
				return ok
			})
			if got != c.want {
				t.Fatalf("go_gc_gomemlimit_bytes = %v, want %v", got, c.want)
			}
			p.stop(t)
		})
	}
}

// gaugeValue reads the value of an unlabelled metric name from url.
func gaugeValue(url, name string) (float64, bool) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			return f, err == nil
		}
	}
	return 0, false
}
