//go:build !full

package sd

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// heavy are the packages the default build must not link: Prometheus'
// config, scrape and discovery code (target groups aside) and logging,
// remote-write authentication, and the cloud vendors' and Kubernetes'
// clients they bring.
var heavy = regexp.MustCompile(`^github\.com/prometheus/prometheus/(config|scrape|discovery(/[^t].*)?|util/logging|storage/remote)$|` +
	`^(github\.com/prometheus/sigv4|github\.com/aws/|github\.com/Azure/|cloud\.google\.com/|google\.golang\.org/api|k8s\.io/|sigs\.k8s\.io/)`)

// TestDefaultBuildLinksNoHeavyPackage: the scrape side of the edge
// (discovery here, targets and scrape loops in relay/ingest) imports none
// of heavy in the default build.
func TestDefaultBuildLinksNoHeavyPackage(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	out, err := exec.Command(goTool, "list", "-deps", "github.com/edgerelay/edgerelay/relay/sd", "github.com/edgerelay/edgerelay/relay/ingest").CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	var found []string
	for _, p := range strings.Fields(string(out)) {
		if heavy.MatchString(p) {
			found = append(found, p)
		}
	}
	if len(found) > 0 {
		t.Errorf("the default build of relay/sd and relay/ingest links %v", found)
	}
	if !strings.Contains(string(out), "github.com/prometheus/prometheus/discovery/targetgroup\n") {
		t.Error("go list's output lacks discovery/targetgroup: the check reads nothing")
	}
}
