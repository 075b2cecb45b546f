package forward

import (
	"errors"

	"github.com/edgerelay/edgerelay/relay/transport"
)

// maxRedirects bounds the redirects followed in a row without a block
// acknowledged: clouds whose views of their cluster disagree for a moment
// could otherwise send an edge back and forth.
const maxRedirects = 4

// target is the client configuration of the next connection attempt: the
// configured address, or the cloud a redirect named.
func (f *Forwarder) target() transport.ClientConfig {
	cc := f.cfg.Client
	if f.redirectTo != "" {
		cc.Addr = f.redirectTo
	}
	return cc
}

// follow decides, from why the last attempt or session ended, where the
// next one goes: to the cloud a redirect names (true: at once, without
// backoff), else back to the configured address (DNS or a load balancer
// in front of a cluster), since a cloud named earlier may be gone.
// progressed says blocks were acknowledged since the last redirect.
func (f *Forwarder) follow(err error, progressed bool) bool {
	if progressed {
		f.hops = 0
	}
	var rd *transport.RedirectError
	if !errors.As(err, &rd) || rd.Addr == "" || f.hops >= maxRedirects {
		if f.redirectTo != "" {
			f.log.Info("uplink: back to the configured address", "address", f.cfg.Client.Addr, "after", err)
		}
		f.redirectTo, f.hops = "", 0
		return false
	}
	f.hops++
	f.redirectTo = rd.Addr
	f.m.redirects.Inc()
	f.log.Info("uplink: the cloud sends this site to another cloud of its cluster; following",
		"to", rd.Addr, "member", rd.Member, "reason", rd.Reason)
	return true
}
