package webauth

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"

	"github.com/prometheus/exporter-toolkit/web"
)

// Serve serves srv on ln, over TLS when the file has tls_server_config
// (HTTP/2 unless http_server_config.http2 is false), as exporter-toolkit's
// web.Serve does: each handshake reads the file and the certificate files
// again, so a renewed certificate is served without a restart. Whether the
// listener serves TLS at all is decided here, once. srv.Handler should come
// from Handler. It returns what srv.Serve or srv.ServeTLS return.
func (l *Listener) Serve(srv *http.Server, ln net.Listener) error {
	c, err := l.config()
	if err != nil {
		return err
	}
	if !c.TLSConfig.IsEnabled() {
		l.log.Info("HTTP listener without TLS", "address", ln.Addr().String(), "auth", l.Describe())
		return srv.Serve(ln)
	}
	tc, err := web.ConfigToTLSConfig(&c.TLSConfig)
	if err != nil {
		return fmt.Errorf("web config file %s: %w", l.path, err)
	}
	if !c.HTTPConfig.HTTP2 {
		srv.TLSNextProto = map[string]func(*http.Server, *tls.Conn, http.Handler){}
	}
	srv.TLSConfig = tc
	tc.GetConfigForClient = func(*tls.ClientHelloInfo) (*tls.Config, error) {
		c, err := l.config()
		if err != nil {
			return nil, err
		}
		fresh, err := web.ConfigToTLSConfig(&c.TLSConfig)
		if err != nil {
			return nil, err
		}
		fresh.NextProtos = srv.TLSConfig.NextProtos
		return fresh, nil
	}
	l.log.Info("HTTP listener with TLS", "address", ln.Addr().String(), "http2", c.HTTPConfig.HTTP2, "auth", l.Describe())
	return srv.ServeTLS(ln, "", "")
}
