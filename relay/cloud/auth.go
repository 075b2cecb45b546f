package cloud

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/transport"
)

// authenticator decides which edges may connect and as whom. A credential,
// not the edge's word, decides tenant and site:
//   - a client certificate (cloud.client_ca_file set; TLS has verified it
//     before this) names its tenant and site (cloud.client_identity); an
//     edge claiming others is refused;
//   - with cloud.tenants, the edge presents its tenant's token, or, where
//     the tenant lists sites, its site's token, which then decides the site;
//   - cloud.revoked_file refuses listed certificates and sites.
//
// With neither certificates nor tenants configured, the edge's own word is
// taken, and the cloud says so in its log at start. Safe for concurrent use.
type authenticator struct {
	mu       sync.RWMutex           // guards tenants, replaced on reload
	tenants  map[string]*tenantAuth // nil: no tokens configured
	certMode string                 // cloud.client_identity
	certs    bool                   // client certificates are required
	revoked  *revocations           // nil: none
	relays   map[string]*relayAuth  // cloud.relays (relayed.go)
	log      *slog.Logger
	refused  *prometheus.CounterVec // by reason
}

// tenantAuth holds one tenant's tokens.
type tenantAuth struct {
	token []byte            // nil: only site tokens
	sites map[string][]byte // nil: any site name, proven by token
}

// Reasons a connection is refused, the values of
// edgerelay_cloud_auth_refused_total{reason}.
const (
	refusedName     = "bad_name"
	refusedToken    = "bad_token"
	refusedCert     = "bad_certificate"
	refusedMismatch = "identity_mismatch"
	refusedRevoked  = "revoked"
)

func newAuthenticator(cfg *config.Cloud, log *slog.Logger, reg prometheus.Registerer) (*authenticator, error) {
	a := &authenticator{log: log, certMode: cfg.ClientIdentity, certs: cfg.ClientCAFile != "",
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "edgerelay_cloud_auth_refused_total",
			Help: "Edge connections refused, by reason: bad_name, bad_token, bad_certificate (it names no valid tenant/site), identity_mismatch (the edge claimed a tenant or site its credential does not name), revoked.",
		}, []string{"reason"})}
	for _, r := range []string{refusedName, refusedToken, refusedCert, refusedMismatch, refusedRevoked} {
		a.refused.WithLabelValues(r)
	}
	reg.MustRegister(a.refused)
	if cfg.RevokedFile != "" {
		r, err := newRevocations(cfg.RevokedFile, log)
		if err != nil {
			return nil, err
		}
		a.revoked = r
	}
	if len(cfg.Tenants) == 0 && !a.certs {
		log.Warn("edges are not authenticated: any edge may send as any tenant and site; set cloud.client_ca_file or cloud.tenants")
	}
	var err error
	if a.relays, err = readRelays(cfg.Relays); err != nil {
		return nil, err
	}
	a.tenants, err = readTenants(cfg.Tenants)
	return a, err
}

// setTenants replaces the accepted tenants and their tokens (on reload);
// on error nothing changes. Connections already authenticated stay;
// stillAccepted tells the receive path whether their tenant and site are
// still listed.
func (a *authenticator) setTenants(tenants []config.Tenant) error {
	m, err := readTenants(tenants)
	if err != nil {
		return err
	}
	a.mu.Lock()
	a.tenants = m
	a.mu.Unlock()
	return nil
}

// readTenants reads the token files of cloud.tenants; nil when none are
// listed.
func readTenants(tenants []config.Tenant) (map[string]*tenantAuth, error) {
	if len(tenants) == 0 {
		return nil, nil
	}
	m := make(map[string]*tenantAuth, len(tenants))
	for i, t := range tenants {
		ta := &tenantAuth{}
		if t.TokenFile != "" {
			tok, err := readToken(t.TokenFile)
			if err != nil {
				return nil, fmt.Errorf("cloud.tenants[%d].token_file: %w", i, err)
			}
			ta.token = tok
		}
		if len(t.Sites) > 0 {
			ta.sites = make(map[string][]byte, len(t.Sites))
			for j, s := range t.Sites {
				tok, err := readToken(s.TokenFile)
				if err != nil {
					return nil, fmt.Errorf("cloud.tenants[%d].sites[%d].token_file: %w", i, j, err)
				}
				ta.sites[s.Name] = tok
			}
		}
		m[t.Name] = ta
	}
	return m, nil
}

