package expfmt

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"testing"

	"github.com/edgerelay/edgerelay/relay"
)

const promtool = "/usr/bin/promtool"

// TestPromtoolAcceptsOutput feeds the encoder's output to `promtool check
// metrics`, which parses it with Prometheus' exposition parser and lints it.
// promtool 2.42 predates quoted names: the batch keeps legacy names, or
// has them escaped.
func TestPromtoolAcceptsOutput(t *testing.T) {
	if _, err := os.Stat(promtool); err != nil {
		t.Skipf("%s not installed", promtool)
	}
	for _, tc := range []struct {
		name string
		opts Options
		drop []string
	}{
		{"full", Options{}, []string{"weird", "my.metric"}},
		{"zstats", Options{OmitLabels: []string{"job"}, OmitDefaultTimestamp: true, DefaultTimestamp: 1000}, []string{"weird", "my.metric"}},
		{"escaped names", Options{EscapeNames: true}, []string{"weird"}}, // weird has no HELP, which promtool's lint wants
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := sampleBatch()
			b.Series = slices.DeleteFunc(b.Series, func(s relay.Series) bool {
				return slices.Contains(tc.drop, s.Labels.Get("__name__"))
			})
			var buf bytes.Buffer
			if err := Write(&buf, b, tc.opts); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(promtool, "check", "metrics")
			cmd.Stdin = bytes.NewReader(buf.Bytes())
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("promtool check metrics: %v\n%s\ninput:\n%s", err, out, buf.Bytes())
			}
		})
	}
}
