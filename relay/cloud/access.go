package cloud

import (
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/edgerelay/edgerelay/relay/config"
	"github.com/edgerelay/edgerelay/relay/webauth"
)

// access decides what an HTTP request to the cloud may read. The web
// config file's basic_auth_users authenticate (webauth); a user that
// cloud.federate.tenant_users maps to a tenant reads /federate as that
// tenant and nothing else;
// every other user is an operator and reads everything. Without users, an
// anonymous request reads everything except /federate on a cloud that
// serves several tenants (cloud.tenants or cloud.client_ca_file set), which
// it refuses: one tenant's series are never served to nobody in particular.
// Safe for concurrent use.
type access struct {
	web      *webauth.Listener
	tenantOf map[string]string // tenant user → tenant
	closed   atomic.Bool       // anonymous /federate refused
}

// setClosed decides whether anonymous /federate is refused: on a cloud
// that serves several tenants. New and a reload call it.
func (a *access) setClosed(cfg *config.Cloud) {
	a.closed.Store(len(cfg.Tenants) > 0 || cfg.ClientCAFile != "" || len(cfg.Federate.TenantUsers) > 0)
}

// newAccess loads the web config file and checks that every tenant user
// is one of its users. New and Check both call it.
func newAccess(cfg *config.Cloud, log *slog.Logger, reg prometheus.Registerer) (*access, error) {
	web, err := webauth.New(cfg.WebConfigFile, log, reg)
	if err != nil {
		return nil, fmt.Errorf("cloud.web_config_file %s: %w", cfg.WebConfigFile, err)
	}
	a := &access{web: web, tenantOf: cfg.Federate.TenantUsers}
	a.setClosed(cfg)
	var errs []error
	for _, u := range slices.Sorted(maps.Keys(a.tenantOf)) {
		if !web.HasUser(u) {
			errs = append(errs, fmt.Errorf("cloud.federate.tenant_users: %q is not one of the basic_auth_users of cloud.web_config_file %s", u, cfg.WebConfigFile))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return a, nil
}

// warn logs, when the cloud starts, that nobody can read /federate.
func (a *access) warn(log *slog.Logger) {
	if a.closed.Load() && !a.web.Users() {
		log.Warn("/federate refuses every request: the cloud serves several tenants and cloud.web_config_file has no basic_auth_users to tell who reads which")
	}
}

// federate serves /federate (and /api/v1/stream, which reads as /federate
// does) within what the request's credential may read.
func (a *access) federate(serve func(w http.ResponseWriter, r *http.Request, tenant string), refused func(code int)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, ok := webauth.User(r)
		switch {
		case ok:
			serve(w, r, a.tenantOf[user]) // "" for an operator: every tenant
		case a.closed.Load():
			refused(http.StatusUnauthorized)
			a.web.Refuse(w, http.StatusUnauthorized, r.URL.Path+" needs a tenant's or an operator's credentials (basic_auth_users of cloud.web_config_file)")
		default:
			serve(w, r, "")
		}
	})
}

// operator serves next to operators, and to anyone when the listener asks
// for no credentials; a tenant's user gets 403.
func (a *access) operator(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, ok := webauth.User(r); ok {
			if t, isTenant := a.tenantOf[user]; isTenant {
				a.web.Refuse(w, http.StatusForbidden, fmt.Sprintf("user %q reads tenant %q's /federate and /api/v1/stream only", user, t))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// describe says, for the status page, who reads what.
func (a *access) describe() string {
	s := a.web.Describe()
	switch {
	case len(a.tenantOf) > 0:
		s += fmt.Sprintf("; %d tenant users read /federate as their tenant, other users are operators", len(a.tenantOf))
	case a.web.Users():
		s += "; every user is an operator"
	}
	if a.closed.Load() && !a.web.Users() {
		s += "; anonymous /federate refused (several tenants)"
	}
	return s
}
