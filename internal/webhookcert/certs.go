// Package webhookcert keeps the webhook's serving certificate without cert-manager: a CA and a serving
// certificate in one Secret (the single truth every manager replica reads), the certificate written where the
// webhook server reads it, and the CA in the webhook configuration's caBundle, renewed well before they expire.
// It is open-policy-agent/cert-controller's idea, without the wait for the kubelet to remount the Secret.
package webhookcert

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// Keys of the Secret; tls.crt and tls.key are also the file names the webhook server reads, and cert-manager's.
const (
	CACertKey = "ca.crt"
	caKeyKey  = "ca.key"
	CertKey   = "tls.crt"
	KeyKey    = "tls.key"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	certValidity = 365 * 24 * time.Hour
	// renewBefore: a certificate is replaced when it has less than this left, so a manager that was down for
	// weeks still finds one that works, and a replaced one is long valid.
	renewBefore = 90 * 24 * time.Hour
)

// pair is a certificate and its key, parsed and in PEM.
type pair struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte
	keyPEM  []byte
}

// current reports whether the Secret's data holds a CA and a serving certificate it signed for every DNS name,
// both valid past now+renewBefore.
func current(data map[string][]byte, dnsNames []string, now time.Time) bool {
	ca, err := parsePair(data[CACertKey], data[caKeyKey])
	if err != nil || !lasts(ca.cert, now) {
		return false
	}
	serving, err := parsePair(data[CertKey], data[KeyKey])
	if err != nil || !lasts(serving.cert, now) || serving.cert.CheckSignatureFrom(ca.cert) != nil {
		return false
	}
	for _, name := range dnsNames {
		if serving.cert.VerifyHostname(name) != nil {
			return false
		}
	}
	return true
}

func lasts(cert *x509.Certificate, now time.Time) bool {
	return !now.Before(cert.NotBefore) && now.Add(renewBefore).Before(cert.NotAfter)
}

// renewed is the Secret's data with a serving certificate for dnsNames, from the CA it holds if that lasts, or
// from a new CA otherwise. A new CA's bundle (ca.crt) keeps the old CA after it while that is valid: a replica
// that has not read the new certificate yet still serves one the API server trusts.
func renewed(data map[string][]byte, dnsNames []string, now time.Time) (map[string][]byte, error) {
	bundle := data[CACertKey]
	ca, err := parsePair(bundle, data[caKeyKey])
	if err != nil || !lasts(ca.cert, now) {
		old := err == nil && now.Before(ca.cert.NotAfter)
		if ca, err = newCA(now); err != nil {
			return nil, err
		}
		if old {
			bundle = append(bytes.Clone(ca.certPEM), bundle...)
		} else {
			bundle = ca.certPEM
		}
	}
	serving, err := newServing(ca, dnsNames, now)
	if err != nil {
		return nil, err
	}
	return map[string][]byte{
		CACertKey: bundle, caKeyKey: ca.keyPEM,
		CertKey: serving.certPEM, KeyKey: serving.keyPEM,
	}, nil
}

func newCA(now time.Time) (pair, error) {
	template := &x509.Certificate{
		Subject:               pkix.Name{CommonName: "peapod-webhook-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(caValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	return issue(template, nil)
}

func newServing(ca pair, dnsNames []string, now time.Time) (pair, error) {
	if len(dnsNames) == 0 {
		return pair{}, errors.New("no DNS name to issue the webhook's certificate for")
	}
	template := &x509.Certificate{
		Subject:     pkix.Name{CommonName: dnsNames[0]},
		DNSNames:    dnsNames,
		NotBefore:   now.Add(-time.Hour),
		NotAfter:    now.Add(certValidity),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	return issue(template, &ca)
}

// issue signs template with parent, or self-signs it when parent is nil.
func issue(template *x509.Certificate, parent *pair) (pair, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return pair{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return pair{}, err
	}
	template.SerialNumber = serial
	signer, signerKey := template, key
	if parent != nil {
		signer, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, template, signer, &key.PublicKey, signerKey)
	if err != nil {
		return pair{}, fmt.Errorf("signing the webhook's certificate: %w", err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return pair{}, err
	}
	return parsePair(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}))
}

func parsePair(certPEM, keyPEM []byte) (pair, error) {
	certBlock, _ := pem.Decode(certPEM)
	keyBlock, _ := pem.Decode(keyPEM)
	if certBlock == nil || keyBlock == nil {
		return pair{}, errors.New("no PEM certificate and key")
	}
	cert, err := x509.ParseCertificate(certBlock.Bytes)
	if err != nil {
		return pair{}, err
	}
	key, err := x509.ParseECPrivateKey(keyBlock.Bytes)
	if err != nil {
		return pair{}, err
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return pair{}, errors.New("the key is not the certificate's")
	}
	return pair{cert: cert, key: key, certPEM: bytes.Clone(certPEM), keyPEM: bytes.Clone(keyPEM)}, nil
}
