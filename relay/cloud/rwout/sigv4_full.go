//go:build full

package rwout

import (
	"fmt"
	"net/http"

	"github.com/prometheus/sigv4"

	"github.com/edgerelay/edgerelay/relay/config"
)

// signed wraps rt to sign each request with AWS Signature Version 4 when
// cfg sets sigv4, as Prometheus does.
func signed(cfg *config.RemoteWriteConfig, rt http.RoundTripper) (http.RoundTripper, error) {
	if cfg.SigV4Config == nil {
		return rt, nil
	}
	s, err := sigv4.NewSigV4RoundTripper(cfg.SigV4Config, rt)
	if err != nil {
		return nil, fmt.Errorf("sigv4: %w", err)
	}
	return s, nil
}
