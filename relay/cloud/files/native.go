package files

import (
	"fmt"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/expfmt"
)

// nativeSuffix ends the name of a scrape's third file, <epoch_us>.native.gz:
// its native histograms and exemplars in the form expfmt.ParseNative reads
// (gzip), every label written in full (kvs are not left out). The file is
// there only when the scrape holds a histogram sample or an exemplar, so
// the .data.gz stays plain text format that readers knowing only float
// samples (and promtool) accept, and a scrape of floats only looks as it
// always did.
const nativeSuffix = ".native.gz"

// renderNative returns the compressed native form of b, or nil when b has
// no histogram sample (other than staleness markers) and no exemplar. The
// bytes stay valid until the next call on sc.
func (sc *scratch) renderNative(b *relay.Batch) ([]byte, error) {
	if !expfmt.HasNative(b) {
		return nil, nil
	}
	sc.native.Reset()
	sc.gz.Reset(&sc.native)
	if err := expfmt.WriteNative(sc.gz, b); err != nil {
		return nil, fmt.Errorf("encode native histograms: %w", err)
	}
	if err := sc.gz.Close(); err != nil {
		return nil, fmt.Errorf("compress native histograms: %w", err)
	}
	return sc.native.Bytes(), nil
}
