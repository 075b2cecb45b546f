package cloud

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/edgerelay/edgerelay/relay/cloud/chain"
	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/tlsutil"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// newChain builds the output toward the next cloud (cloud.chain), nil
// without one.
func (r *receiver) newChain() (*chain.Output, error) {
	ch := r.cfg.Chain
	if ch == nil {
		return nil, nil
	}
	client, err := chainClient(ch)
	if err != nil {
		return nil, err
	}
	o, err := chain.New(ch, r.cfg.DataDir, client, r.log, r.reg)
	if err != nil {
		return nil, fmt.Errorf("cloud.chain: %w", err)
	}
	return o, nil
}

// chainClient loads cloud.chain's TLS files and token, as run and
// check-config both do.
func chainClient(ch *config.Chain) (transport.ClientConfig, error) {
	tlsConf, err := tlsutil.ClientTLS(ch.ServerName, ch.CAFile, ch.CertFile, ch.KeyFile, ch.InsecureSkipVerify)
	if err != nil {
		return transport.ClientConfig{}, fmt.Errorf("cloud.chain.%w", err)
	}
	var token string
	if ch.TokenFile != "" {
		b, err := os.ReadFile(ch.TokenFile)
		if err != nil {
			return transport.ClientConfig{}, fmt.Errorf("cloud.chain.token_file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return transport.ClientConfig{}, fmt.Errorf("cloud.chain.token_file %s is empty", ch.TokenFile)
		}
	}
	return transport.ClientConfig{Addr: ch.Address, TLS: tlsConf, Hello: transport.Hello{Token: token}}, nil
}

// cloudCerts names the certificate files the cloud loads (its own, or the
// self-signed one in data_dir; the client CA; cloud.chain's), for
// edgerelay_tls_cert_expiry_timestamp_seconds.
func cloudCerts(cfg *config.Cloud) []tlsutil.Cert {
	own := cfg.CertFile
	if own == "" {
		own = filepath.Join(cfg.DataDir, tlsutil.SelfSignedCertFile)
	}
	certs := []tlsutil.Cert{{Use: "server", File: own}, {Use: "client_ca", File: cfg.ClientCAFile}}
	if ch := cfg.Chain; ch != nil {
		certs = append(certs, tlsutil.Cert{Use: "client", File: ch.CertFile}, tlsutil.Cert{Use: "ca", File: ch.CAFile})
	}
	return certs
}
