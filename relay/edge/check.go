package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/ingest"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
)

// Check does with cfg what New and Run do, short of opening the queue and
// binding the listener, and returns one joined error per problem, each
// naming the field: data_dir must be a directory or creatable; the uplink's
// CA, certificate, key and token files are loaded (uplinkCredentials, as
// New loads them); web_config_file is loaded (newWeb); the plugin chain is built by o.NewProcessor and closed;
// scrape configs are checked as Prometheus' managers apply them
// (ingest.CheckScrapeConfigs). `edgerelay run` calls it before New, and
// `edgerelay check-config` calls only it, so both refuse the same
// configurations with the same words.
func Check(ctx context.Context, cfg *config.Edge, o Options) error {
	var errs []error
	errs = append(errs, config.CheckDir("edge.data_dir", cfg.DataDir))
	for i, up := range cfg.UpstreamList() {
		if _, _, err := uplinkCredentials(upstreamField(cfg, i), up.Upstream); err != nil {
			errs = append(errs, err)
		}
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if _, err := newWeb(cfg, log, prometheus.NewRegistry()); err != nil {
		errs = append(errs, err)
	}
	if o.NewProcessor != nil {
		p, err := o.NewProcessor(prometheus.NewRegistry())
		if err != nil {
			errs = append(errs, err)
		} else if err := p.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("edge.plugins: close: %w", err))
		}
	}
	errs = append(errs, ingest.CheckScrapeConfigs(cfg.Scrape, o.Logger))
	return errors.Join(errs...)
}

// upstreamField names upstream i of cfg.UpstreamList in messages.
func upstreamField(cfg *config.Edge, i int) string {
	if len(cfg.Upstreams) == 0 {
		return "edge.upstream"
	}
	return fmt.Sprintf("edge.upstreams[%d]", i)
}

// uplinkCredentials loads the TLS configuration and the bearer token the
// uplink presents; errors name the field (edge.upstream, or
// edge.upstreams[i]) at fault.
func uplinkCredentials(field string, up config.Upstream) (*tls.Config, string, error) {
	tlsConf, err := tlsutil.ClientTLS(up.ServerName, up.CAFile, up.CertFile, up.KeyFile, up.InsecureSkipVerify)
	if err != nil {
		return nil, "", fmt.Errorf("%s.%w", field, err)
	}
	if up.TokenFile == "" {
		return tlsConf, "", nil
	}
	b, err := os.ReadFile(up.TokenFile)
	if err != nil {
		return nil, "", fmt.Errorf("%s.token_file: %w", field, err)
	}
	token := strings.TrimRight(string(b), "\r\n ")
	if token == "" {
		return nil, "", fmt.Errorf("%s.token_file %s is empty", field, up.TokenFile)
	}
	return tlsConf, token, nil
}

// uplinkCerts names the certificate files the uplink loads, for
// edgerelay_tls_cert_expiry_timestamp_seconds.
func uplinkCerts(cfg *config.Edge) []tlsutil.Cert {
	var certs []tlsutil.Cert
	for _, up := range cfg.UpstreamList() {
		certs = append(certs, tlsutil.Cert{Use: "client", File: up.CertFile}, tlsutil.Cert{Use: "ca", File: up.CAFile})
	}
	return certs
}
