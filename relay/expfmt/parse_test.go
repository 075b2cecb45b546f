package expfmt

import (
	"errors"
	"io"
	"math"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/textparse"
)

// parsed is what Prometheus' own text parser reads back from an exposition.
type parsed struct {
	samples []parsedSample
	help    map[string]string
	types   map[string]model.MetricType
	// order lists family names in the order their HELP/TYPE lines came.
	order []string
}

type parsedSample struct {
	lset  labels.Labels
	t     int64
	hasT  bool
	value float64
}

// parse reads text with textparse's 0.0.4 parser, failing the test on error.
func parse(t testing.TB, text []byte) parsed {
	t.Helper()
	p, err := parseText(text)
	if err != nil {
		t.Fatalf("textparse: %v\n%s", err, text)
	}
	return p
}

func parseText(text []byte) (parsed, error) {
	out := parsed{help: map[string]string{}, types: map[string]model.MetricType{}}
	// The parser keeps references into its input; hand it a copy.
	p := textparse.NewPromParser(append([]byte(nil), text...), labels.NewSymbolTable(), false)
	for {
		e, err := p.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		switch e {
		case textparse.EntryHelp:
			m, h := p.Help()
			out.help[unescapeName(m)] = string(h)
			out.order = append(out.order, unescapeName(m))
		case textparse.EntryType:
			m, typ := p.Type()
			out.types[unescapeName(m)] = typ
			out.order = append(out.order, unescapeName(m))
		case textparse.EntrySeries:
			var s parsedSample
			_, ts, v := p.Series()
			p.Labels(&s.lset)
			s.value = v
			if ts != nil {
				s.t, s.hasT = *ts, true
			}
			out.samples = append(out.samples, s)
		}
	}
}

// nameReplacer undoes the escaping of a quoted name, which the parser
// hands back raw from HELP and TYPE lines.
var nameReplacer = strings.NewReplacer(`\\`, `\`, `\"`, `"`, `\n`, "\n")

func unescapeName(m []byte) string { return nameReplacer.Replace(string(m)) }

// sameFloat reports whether a and b are the same value; all NaNs are equal,
// since the parser canonicalises them.
func sameFloat(a, b float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Float64bits(a) == math.Float64bits(b)
}
