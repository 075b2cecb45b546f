package packaging_test

import (
	"bytes"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// distVersion is the version the test stamps; its Debian form is 9.8.7.
const distVersion = "v9.8.7"

// TestDist runs `make dist` as a release does and checks what an operator
// gets: three static binaries whose architectures `file` confirms, sums that
// `sha256sum -c` accepts, one .deb per architecture; then, as root on a
// Debian amd64 machine, that the .deb installs, its unit passes
// `systemd-analyze verify`, its configuration is a conffile that
// check-config accepts as the service's user, and that a purge leaves the
// machine as it was.
func TestDist(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three binaries and three packages")
	}
	for _, tool := range []string{"make", "file", "sha256sum", "dpkg-deb"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	out := t.TempDir()
	t.Logf("make dist:\n%s", run(t, "..", "make", "dist", "DIST_DIR="+out, "VERSION="+distVersion))

	wantFile := map[string]string{
		"edgerelay-linux-amd64":      "x86-64",
		"edgerelay-linux-arm64":      "ARM aarch64",
		"edgerelay-linux-armv7":      "ARM, EABI5",
		"edgerelay-full-linux-amd64": "x86-64",
	}
	for name, arch := range wantFile {
		got := run(t, out, "file", "-b", name)
		if !strings.Contains(got, arch) || !strings.Contains(got, "statically linked") {
			t.Errorf("file %s: %q, want a statically linked %s executable", name, got, arch)
		}
	}
	sums := run(t, out, "sha256sum", "-c", "SHA256SUMS")
	if n := strings.Count(sums, ": OK"); n != 7 {
		t.Errorf("sha256sum -c SHA256SUMS checked %d files, want 7 (3 binaries, the full build, 3 packages):\n%s", n, sums)
	}
	debs := map[string]string{}
	for _, arch := range []string{"amd64", "arm64", "armhf"} {
		deb := filepath.Join(out, "edgerelay_9.8.7_"+arch+".deb")
		if got := strings.TrimSpace(run(t, out, "dpkg-deb", "-f", deb, "Architecture")); got != arch {
			t.Errorf("%s: Architecture %q", deb, got)
		}
		if got := run(t, out, "dpkg-deb", "-I", deb, "conffiles"); strings.TrimSpace(got) != "/etc/edgerelay/edge.yaml" {
			t.Errorf("%s: conffiles %q, want /etc/edgerelay/edge.yaml", deb, got)
		}
		debs[arch] = deb
	}
	if runtime.GOARCH == "amd64" {
		if got := run(t, out, "./edgerelay-linux-amd64", "version"); !strings.Contains(got, "edgerelay "+distVersion+" ") {
			t.Errorf("version: %q, want %s stamped", got, distVersion)
		}
		t.Run("full", func(t *testing.T) { testFullBuild(t, out) })
		t.Run("install", func(t *testing.T) { testInstall(t, debs["amd64"]) })
	}
}

// testInstall installs deb with dpkg, checks it as an operator would, and
// purges it.
// testFullBuild: the full build's check-config takes kubernetes_sd_configs
// and consul_sd_configs; the default build's refuses them by name.
func testFullBuild(t *testing.T, dir string) {
	cfg := filepath.Join(t.TempDir(), "edge.yaml")
	if err := os.WriteFile(cfg, []byte(`edge:
  tenant: acme
  site: plant-7
  upstream: {address: "127.0.0.1:4433"}
  scrape_configs:
    - job_name: pods
      kubernetes_sd_configs: [{role: pod}]
    - job_name: services
      consul_sd_configs: [{server: "127.0.0.1:8500"}]
`), 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, "./edgerelay-full-linux-amd64", "check-config", cfg)
	got, err := exec.Command(filepath.Join(dir, "edgerelay-linux-amd64"), "check-config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(got), "kubernetes_sd_configs needs edgerelay's full build") ||
		!strings.Contains(string(got), "consul_sd_configs needs edgerelay's full build") {
		t.Errorf("default build's check-config: %v\n%s\nwant both discoveries refused by name", err, got)
	}
}

func testInstall(t *testing.T, deb string) {
	for _, tool := range []string{"dpkg", "dpkg-query", "systemd-analyze", "runuser"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed", tool)
		}
	}
	if os.Geteuid() != 0 {
		t.Skip("dpkg -i needs root")
	}
	if _, err := os.Stat("/usr/bin/edgerelay"); err == nil {
		t.Skip("edgerelay is installed on this machine already; not touching it")
	}
	if _, err := user.Lookup("edgerelay"); err == nil {
		t.Skip("a user edgerelay exists on this machine already; not touching it")
	}
	t.Cleanup(func() { _ = exec.Command("dpkg", "--purge", "edgerelay").Run() })
	run(t, "/", "dpkg", "-i", deb)

	status := run(t, "/", "dpkg-query", "-W", "-f", "${Status} ${Version}\n${Conffiles}\n", "edgerelay")
	if !strings.Contains(status, "install ok installed 9.8.7") || !strings.Contains(status, " /etc/edgerelay/edge.yaml ") {
		t.Errorf("dpkg-query: %q, want installed 9.8.7 with /etc/edgerelay/edge.yaml as a conffile", status)
	}
	if got := run(t, "/", "edgerelay", "version"); !strings.Contains(got, distVersion) {
		t.Errorf("installed edgerelay version: %q", got)
	}
	// The service's user can read the configuration, and it is valid.
	run(t, "/", "runuser", "-u", "edgerelay", "--", "/usr/bin/edgerelay", "check-config", "/etc/edgerelay/edge.yaml")

	unit := "/usr/lib/systemd/system/edgerelay.service"
	if got, err := exec.Command("systemd-analyze", "verify", unit).CombinedOutput(); err != nil || len(got) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unit, err, got)
	}
	sec := run(t, "/", "systemd-analyze", "security", "--offline=true", "--no-pager", unit)
	m := regexp.MustCompile(`Overall exposure level for edgerelay.service: ([0-9.]+)`).FindStringSubmatch(sec)
	if m == nil {
		t.Fatalf("systemd-analyze security printed no exposure level:\n%s", sec)
	}
	if level, _ := strconv.ParseFloat(m[1], 64); level > 2 {
		t.Errorf("the unit's exposure level is %s, want at most 2 (hardened):\n%s", m[1], sec)
	}
	t.Logf("systemd-analyze security: exposure %s", m[1])

	run(t, "/", "dpkg", "--purge", "edgerelay")
	for _, p := range []string{"/usr/bin/edgerelay", unit, "/etc/edgerelay"} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("%s is still there after dpkg --purge", p)
		}
	}
	if _, err := user.Lookup("edgerelay"); err == nil {
		t.Errorf("user edgerelay is still there after dpkg --purge")
	}
}

// run runs a command in dir and returns its standard output; it fails the
// test, with both outputs, when the command fails.
func run(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String()
}
