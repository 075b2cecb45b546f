package cloud

import (
	"github.com/edgerelay/edgerelay/relay/config"
)

// Reload applies the keys config.Reloadable names for the cloud:
// cloud.tenants (names, sites, token files read again) and cloud.limits
// with each tenant's (every active series is checked again at its next
// sample). The caller has checked with config.RestartOnly that
// nothing else changed. Connections stay open; one whose tenant or site
// is no longer listed is closed at its next block, and a changed token
// counts from the next connection. On error nothing is applied.
func (c *Cloud) Reload(cfg *config.Cloud) error {
	if err := c.auth.setTenants(cfg.Tenants); err != nil {
		return err
	}
	c.access.setClosed(cfg)
	c.live.Store(cfg)
	c.limits.Reloaded(tenantNames(cfg))
	c.log.Info("cloud configuration applied", "tenants", len(cfg.Tenants))
	return nil
}
