package cloud

import (
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/edgerelay/edgerelay/relay/config"
)

// identity is the tenant and site a credential vouches for.
type identity struct {
	tenant, site string
}

// spiffeScheme is the URI scheme of a client certificate naming its edge
// as spiffe://<tenant>/<site>.
const spiffeScheme = "spiffe"

// certIdentity reads the tenant and site cert names, as mode says ("" or
// "auto", "spiffe", "subject"; see config.Cloud.ClientIdentity). A
// certificate with several spiffe URI SANs, or several O values, is
// ambiguous and names nobody.
func certIdentity(cert *x509.Certificate, mode string) (identity, error) {
	var uris []*url.URL
	for _, u := range cert.URIs {
		if u.Scheme == spiffeScheme {
			uris = append(uris, u)
		}
	}
	useSPIFFE := mode == "spiffe" || ((mode == "" || mode == "auto") && len(uris) > 0)
	if useSPIFFE {
		if len(uris) != 1 {
			return identity{}, fmt.Errorf("client certificate has %d spiffe://<tenant>/<site> URI SANs; want one", len(uris))
		}
		u := uris[0]
		site, ok := strings.CutPrefix(u.Path, "/")
		id := identity{tenant: u.Host, site: site}
		if !ok || u.User != nil || u.Port() != "" || u.RawQuery != "" || u.Fragment != "" ||
			!config.ValidName(id.tenant) || !config.ValidName(id.site) {
			return identity{}, fmt.Errorf("client certificate URI SAN %q is not spiffe://<tenant>/<site> with valid names", u.String())
		}
		return id, nil
	}
	switch n := len(cert.Subject.Organization); {
	case n == 0:
		return identity{}, errors.New("client certificate has no Subject O (tenant)")
	case n > 1:
		return identity{}, fmt.Errorf("client certificate has %d Subject O values; want one (the tenant)", n)
	}
	id := identity{tenant: cert.Subject.Organization[0], site: cert.Subject.CommonName}
	if !config.ValidName(id.tenant) {
		return identity{}, fmt.Errorf("client certificate Subject O %q is not a valid tenant name", id.tenant)
	}
	if !config.ValidName(id.site) {
		return identity{}, fmt.Errorf("client certificate Subject CN %q is not a valid site name", id.site)
	}
	return id, nil
}
