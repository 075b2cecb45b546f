package expfmt

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/edgerelay/edgerelay/relay"
)

// unitBatch is a batch whose families carry units, one of them with
// characters that need escaping.
func unitBatch() *relay.Batch {
	return &relay.Batch{
		Timestamp: 1000,
		Series: []relay.Series{
			series(1000, 3, "__name__", "req_seconds_bucket", "le", "+Inf"),
			series(1000, 1.5, "__name__", "req_seconds_sum"),
			series(1000, 3, "__name__", "req_seconds_count"),
			series(1000, 42, "__name__", "disk_bytes"),
			series(1000, 7, "__name__", "odd_total"),
			series(1000, 1, "__name__", "plain"),
		},
		Metadata: map[string]relay.Metadata{
			"req_seconds": {Type: "histogram", Help: "Request latency.", Unit: "seconds"},
			"disk_bytes":  {Type: "gauge", Help: "Disk used.", Unit: "bytes"},
			"odd":         {Type: "counter", Help: "Odd unit.", Unit: "a\nb\\c"},
			"plain":       {Type: "gauge", Help: "No unit."},
		},
	}
}

// TestUnitLine pins where a unit goes: a "# UNIT family unit" line after
// HELP and TYPE, the unit escaped like HELP text, nothing for a family
// without one.
func TestUnitLine(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, unitBatch(), Options{}); err != nil {
		t.Fatal(err)
	}
	want := `# HELP disk_bytes Disk used.
# TYPE disk_bytes gauge
# UNIT disk_bytes bytes
disk_bytes 42 1000
# HELP odd_total Odd unit.
# TYPE odd_total counter
# UNIT odd_total a\nb\\c
odd_total 7 1000
# HELP plain No unit.
# TYPE plain gauge
plain 1 1000
# HELP req_seconds Request latency.
# TYPE req_seconds histogram
# UNIT req_seconds seconds
req_seconds_bucket{le="+Inf"} 3 1000
req_seconds_sum 1.5 1000
req_seconds_count 3 1000
`
	if got := buf.String(); got != want {
		t.Errorf("output:\n%s\nwant:\n%s", got, want)
	}
}

// TestUnitLineParses reads the output back with Prometheus' 0.0.4 parser
// (the one its scrapes use) and with client_golang's text parser (the one
// promtool lints with): the UNIT line is a comment to both, and every
// sample, HELP and TYPE survives.
func TestUnitLineParses(t *testing.T) {
	b := unitBatch()
	var buf bytes.Buffer
	if err := Write(&buf, b, Options{}); err != nil {
		t.Fatal(err)
	}
	p := parse(t, buf.Bytes())
	checkSamples(t, b, p, nil, nil)
	if p.types["req_seconds"] != model.MetricTypeHistogram || p.help["disk_bytes"] != "Disk used." {
		t.Errorf("types %v help %v", p.types, p.help)
	}

	tp := expfmt.NewTextParser(model.LegacyValidation)
	fams, err := tp.TextToMetricFamilies(strings.NewReader(buf.String()))
	if err != nil {
		t.Fatalf("client_golang text parser: %v\n%s", err, buf.String())
	}
	if len(fams) != 4 || fams["req_seconds"].GetHelp() != "Request latency." {
		t.Errorf("families %v", fams)
	}
}

// TestPromtoolAcceptsUnitLines runs `promtool check metrics` (2.42) over
// output with UNIT lines.
func TestPromtoolAcceptsUnitLines(t *testing.T) {
	if _, err := os.Stat(promtool); err != nil {
		t.Skipf("%s not installed", promtool)
	}
	var buf bytes.Buffer
	b := unitBatch()
	b.Series = b.Series[:4] // odd_total's odd unit is fine; its HELP is not a lint matter either, but keep the lint to units
	if err := Write(&buf, b, Options{EscapeNames: true}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("promtool check metrics: %v\n%s\ninput:\n%s", err, out, buf.Bytes())
	}
}
