// Package version holds the build's version and commit, set at link time:
//
//	go build -ldflags "-X github.com/edgerelay/edgerelay/relay/version.Version=v0.1.0 -X ...Commit=abc123"
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set by the linker.
var (
	Version = "dev"
	Commit  = ""
)

// String is "edgerelay <version> (commit <c>, <go version>)".
func String() string {
	c := Commit
	if c == "" {
		c = "unknown"
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				if s.Key == "vcs.revision" {
					c = s.Value
				}
			}
		}
	}
	return fmt.Sprintf("edgerelay %s (commit %s, %s %s/%s)", Version, c, runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
