// Package pki creates, on first start, the cluster CA and the certificates
// signed by it, and reuses them on every later start.
package pki

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"slices"
	"time"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
)

const (
	caValidity   = 10 * 365 * 24 * time.Hour
	leafValidity = 365 * 24 * time.Hour
)

// CA is a certificate authority whose key is on disk.
type CA struct {
	Cert     *x509.Certificate
	Key      crypto.Signer
	CertFile string
}

// Pair names a certificate and key file.
type Pair struct{ CertFile, KeyFile string }

// EnsureCA loads <dir>/ca.crt and ca.key, creating them when missing.
func EnsureCA(dir, commonName string) (*CA, error) {
	certFile, keyFile := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	if cert, key, err := load(certFile, keyFile); err == nil {
		return &CA{Cert: cert, Key: key, CertFile: certFile}, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate ca key: %w", err)
	}
	cert, err := certutil.NewSelfSignedCACert(certutil.Config{CommonName: commonName}, key)
	if err != nil {
		return nil, fmt.Errorf("self-sign ca: %w", err)
	}
	if err := store(certFile, keyFile, cert, key); err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, CertFile: certFile}, nil
}

// EnsureServing returns a serving certificate for hosts (DNS names or IPs),
// issuing a new one when none exists or the existing one misses a host.
func (ca *CA) EnsureServing(dir, name string, hosts []string) (Pair, error) {
	p := Pair{filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")}
	if cert, _, err := load(p.CertFile, p.KeyFile); err == nil && covers(cert, hosts) && ca.signed(cert) {
		return p, nil
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: name},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	return p, ca.issue(p, tmpl)
}

// EnsureClient returns a client certificate for user commonName in groups.
func (ca *CA) EnsureClient(dir, name, commonName string, groups []string) (Pair, error) {
	p := Pair{filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")}
	if cert, _, err := load(p.CertFile, p.KeyFile); err == nil && ca.signed(cert) && cert.Subject.CommonName == commonName {
		return p, nil
	}
	tmpl := &x509.Certificate{
		Subject:     pkix.Name{CommonName: commonName, Organization: groups},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	return p, ca.issue(p, tmpl)
}

func (ca *CA) issue(p Pair, tmpl *x509.Certificate) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return fmt.Errorf("generate key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 126))
	if err != nil {
		return fmt.Errorf("serial: %w", err)
	}
	now := time.Now()
	tmpl.SerialNumber = serial
	tmpl.NotBefore = now.Add(-time.Hour)
	tmpl.NotAfter = now.Add(leafValidity)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return fmt.Errorf("sign %s: %w", tmpl.Subject.CommonName, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	return store(p.CertFile, p.KeyFile, cert, key)
}

func (ca *CA) signed(cert *x509.Certificate) bool {
	return cert.CheckSignatureFrom(ca.Cert) == nil && time.Now().Before(cert.NotAfter.Add(-24*time.Hour))
}

func covers(cert *x509.Certificate, hosts []string) bool {
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !slices.ContainsFunc(cert.IPAddresses, ip.Equal) {
				return false
			}
		} else if !slices.Contains(cert.DNSNames, h) {
			return false
		}
	}
	return true
}

func load(certFile, keyFile string) (*x509.Certificate, crypto.Signer, error) {
	certs, err := certutil.CertsFromFile(certFile)
	if err != nil {
		if _, statErr := os.Stat(certFile); errors.Is(statErr, os.ErrNotExist) {
			return nil, nil, statErr
		}
		return nil, nil, fmt.Errorf("read %s: %w", certFile, err)
	}
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", keyFile, err)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, nil, fmt.Errorf("%s: not a signing key", keyFile)
	}
	return certs[0], signer, nil
}

func store(certFile, keyFile string, cert *x509.Certificate, key *ecdsa.PrivateKey) error {
	if err := os.MkdirAll(filepath.Dir(certFile), 0o700); err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	if err := keyutil.WriteKey(keyFile, pem.EncodeToMemory(&pem.Block{Type: keyutil.ECPrivateKeyBlockType, Bytes: der})); err != nil {
		return fmt.Errorf("write %s: %w", keyFile, err)
	}
	if err := certutil.WriteCert(certFile, pem.EncodeToMemory(&pem.Block{Type: certutil.CertificateBlockType, Bytes: cert.Raw})); err != nil {
		return fmt.Errorf("write %s: %w", certFile, err)
	}
	return nil
}
