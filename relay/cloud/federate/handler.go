package federate

import (
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/prometheus/model/labels"

	"github.com/edgerelay/edgerelay/relay"
	"github.com/edgerelay/edgerelay/relay/expfmt"
)

// TenantHeader narrows a /federate request to one tenant, like the
// tenant query parameter.
const TenantHeader = "X-Scope-OrgID"

type metrics struct {
	samples, stale, expired prometheus.Counter
	requests                *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, s *Store) metrics {
	m := metrics{
		samples: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_federate_updated_samples_total", Help: "Samples that became the latest of their series."}),
		stale: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_federate_stale_series_total", Help: "Series removed by a staleness marker."}),
		expired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "edgerelay_federate_expired_series_total", Help: "Series dropped because they were not updated within max_age."}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgerelay_federate_requests_total", Help: "/federate requests by HTTP status code."}, []string{"code"}),
	}
	if reg != nil {
		reg.MustRegister(m.samples, m.stale, m.expired, m.requests,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "edgerelay_federate_series", Help: "Series held for /federate."},
				func() float64 { return float64(s.Series()) }))
	}
	return m
}

// ServeHTTP answers GET (or POST form) /federate?match[]=<selector>...
// with the latest sample of every live series matching any selector, in
// the text format, families sorted, HELP and TYPE from metadata, with
// timestamps. Like Prometheus, no match[] yields an empty 200 and a bad
// selector a 400. Metric and label names that are not legacy names are
// escaped ('_' for each other character) unless the Accept header carries
// escaping=allow-utf-8, as Prometheus 3 sends when it takes UTF-8 names.
// A scraper that negotiates the protobuf format gets native histograms too
// (proto.go).
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.Serve(w, r, "")
}

// Serve is ServeHTTP for a reader allowed only tenant's series ("" : every
// tenant's). The tenant parameter or header may name that tenant, or none;
// naming another is refused with 403 and serves nothing.
func (s *Store) Serve(w http.ResponseWriter, r *http.Request, tenant string) {
	code := s.serve(w, r, tenant)
	s.m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
}

// Refused counts a /federate request refused before Serve (401, 403).
func (s *Store) Refused(code int) {
	s.m.requests.WithLabelValues(strconv.Itoa(code)).Inc()
}

func (s *Store) serve(w http.ResponseWriter, r *http.Request, allowed string) int {
	if err := r.ParseForm(); err != nil {
		return fail(w, http.StatusBadRequest, fmt.Sprintf("error parsing form values: %v", err))
	}
	sets, err := s.parser.ParseMetricSelectors(r.Form["match[]"])
	if err != nil {
		return fail(w, http.StatusBadRequest, err.Error())
	}
	only, code, err := Scope(r, allowed)
	if err != nil {
		return fail(w, code, err.Error())
	}

	b := s.snapshot(only, sets)
	pf := protoFormat(r)
	if pf != "" {
		w.Header().Set("Content-Type", string(pf))
	} else {
		w.Header().Set("Content-Type", expfmt.ContentType)
	}
	var out io.Writer = w
	if acceptsGzip(r) {
		w.Header().Set("Content-Encoding", "gzip")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		out = gz
	}
	if pf != "" {
		if err := writeProto(out, b, pf); err != nil {
			s.log.Debug("federate: write response", "err", err)
		}
		return http.StatusOK
	}
	textHistograms(b)
	// Scrapers that predate quoted (UTF-8) names would fail the whole
	// scrape on one; they get such names escaped unless they say otherwise.
	opts := expfmt.Options{EscapeNames: !strings.Contains(r.Header.Get("Accept"), "escaping=allow-utf-8")}
	if err := expfmt.Write(out, b, opts); err != nil {
		s.log.Debug("federate: write response", "err", err)
	}
	return http.StatusOK
}

// Scope returns the one tenant a read request (its form parsed) asks for
// with the tenant parameter or the X-Scope-OrgID header, "" for every
// tenant, within allowed (the one tenant its credential reads; "" : any).
// A request naming another tenant than allowed gets 403, one whose
// parameter and header differ 400: the code and the reason are returned.
func Scope(r *http.Request, allowed string) (string, int, error) {
	only, hdr := r.Form.Get("tenant"), r.Header.Get(TenantHeader)
	if only != "" && hdr != "" && only != hdr {
		return "", http.StatusBadRequest, fmt.Errorf("tenant parameter %q and %s header %q differ", only, TenantHeader, hdr)
	}
	if only == "" {
		only = hdr
	}
	if allowed != "" {
		if only != "" && only != allowed {
			return "", http.StatusForbidden, fmt.Errorf("this credential reads tenant %q only, not %q", allowed, only)
		}
		only = allowed
	}
	return only, http.StatusOK, nil
}

func fail(w http.ResponseWriter, code int, msg string) int {
	http.Error(w, msg, code)
	return code
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

// snapshot copies the live series matching any of sets (of tenant only, if
// not empty) into a batch, sorted by labels, with their families' metadata.
func (s *Store) snapshot(only string, sets [][]*labels.Matcher) *relay.Batch {
	b := &relay.Batch{Metadata: map[string]relay.Metadata{}}
	if len(sets) == 0 {
		return b
	}
	cutoff := s.now().UnixNano() - s.maxAge
	s.mu.RLock()
	names := make([]string, 0, len(s.tenants))
	for name := range s.tenants {
		if only == "" || name == only {
			names = append(names, name)
		}
	}
	tns := make([]*tenant, len(names))
	sort.Strings(names)
	for i, name := range names {
		tns[i] = s.tenants[name]
	}
	s.mu.RUnlock()

	for _, tn := range tns {
		tn.mu.Lock()
		first := len(b.Series)
		for _, e := range tn.series {
			for ; e != nil; e = e.next {
				if e.seen >= cutoff && Matches(e.lset, sets) {
					b.Series = append(b.Series, e.series())
				}
			}
		}
		if len(b.Series) > first {
			for name, m := range tn.meta {
				if _, ok := b.Metadata[name]; !ok && m.seen >= cutoff {
					b.Metadata[name] = m.md
				}
			}
		}
		tn.mu.Unlock()
	}
	slices.SortFunc(b.Series, func(x, y relay.Series) int { return labels.Compare(x.Labels, y.Labels) })
	return b
}

// Matches reports whether lset satisfies every matcher of at least one set
// (the match[] selectors of a read request).
func Matches(lset labels.Labels, sets [][]*labels.Matcher) bool {
	for _, ms := range sets {
		ok := true
		for _, m := range ms {
			if !m.Matches(lset.Get(m.Name)) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}
