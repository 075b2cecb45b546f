package config

import (
	"fmt"
	"net"
)

// validateOpen refuses a cloud that strangers could use or read: a QUIC
// listener other hosts reach while edges are not authenticated (no
// client_ca_file, no tenants), where any edge could claim any tenant and
// site, or an HTTP listener other hosts reach with no web config, where
// anyone could read /federate and /metrics. On loopback (the defaults)
// only this host reaches them; allow_unauthenticated says the network is
// trusted.
func (cl *Cloud) validateOpen() []error {
	if cl.AllowUnauthenticated {
		return nil
	}
	var errs []error
	if cl.ClientCAFile == "" && len(cl.Tenants) == 0 && beyondHost(cl.QUICListen) {
		errs = append(errs, fmt.Errorf("cloud.quic_listen %q is reachable from other hosts, but edges are not authenticated (no cloud.client_ca_file, no cloud.tenants): any edge could claim any tenant and site; set one of them, listen on 127.0.0.1, or set cloud.allow_unauthenticated: true on a network only trusted hosts reach", cl.QUICListen))
	}
	if cl.WebConfigFile == "" && beyondHost(cl.HTTPListen) {
		errs = append(errs, fmt.Errorf("cloud.http_listen %q is reachable from other hosts without authentication (no cloud.web_config_file): anyone could read /federate and /metrics; set a web config with users, listen on 127.0.0.1, or set cloud.allow_unauthenticated: true on a network only trusted hosts reach", cl.HTTPListen))
	}
	return errs
}

// beyondHost reports whether a listener on hostport may be reached from
// other hosts: every address ("" or a wildcard), a non-loopback IP, or a
// name other than localhost (names are not resolved here). A malformed
// hostport is reported elsewhere.
func beyondHost(hostport string) bool {
	host, _, err := net.SplitHostPort(hostport)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return false
	}
	if ip := net.ParseIP(host); ip != nil {
		return !ip.IsLoopback()
	}
	return true
}
