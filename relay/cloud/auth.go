package cloud

import (
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// authenticator decides which edges may connect. With tenants configured,
// an edge must name one of them and present its token; without, any edge
// with a valid tenant name is accepted (TLS client certificates, when
// cloud.client_ca_file is set, are checked by TLS before this).
type authenticator struct {
	tokens  map[string][]byte
	log     *slog.Logger
	refused prometheus.Counter
}

func newAuthenticator(tenants []config.Tenant, log *slog.Logger, reg prometheus.Registerer) (*authenticator, error) {
	a := &authenticator{log: log, refused: prometheus.NewCounter(prometheus.CounterOpts{
		Name: "edgerelay_cloud_auth_refused_total", Help: "Edge connections refused by tenant authentication.",
	})}
	reg.MustRegister(a.refused)
	if len(tenants) == 0 {
		return a, nil
	}
	a.tokens = make(map[string][]byte, len(tenants))
	for i, t := range tenants {
		b, err := os.ReadFile(t.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("cloud.tenants[%d].token_file: %w", i, err)
		}
		tok := strings.TrimSpace(string(b))
		if tok == "" {
			return nil, fmt.Errorf("cloud.tenants[%d].token_file %s is empty", i, t.TokenFile)
		}
		a.tokens[t.Name] = []byte(tok)
	}
	return a, nil
}

var errBadCredentials = errors.New("unknown tenant or wrong token")

func (a *authenticator) check(h transport.Hello, _ tls.ConnectionState) (transport.Peer, error) {
	refuse := func(err error) (transport.Peer, error) {
		a.refused.Inc()
		a.log.Warn("edge refused", "tenant", h.Tenant, "site", h.Site, "reason", err)
		return transport.Peer{}, err
	}
	if !config.ValidName(h.Tenant) {
		return refuse(fmt.Errorf("tenant name %q is not valid", h.Tenant))
	}
	if h.Site == "" {
		return refuse(errors.New("site is empty"))
	}
	if a.tokens != nil {
		want, ok := a.tokens[h.Tenant]
		if !ok || subtle.ConstantTimeCompare(want, []byte(h.Token)) != 1 {
			return refuse(errBadCredentials)
		}
	}
	return transport.Peer{Tenant: h.Tenant, Site: h.Site, QueueID: h.QueueID}, nil
}