func readToken(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return nil, fmt.Errorf("%s is empty", path)
	}
	return []byte(tok), nil
}

var errBadCredentials = errors.New("unknown tenant or site, or wrong token")

// check is the transport.Authenticator.
func (a *authenticator) check(h transport.Hello, cs tls.ConnectionState) (transport.Peer, error) {
	refuse := func(reason string, err error) (transport.Peer, error) {
		a.refused.WithLabelValues(reason).Inc()
		a.log.Warn("edge refused", "tenant", h.Tenant, "site", h.Site, "reason", reason, "err", err)
		return transport.Peer{}, err
	}
	if h.Tenant == config.RelayHelloTenant {
		return a.checkRelay(h, refuse)
	}
	if !config.ValidName(h.Tenant) {
		return refuse(refusedName, fmt.Errorf("tenant name %q is not valid", h.Tenant))
	}
	if !config.ValidName(h.Site) {
		// A site becomes a directory name: two sites must never share one.
		return refuse(refusedName, fmt.Errorf("site name %q is not valid", h.Site))
	}
	id := identity{tenant: h.Tenant, site: h.Site}
	var cert *x509.Certificate
	if len(cs.PeerCertificates) > 0 {
		cert = cs.PeerCertificates[0]
	}
	if a.certs {
		if cert == nil {
			return refuse(refusedCert, errors.New("no client certificate"))
		}
		cid, err := certIdentity(cert, a.certMode)
		if err != nil {
			return refuse(refusedCert, err)
		}
		if cid != id {
			return refuse(refusedMismatch, fmt.Errorf("edge claims tenant %q site %q but its certificate names tenant %q site %q",
				h.Tenant, h.Site, cid.tenant, cid.site))
		}
	}
	if tenants := a.listed(); tenants != nil {
		ta, ok := tenants[id.tenant]
		var want []byte
		switch {
		case !ok:
		case ta.sites != nil:
			want = ta.sites[id.site]
		case ta.token != nil:
			want = ta.token
		case a.certs:
			// A tenant listed without tokens: its certificate, checked
			// above, is the credential.
			want = []byte{}
		}
		if want == nil || (len(want) > 0 && subtle.ConstantTimeCompare(want, []byte(h.Token)) != 1) {
			return refuse(refusedToken, errBadCredentials)
		}
	}
	if a.revoked != nil {
		if why := a.revoked.revoked(cert, id); why != "" {
			return refuse(refusedRevoked, errors.New(why))
		}
	}
	return transport.Peer{Tenant: id.tenant, Site: id.site, QueueID: h.QueueID}, nil
}

// knows reports whether tenant may send, for blocks that arrive without a
// connection (queue import): every valid name when no tenants are listed.
func (a *authenticator) knows(tenant string) bool {
	tenants := a.listed()
	if tenants == nil {
		return config.ValidName(tenant)
	}
	_, ok := tenants[tenant]
	return ok
}

// stillAccepted reports whether p's tenant, and its site where the tenant
// lists sites, are still in cloud.tenants: a reload that removed them
// closes their connections at their next block.
func (a *authenticator) stillAccepted(p transport.Peer) bool {
	tenants := a.listed()
	if tenants == nil {
		return true
	}
	ta, ok := tenants[p.Tenant]
	if !ok {
		return false
	}
	if ta.sites != nil {
		_, ok = ta.sites[p.Site]
	}
	return ok
}

// listed returns the accepted tenants; nil when any is.
func (a *authenticator) listed() map[string]*tenantAuth {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.tenants
}

// describe says, for the status page, what decides an edge's identity.
func (a *authenticator) describe() string {
	var parts []string
	if a.certs {
		mode := a.certMode
		if mode == "" {
			mode = "auto"
		}
		parts = append(parts, "client certificate ("+mode+")")
	}
	if tenants := a.listed(); tenants != nil {
		parts = append(parts, fmt.Sprintf("%d listed tenants and their tokens", len(tenants)))
	}
	if len(parts) == 0 {
		return "the edge's own word (not authenticated)"
	}
	if a.revoked != nil {
		parts = append(parts, "revocations in "+a.revoked.path)
	}
	return strings.Join(parts, ", ")
}
