package tlsutil

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestExpiryCollector: each file gives the NotAfter of its earliest
// certificate, with its use, path and subject; an unreadable or empty file
// and an unset one give no series.
func TestExpiryCollector(t *testing.T) {
	dir := t.TempDir()
	caPEM, caKey, err := GenerateCA("site CA")
	if err != nil {
		t.Fatal(err)
	}
	soon := time.Unix(time.Now().Add(72*time.Hour).Unix(), 0)
	leafPEM, _, err := generateLeaf(caPEM, caKey, "plant-7", nil, true, func(c *x509.Certificate) { c.NotAfter = soon })
	if err != nil {
		t.Fatal(err)
	}
	ca, leaf, both, junk := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "leaf.pem"), filepath.Join(dir, "both.pem"), filepath.Join(dir, "junk.pem")
	for path, data := range map[string][]byte{ca: caPEM, leaf: leafPEM, both: append(append([]byte{}, caPEM...), leafPEM...), junk: []byte("not a certificate\n")} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	caExp, err := ReadExpiry(Cert{Use: "ca", File: ca})
	if err != nil || caExp.Subject != "site CA" || !caExp.NotAfter.After(soon) {
		t.Fatalf("ReadExpiry(ca) = %+v, %v", caExp, err)
	}
	if _, err := ReadExpiry(Cert{Use: "ca", File: junk}); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("ReadExpiry(junk) = %v, want no PEM certificate", err)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(ExpiryCollector([]Cert{{Use: "client", File: leaf}, {Use: "ca", File: both}, {Use: "ca", File: both},
		{Use: "client_ca", File: ""}, {Use: "server", File: junk}, {Use: "server", File: filepath.Join(dir, "absent.pem")}}))
	want := `# HELP edgerelay_tls_cert_expiry_timestamp_seconds When the certificate in a TLS file this process loaded expires (NotAfter, Unix seconds); for a file of several certificates, the earliest. use: server, client, ca or client_ca.
# TYPE edgerelay_tls_cert_expiry_timestamp_seconds gauge
edgerelay_tls_cert_expiry_timestamp_seconds{file="` + both + `",subject="plant-7",use="ca"} ` + strconv.FormatFloat(float64(soon.Unix()), 'e', -1, 64) + `
edgerelay_tls_cert_expiry_timestamp_seconds{file="` + leaf + `",subject="plant-7",use="client"} ` + strconv.FormatFloat(float64(soon.Unix()), 'e', -1, 64) + `
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
}
