package tlsutil

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/edgerelay/edgerelay/internal/fsutil"
)

// Files written by WriteBundle.
const (
	CAFile        = "ca.pem"
	CAKeyFile     = "ca-key.pem"
	CloudCertFile = "cloud.pem"
	CloudKeyFile  = "cloud-key.pem"
	EdgeCertFile  = "edge.pem"
	EdgeKeyFile   = "edge-key.pem"
)

// EdgePairFiles names the pair WriteEdgePair writes for tenant and site.
func EdgePairFiles(tenant, site string) (cert, key string) {
	base := "edge-" + tenant + "-" + site
	return base + ".pem", base + "-key.pem"
}

// WriteEdgePair writes into dir, which holds the CA WriteBundle wrote, one
// more edge client pair naming tenant and site (EdgePairFiles), and
// returns the paths written. It refuses to overwrite existing files.
func WriteEdgePair(dir, tenant, site string) (certPath, keyPath string, err error) {
	caCert, err := os.ReadFile(filepath.Join(dir, CAFile))
	if err != nil {
		return "", "", fmt.Errorf("read ca: %w", err)
	}
	caKey, err := os.ReadFile(filepath.Join(dir, CAKeyFile))
	if err != nil {
		return "", "", fmt.Errorf("read ca key: %w", err)
	}
	certPEM, keyPEM, err := GenerateEdgeLeaf(caCert, caKey, tenant, site)
	if err != nil {
		return "", "", err
	}
	c, k := EdgePairFiles(tenant, site)
	certPath, keyPath = filepath.Join(dir, c), filepath.Join(dir, k)
	for _, p := range []string{certPath, keyPath} {
		if _, err := os.Lstat(p); err == nil {
			return "", "", fmt.Errorf("write edge pair: %q: %w", p, fs.ErrExist)
		}
	}
	if err := writeNew(keyPath, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := writeNew(certPath, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return certPath, keyPath, nil
}

// Files ServerTLS keeps in its data directory when no certificate is
// configured. An edge trusts such a server by using SelfSignedCertFile as
// its CA file.
const (
	SelfSignedCertFile = "cloud-selfsigned.pem"
	SelfSignedKeyFile  = "cloud-selfsigned-key.pem"
)

// DefaultHosts are the names a generated server certificate covers when no
// hosts are given.
var DefaultHosts = []string{"localhost", "127.0.0.1", "::1"}

// WriteBundle writes into dir (created 0700 if missing) a CA, a cloud server
// pair for hosts (DefaultHosts when empty) and an edge client pair naming
// tenant and site (GenerateEdgeLeaf), all PEM: ca.pem, ca-key.pem,
// cloud.pem, cloud-key.pem, edge.pem, edge-key.pem. Keys are written 0600,
// certificates 0644. It refuses to overwrite any existing file (the error
// wraps fs.ErrExist) so a CA key is never lost by accident.
func WriteBundle(dir string, hosts []string, tenant, site string) error {
	if len(hosts) == 0 {
		hosts = DefaultHosts
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %q: %w", dir, err)
	}
	for _, name := range []string{CAFile, CAKeyFile, CloudCertFile, CloudKeyFile, EdgeCertFile, EdgeKeyFile} {
		if _, err := os.Lstat(filepath.Join(dir, name)); err == nil {
			return fmt.Errorf("write bundle: %q: %w", filepath.Join(dir, name), fs.ErrExist)
		}
	}
	caCert, caKey, err := GenerateCA("edgerelay CA")
	if err != nil {
		return err
	}
	cloudCert, cloudKey, err := GenerateLeaf(caCert, caKey, "edgerelay cloud", hosts, false)
	if err != nil {
		return err
	}
	edgeCert, edgeKey, err := GenerateEdgeLeaf(caCert, caKey, tenant, site)
	if err != nil {
		return err
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		{CAKeyFile, caKey, 0o600}, {CAFile, caCert, 0o644},
		{CloudKeyFile, cloudKey, 0o600}, {CloudCertFile, cloudCert, 0o644},
		{EdgeKeyFile, edgeKey, 0o600}, {EdgeCertFile, edgeCert, 0o644},
	}
	for _, f := range files {
		if err := writeNew(filepath.Join(dir, f.name), f.data, f.mode); err != nil {
			return err
		}
	}
	return nil
}

// ServerTLS builds the cloud's TLS 1.3 server configuration. With certFile
// and keyFile set it loads that pair; with both empty it uses a self-signed
// pair kept in dataDir (SelfSignedCertFile, SelfSignedKeyFile), creating it
// on first use, and logs its SHA-256 fingerprint so an operator can pin it.
// With clientCAFile set, clients must present a certificate signed by that
// CA (mTLS). The caller sets NextProtos. An error about a file starts with
// the configuration field that names it (cert_file, key_file,
// client_ca_file).
func ServerTLS(certFile, keyFile, clientCAFile, dataDir string, log *slog.Logger) (*tls.Config, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("cert_file and key_file must be set together")
	}
	if certFile == "" {
		if dataDir == "" {
			return nil, errors.New("cert_file is empty and there is no data_dir for a self-signed certificate")
		}
		var err error
		certFile, keyFile, err = ensureSelfSigned(dataDir)
		if err != nil {
			return nil, fmt.Errorf("data_dir: self-signed certificate: %w", err)
		}
	}
	pair, err := loadPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	log.Info("tls server certificate", "cert_file", certFile,
		"sha256", Fingerprint(pair.Certificate[0]))
	cfg := &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
	}
	if clientCAFile != "" {
		pool, err := loadPool(clientCAFile)
		if err != nil {
			return nil, fmt.Errorf("client_ca_file: %w", err)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.RequireAndVerifyClientCert
	}
	return cfg, nil
}

// CheckServerFiles loads every file ServerTLS would load, with the same
// errors, but makes nothing: a self-signed pair in dataDir is loaded only if
// it is there already.
func CheckServerFiles(certFile, keyFile, clientCAFile, dataDir string) error {
	if (certFile == "") != (keyFile == "") {
		return errors.New("cert_file and key_file must be set together")
	}
	if certFile == "" && dataDir != "" {
		c, k := filepath.Join(dataDir, SelfSignedCertFile), filepath.Join(dataDir, SelfSignedKeyFile)
		if _, err := os.Stat(c); err == nil {
			if _, err := os.Stat(k); err == nil {
				certFile, keyFile = c, k
			}
		}
	}
	if certFile != "" {
		if _, err := loadPair(certFile, keyFile); err != nil {
			return err
		}
	}
	if clientCAFile != "" {
		if _, err := loadPool(clientCAFile); err != nil {
			return fmt.Errorf("client_ca_file: %w", err)
		}
	}
	return nil
}

// ClientTLS builds the edge's TLS 1.3 client configuration: it verifies the
// server as serverName against the CA in caFile (the system pool when
// empty), presents certFile/keyFile when set (mTLS), and skips verification
// only when insecureSkipVerify is true. The caller sets NextProtos. An error
// about a file starts with the configuration field that names it (ca_file,
// cert_file, key_file).
func ClientTLS(serverName, caFile, certFile, keyFile string, insecureSkipVerify bool) (*tls.Config, error) {
	if (certFile == "") != (keyFile == "") {
		return nil, errors.New("cert_file and key_file must be set together")
	}
	cfg := &tls.Config{
		MinVersion:         tls.VersionTLS13,
		ServerName:         serverName,
		InsecureSkipVerify: insecureSkipVerify,
	}
	if caFile != "" {
		pool, err := loadPool(caFile)
		if err != nil {
			return nil, fmt.Errorf("ca_file: %w", err)
		}
		cfg.RootCAs = pool
	}
	if certFile != "" {
		pair, err := loadPair(certFile, keyFile)
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// loadPair loads a certificate and its key, naming the field whose file is
// unreadable.
func loadPair(certFile, keyFile string) (tls.Certificate, error) {
	for _, f := range [...]struct{ field, path string }{{"cert_file", certFile}, {"key_file", keyFile}} {
		if _, err := os.Stat(f.path); err != nil {
			return tls.Certificate{}, fmt.Errorf("%s: %w", f.field, err)
		}
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("cert_file and key_file: load %q and %q: %w", certFile, keyFile, err)
	}
	return pair, nil
}

// ensureSelfSigned returns the self-signed pair in dir, making it when absent.
func ensureSelfSigned(dir string) (certFile, keyFile string, err error) {
	certFile = filepath.Join(dir, SelfSignedCertFile)
	keyFile = filepath.Join(dir, SelfSignedKeyFile)
	_, certErr := os.Stat(certFile)
	_, keyErr := os.Stat(keyFile)
	if certErr == nil && keyErr == nil {
		return certFile, keyFile, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", fmt.Errorf("create %q: %w", dir, err)
	}
	hosts := append([]string(nil), DefaultHosts...)
	if h, err := os.Hostname(); err == nil && h != "" {
		hosts = append(hosts, h)
	}
	certPEM, keyPEM, err := generateSelfSigned("edgerelay cloud (self-signed)", hosts)
	if err != nil {
		return "", "", err
	}
	// Key first: a crash between the two leaves no certificate, so the
	// next start makes a fresh pair instead of loading a mismatched one.
	if err := fsutil.WriteFile(keyFile, keyPEM, 0o600); err != nil {
		return "", "", err
	}
	if err := fsutil.WriteFile(certFile, certPEM, 0o644); err != nil {
		return "", "", err
	}
	return certFile, keyFile, nil
}

func loadPool(file string) (*x509.CertPool, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", file, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("no PEM certificate in %q", file)
	}
	return pool, nil
}

func writeNew(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return fmt.Errorf("create %q: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %q: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close %q: %w", path, err)
	}
	return nil
}
