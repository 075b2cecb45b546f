// Package tlsutil makes and loads the TLS material edgerelay's QUIC uplink
// runs on: a small CA and leaf pairs for trying TLS and mTLS (`edgerelay
// certs`), a self-signed server pair kept in the cloud's data directory when
// no certificate is configured, and the server and client tls.Config values
// built from files.
//
// Every function is safe for concurrent use; the returned tls.Config values
// are fresh and owned by the caller.
package tlsutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"strings"
	"time"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 2 * 365 * 24 * time.Hour
	// backdate tolerates clocks that run a little behind the issuer's.
	backdate = time.Hour
)

// GenerateCA makes a self-signed ECDSA P-256 certificate authority named cn,
// valid for ten years, and returns its certificate and PKCS#8 private key in
// PEM.
func GenerateCA(cn string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate ca key: %w", err)
	}
	tmpl, err := template(cn, caValidity)
	if err != nil {
		return nil, nil, err
	}
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.MaxPathLenZero = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create ca certificate: %w", err)
	}
	return encode(der, key)
}

// GenerateLeaf makes an ECDSA P-256 certificate named cn signed by the CA
// given in PEM, valid for two years. hosts become subject alternative names
// (IP addresses as IP SANs, everything else as DNS names). A client leaf is
// usable for TLS client authentication only, a server leaf for server
// authentication only.
func GenerateLeaf(caCertPEM, caKeyPEM []byte, cn string, hosts []string, client bool) (certPEM, keyPEM []byte, err error) {
	return generateLeaf(caCertPEM, caKeyPEM, cn, hosts, client, nil)
}

func generateLeaf(caCertPEM, caKeyPEM []byte, cn string, hosts []string, client bool, edit func(*x509.Certificate)) (certPEM, keyPEM []byte, err error) {
	caCert, caKey, err := parsePair(caCertPEM, caKeyPEM)
	if err != nil {
		return nil, nil, fmt.Errorf("parse ca: %w", err)
	}
	if !caCert.IsCA {
		return nil, nil, errors.New("parse ca: certificate is not a certificate authority")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate leaf key: %w", err)
	}
	tmpl, err := template(cn, leafValidity)
	if err != nil {
		return nil, nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	if client {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	} else {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	addHosts(tmpl, hosts)
	if edit != nil {
		edit(tmpl)
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("create leaf certificate %q: %w", cn, err)
	}
	return encode(der, key)
}

// GenerateEdgeLeaf makes a client pair like GenerateLeaf whose identity a
// cloud trusts: a URI SAN spiffe://<tenant>/<site>, Subject O tenant and
// CN site.
func GenerateEdgeLeaf(caCertPEM, caKeyPEM []byte, tenant, site string) (certPEM, keyPEM []byte, err error) {
	u := &url.URL{Scheme: "spiffe", Host: tenant, Path: "/" + site}
	return generateLeaf(caCertPEM, caKeyPEM, site, nil, true, func(tmpl *x509.Certificate) {
		tmpl.Subject.Organization = []string{tenant}
		tmpl.URIs = []*url.URL{u}
	})
}

// generateSelfSigned makes a self-signed server certificate for hosts; a
// client trusts it by listing the certificate itself as its CA.
func generateSelfSigned(cn string, hosts []string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("generate key: %w", err)
	}
	tmpl, err := template(cn, caValidity)
	if err != nil {
		return nil, nil, err
	}
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	addHosts(tmpl, hosts)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("create self-signed certificate: %w", err)
	}
	return encode(der, key)
}

// Fingerprint returns the SHA-256 of a DER certificate as colon-separated
// upper-case hex, the form `openssl x509 -fingerprint -sha256` prints.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	h := strings.ToUpper(hex.EncodeToString(sum[:]))
	parts := make([]string, 0, len(sum))
	for i := 0; i < len(h); i += 2 {
		parts = append(parts, h[i:i+2])
	}
	return strings.Join(parts, ":")
}

func template(cn string, validity time.Duration) (*x509.Certificate, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial: %w", err)
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"edgerelay"}},
		NotBefore:    now.Add(-backdate),
		NotAfter:     now.Add(validity),
	}, nil
}

func addHosts(tmpl *x509.Certificate, hosts []string) {
	for _, h := range hosts {
		h = strings.TrimSpace(h)
		if h == "" {
			continue
		}
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
}

func encode(der []byte, key *ecdsa.PrivateKey) (certPEM, keyPEM []byte, err error) {
	k, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("marshal key: %w", err)
	}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k})
	return certPEM, keyPEM, nil
}

func parsePair(certPEM, keyPEM []byte) (*x509.Certificate, any, error) {
	cb, _ := pem.Decode(certPEM)
	if cb == nil || cb.Type != "CERTIFICATE" {
		return nil, nil, errors.New("no CERTIFICATE block in certificate PEM")
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		return nil, nil, fmt.Errorf("parse certificate: %w", err)
	}
	kb, _ := pem.Decode(keyPEM)
	if kb == nil {
		return nil, nil, errors.New("no PEM block in key PEM")
	}
	var key any
	switch kb.Type {
	case "PRIVATE KEY":
		key, err = x509.ParsePKCS8PrivateKey(kb.Bytes)
	case "EC PRIVATE KEY":
		key, err = x509.ParseECPrivateKey(kb.Bytes)
	case "RSA PRIVATE KEY":
		key, err = x509.ParsePKCS1PrivateKey(kb.Bytes)
	default:
		return nil, nil, fmt.Errorf("unsupported key PEM block %q", kb.Type)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("parse key: %w", err)
	}
	return cert, key, nil
}
