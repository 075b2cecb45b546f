package config

import (
	"errors"
	"fmt"
	"sort"
)

// The HTTP listeners' security keys.
//
// edge.web_config_file and cloud.web_config_file name a Prometheus web
// configuration file — the --web.config.file format: tls_server_config,
// basic_auth_users (bcrypt hashes), http_server_config, rate_limit — read
// and validated by exporter-toolkit when the role starts (and by
// check-config the same way). /-/healthy and /-/ready stay open; every other
// path needs one of basic_auth_users when the file has any.
//
// On the cloud a user is an operator — every tenant on /federate, /metrics,
// the status page and pprof — unless cloud.federate.tenant_users maps it to
// a tenant: then it reads /federate as that tenant only (the tenant
// parameter may narrow an operator's view, never widen a tenant's) and
// nothing else. Without users, an anonymous /federate is refused (401) as
// soon as the cloud serves several tenants: cloud.tenants or
// cloud.client_ca_file set.

// Debug holds switches for diagnostics that are off by default.
type Debug struct {
	// Pprof serves Go's runtime profiles at /debug/pprof/ on the HTTP
	// listener (behind its authentication; on the cloud, operators only).
	// Default false: /debug/pprof/ answers 404.
	Pprof bool `yaml:"pprof"`
}

// validateWeb checks the keys above that need no file read; the web config
// file itself, and that each tenant user is one of its users, are checked
// by each role's Check, as the role loads them.
func (c *Config) validateWeb() []error {
	cl := c.Cloud
	if cl == nil {
		return nil
	}
	var errs []error
	listed := map[string]bool{}
	for _, t := range cl.Tenants {
		listed[t.Name] = true
	}
	users := make([]string, 0, len(cl.Federate.TenantUsers))
	for u := range cl.Federate.TenantUsers {
		users = append(users, u)
	}
	sort.Strings(users)
	for _, u := range users {
		t := cl.Federate.TenantUsers[u]
		switch {
		case u == "":
			errs = append(errs, errors.New("cloud.federate.tenant_users: a user name is empty"))
		case !ValidName(t):
			errs = append(errs, fmt.Errorf("cloud.federate.tenant_users[%q] must be a tenant name: letters, digits, '-', '_' or '.'; got %q", u, t))
		case len(cl.Tenants) > 0 && !listed[t]:
			errs = append(errs, fmt.Errorf("cloud.federate.tenant_users[%q]: tenant %q is not one of cloud.tenants", u, t))
		}
	}
	if len(users) > 0 && cl.WebConfigFile == "" {
		errs = append(errs, errors.New("cloud.federate.tenant_users needs cloud.web_config_file, whose basic_auth_users hold the users' passwords"))
	}
	return errs
}
