package cluster

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// pki is the key material of one cluster: a CA that signs the apiserver's serving certificate and the admin's
// client certificate, and the key pair that signs service-account tokens (so TokenRequest works).
type pki struct {
	caCertFile, caKeyFile         string
	servingCertFile, servingKey   string
	adminCertPEM, adminKeyPEM     []byte
	caCertPEM                     []byte
	saSigningKeyFile, saPublicKey string
	// kubeletClientCert and kubeletClientKey are the apiserver's identity towards kubelets (exec, logs).
	kubeletClientCert, kubeletClientKey string

	caKey  *ecdsa.PrivateKey
	caCert *x509.Certificate
}

// clientCertificate signs a client certificate for a user and its groups, in PEM.
func (p *pki) clientCertificate(user string, groups ...string) (certPEM, keyPEMBytes []byte, err error) {
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: user, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	certPEM, key, err := signLeaf(tmpl, p.caCert, p.caKey)
	if err != nil {
		return nil, nil, err
	}
	keyPEMBytes, err = keyPEM(key)
	return certPEM, keyPEMBytes, err
}

func newPKI(dir string) (*pki, error) {
	p := &pki{}
	caKey, caCert, caPEM, err := selfSignedCA()
	if err != nil {
		return nil, err
	}
	p.caCertPEM = caPEM
	p.caKey, p.caCert = caKey, caCert
	p.caCertFile = filepath.Join(dir, "ca.crt")
	p.caKeyFile = filepath.Join(dir, "ca.key")
	if err := writeCertAndKey(p.caCertFile, p.caKeyFile, caPEM, caKey); err != nil {
		return nil, err
	}

	serving := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:    []string{"localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("10.96.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	servingPEM, servingKey, err := signLeaf(serving, caCert, caKey)
	if err != nil {
		return nil, err
	}
	p.servingCertFile = filepath.Join(dir, "apiserver.crt")
	p.servingKey = filepath.Join(dir, "apiserver.key")
	if err := writeCertAndKey(p.servingCertFile, p.servingKey, servingPEM, servingKey); err != nil {
		return nil, err
	}

	admin := &x509.Certificate{
		Subject:     pkix.Name{CommonName: "peapod-admin", Organization: []string{"system:masters"}},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	adminPEM, adminKey, err := signLeaf(admin, caCert, caKey)
	if err != nil {
		return nil, err
	}
	p.adminCertPEM = adminPEM
	if p.adminKeyPEM, err = keyPEM(adminKey); err != nil {
		return nil, err
	}

	kubeletClientPEM, kubeletClientKey, err := p.clientCertificate("kube-apiserver-kubelet-client", "system:masters")
	if err != nil {
		return nil, err
	}
	p.kubeletClientCert = filepath.Join(dir, "apiserver-kubelet-client.crt")
	p.kubeletClientKey = filepath.Join(dir, "apiserver-kubelet-client.key")
	if err := os.WriteFile(p.kubeletClientCert, kubeletClientPEM, 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(p.kubeletClientKey, kubeletClientKey, 0o600); err != nil {
		return nil, err
	}

	saKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	saKeyPEM, err := keyPEM(saKey)
	if err != nil {
		return nil, err
	}
	saPubDER, err := x509.MarshalPKIXPublicKey(&saKey.PublicKey)
	if err != nil {
		return nil, err
	}
	p.saSigningKeyFile = filepath.Join(dir, "sa.key")
	p.saPublicKey = filepath.Join(dir, "sa.pub")
	if err := os.WriteFile(p.saSigningKeyFile, saKeyPEM, 0o600); err != nil {
		return nil, err
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: saPubDER})
	if err := os.WriteFile(p.saPublicKey, pubPEM, 0o600); err != nil {
		return nil, err
	}
	return p, nil
}

func selfSignedCA() (*ecdsa.PrivateKey, *x509.Certificate, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "peapod-test-ca"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("creating the test CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return key, cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func signLeaf(tmpl, ca *x509.Certificate, caKey *ecdsa.PrivateKey) ([]byte, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, err := rand.Int(rand.Reader, big.NewInt(1<<62))
	if err != nil {
		return nil, nil, err
	}
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().Add(24 * time.Hour)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, nil, fmt.Errorf("signing certificate %q: %w", tmpl.Subject.CommonName, err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), key, nil
}

func keyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), nil
}

func writeCertAndKey(certFile, keyFile string, certPEM []byte, key *ecdsa.PrivateKey) error {
	kp, err := keyPEM(key)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certFile, certPEM, 0o600); err != nil {
		return err
	}
	return os.WriteFile(keyFile, kp, 0o600)
}
