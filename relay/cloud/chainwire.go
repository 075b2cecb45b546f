package cloud

import (
	"fmt"
	"os"
	"strings"

	"github.com/edgerelay/edgerelay/relay/cloud/chain"
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
	tlsConf, err := tlsutil.ClientTLS(ch.ServerName, ch.CAFile, ch.CertFile, ch.KeyFile, ch.InsecureSkipVerify)
	if err != nil {
		return nil, fmt.Errorf("cloud.chain.%w", err)
	}
	var token string
	if ch.TokenFile != "" {
		b, err := os.ReadFile(ch.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("cloud.chain.token_file: %w", err)
		}
		if token = strings.TrimSpace(string(b)); token == "" {
			return nil, fmt.Errorf("cloud.chain.token_file %s is empty", ch.TokenFile)
		}
	}
	o, err := chain.New(ch, r.cfg.DataDir, transport.ClientConfig{Addr: ch.Address, TLS: tlsConf, Hello: transport.Hello{Token: token}},
		r.log, r.reg)
	if err != nil {
		return nil, fmt.Errorf("cloud.chain: %w", err)
	}
	return o, nil
}
