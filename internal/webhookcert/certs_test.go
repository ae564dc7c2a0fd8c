package webhookcert

import (
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"
)

var names = []string{"peapod-webhook.peapod-system.svc", "peapod-webhook.peapod-system.svc.cluster.local"}

func TestRenewedIsCurrentUntilCloseToItsEnd(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	data, err := renewed(nil, names, start)
	if err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		at    time.Time
		names []string
		want  bool
	}{
		"just issued":                      {start, names, true},
		"after 9 months":                   {start.Add(270 * 24 * time.Hour), names, true},
		"within 90 days of the end":        {start.Add(300 * 24 * time.Hour), names, false},
		"for a name it was not issued for": {start, []string{"other.peapod-system.svc"}, false},
		"for one of its names":             {start, names[:1], true},
	} {
		if got := current(data, tc.names, tc.at); got != tc.want {
			t.Errorf("%s: current = %t, want %t", name, got, tc.want)
		}
	}
	if current(nil, names, start) || current(map[string][]byte{CertKey: data[CertKey]}, names, start) {
		t.Error("an empty Secret, or one without the CA, is current")
	}
}

// A serving certificate is renewed from the CA the Secret holds, so the caBundle the API server trusts stays.
func TestRenewalKeepsTheCA(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	first, err := renewed(nil, names, start)
	if err != nil {
		t.Fatal(err)
	}
	later := start.Add(300 * 24 * time.Hour)
	second, err := renewed(first, names, later)
	if err != nil {
		t.Fatal(err)
	}
	if string(second[CACertKey]) != string(first[CACertKey]) || string(second[CertKey]) == string(first[CertKey]) {
		t.Error("want the same CA and a new serving certificate")
	}
	if !current(second, names, later) {
		t.Error("the renewed certificate is not current")
	}
}

// A CA near its end is replaced; the bundle keeps the old CA after the new one while it is valid, so a replica
// still serving the old certificate is trusted until it reads the new one.
func TestCARotationKeepsTheOldCAInTheBundle(t *testing.T) {
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	first, err := renewed(nil, names, start)
	if err != nil {
		t.Fatal(err)
	}
	// The last serving certificate the old CA signs, then the renewal that replaces the CA.
	first, err = renewed(first, names, start.Add(caValidity-100*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	nearEnd := start.Add(caValidity - 30*24*time.Hour)
	second, err := renewed(first, names, nearEnd)
	if err != nil {
		t.Fatal(err)
	}
	bundle := certsIn(t, second[CACertKey])
	old := certsIn(t, first[CACertKey])
	if len(bundle) != 2 || !bundle[1].Equal(old[0]) || bundle[0].Equal(old[0]) {
		t.Fatalf("bundle holds %d certificates: want the new CA, then the old", len(bundle))
	}
	if !current(second, names, nearEnd) {
		t.Error("the certificate from the new CA is not current")
	}
	pool := x509.NewCertPool()
	pool.AddCert(bundle[1])
	oldServing := certsIn(t, first[CertKey])[0]
	if _, err := oldServing.Verify(x509.VerifyOptions{Roots: pool, DNSName: names[0], CurrentTime: nearEnd}); err != nil {
		t.Errorf("the old serving certificate is not trusted by the bundle: %v", err)
	}
}

func certsIn(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var certs []*x509.Certificate
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, cert)
	}
	return certs
}
