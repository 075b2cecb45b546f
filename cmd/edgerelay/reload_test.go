package main

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestChangedModuleReloads replaces the .wasm file of a running plugin
// stage (a rename over it, as a deployment does): the edge reloads the
// chain by itself, and the next scrapes show the new module's behaviour.
func TestChangedModuleReloads(t *testing.T) {
	dir := t.TempDir()
	stage := filepath.Join(dir, "stage.wasm")
	copyFile(t, "../../wasm-examples/dropprefix/dropprefix.wasm", stage)
	env := newEnv(t, fmt.Sprintf(`  plugins:
    - name: tenant-stage
      module: %s
      config:
        prefix: synth_request_duration_seconds_sum
`, stage))
	cloud := start(t, env.bin, "run", "--config", env.cloudConfig)
	edge := start(t, env.bin, "run", "--config", env.edgeConfig)
	identity := map[string]string{"job": "synth", "instance": env.targetAddr, "env": "test", "site": "plant-7", "tenant": "acme"}
	sum := labelsWith(identity, "__name__", "synth_request_duration_seconds_sum")
	files := filepath.Join(env.dir, "files")
	newest := func() (n int64, hasSum bool) {
		n = -1
		for _, s := range readScrapes(t, files) {
			if s.meta["type"] != "synth" {
				continue
			}
			if k := int64(s.samples[labelsWith(identity, "__name__", "synth_scrape_number")]); k > n {
				_, hasSum = s.samples[sum]
				n = k
			}
		}
		return n, hasSum
	}
	waitFor(t, "scrapes filtered by the first module", 120*time.Second, func() bool { n, has := newest(); return n >= 2 && !has })

	// The new module passes every series.
	copyFile(t, "../../plugins/host/testdata/passthrough.wasm", stage+".new")
	if err := os.Rename(stage+".new", stage); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a scrape through the replaced module", 60*time.Second, func() bool { _, has := newest(); return has })
	edge.stop(t)
	cloud.stop(t)
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
