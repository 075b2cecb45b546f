package tlsutil

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Cert names a certificate file a role loaded and what it is used for:
// "server" (the cloud's QUIC certificate), "client" (an edge's or a
// chaining cloud's client certificate), "ca" (the CA a client verifies its
// server with) or "client_ca" (the CA the cloud verifies edges with).
type Cert struct {
	Use, File string
}

// Expiry is when the earliest certificate of one file stops being valid.
type Expiry struct {
	Cert
	Subject  string // the earliest certificate's subject common name
	NotAfter time.Time
}

// ReadExpiry reads every PEM certificate in c.File and returns the one that
// expires first.
func ReadExpiry(c Cert) (Expiry, error) {
	data, err := os.ReadFile(c.File)
	if err != nil {
		return Expiry{}, fmt.Errorf("%s certificate: %w", c.Use, err)
	}
	var e Expiry
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		crt, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return Expiry{}, fmt.Errorf("%s certificate %q: %w", c.Use, c.File, err)
		}
		if e.NotAfter.IsZero() || crt.NotAfter.Before(e.NotAfter) {
			e = Expiry{Cert: c, Subject: crt.Subject.CommonName, NotAfter: crt.NotAfter}
		}
	}
	if e.NotAfter.IsZero() {
		return Expiry{}, fmt.Errorf("%s certificate: no PEM certificate in %q", c.Use, c.File)
	}
	return e, nil
}

// ExpiryCollector exports edgerelay_tls_cert_expiry_timestamp_seconds for
// the certificates a role loaded: one series per file and use, the
// earliest NotAfter in the file, as Unix seconds. Files are read when the
// collector is made, as the role loaded them; the QUIC listener and
// dialers keep what they loaded until a restart, and so does the figure.
// A file that cannot be read is left out (the role refused to start on
// it already).
func ExpiryCollector(certs []Cert) prometheus.Collector {
	var exps []Expiry
	seen := map[Cert]bool{}
	for _, c := range certs {
		if c.File == "" || seen[c] {
			continue
		}
		seen[c] = true
		if e, err := ReadExpiry(c); err == nil {
			exps = append(exps, e)
		}
	}
	return &expiryCollector{exps: exps}
}

var expiryDesc = prometheus.NewDesc("edgerelay_tls_cert_expiry_timestamp_seconds",
	"When the certificate in a TLS file this process loaded expires (NotAfter, Unix seconds); for a file of several certificates, the earliest. use: server, client, ca or client_ca.",
	[]string{"use", "file", "subject"}, nil)

type expiryCollector struct{ exps []Expiry }

func (c *expiryCollector) Describe(ch chan<- *prometheus.Desc) { ch <- expiryDesc }

func (c *expiryCollector) Collect(ch chan<- prometheus.Metric) {
	for _, e := range c.exps {
		ch <- prometheus.MustNewConstMetric(expiryDesc, prometheus.GaugeValue,
			float64(e.NotAfter.Unix()), e.Use, e.File, e.Subject)
	}
}
