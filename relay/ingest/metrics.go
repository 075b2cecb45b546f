package ingest

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Values of the source label of edgerelay_ingested_samples_total.
const (
	sourceScrape      = "scrape"
	sourceRemoteWrite = "remote_write"
)

// ingestedSamplesOpts describes the counter both ingest paths share.
var ingestedSamplesOpts = prometheus.CounterOpts{
	Name: "edgerelay_ingested_samples_total",
	Help: "Samples taken in (scrapes and remote_write) and made durable, before plugins.",
}

// registerCounterVec registers a new CounterVec on reg, or returns the one
// already registered under the same description so that several parts can
// share it. A nil reg gets an unregistered counter.
func registerCounterVec(reg prometheus.Registerer, opts prometheus.CounterOpts, labelNames ...string) (*prometheus.CounterVec, error) {
	cv := prometheus.NewCounterVec(opts, labelNames)
	if reg == nil {
		return cv, nil
	}
	if err := reg.Register(cv); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing, nil
			}
		}
		return nil, fmt.Errorf("register %s: %w", opts.Name, err)
	}
	return cv, nil
}
