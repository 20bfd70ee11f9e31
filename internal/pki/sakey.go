package pki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/client-go/util/keyutil"
)

// serviceAccountKeyBits is the RSA size kubeadm uses for sa.key.
const serviceAccountKeyBits = 2048

// EnsureServiceAccountKey loads the service account token signing key
// <dir>/sa.key, creating it and its public half <dir>/sa.pub on first start.
// Tokens outlive restarts, so the key must too.
func EnsureServiceAccountKey(dir string) (crypto.Signer, error) {
	keyFile, pubFile := filepath.Join(dir, "sa.key"), filepath.Join(dir, "sa.pub")
	k, err := keyutil.PrivateKeyFromFile(keyFile)
	if err == nil {
		signer, ok := k.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("%s: not a signing key", keyFile)
		}
		// sa.pub is only for other readers (an external verifier); restore
		// it if someone removed it.
		if _, err := os.Stat(pubFile); errors.Is(err, os.ErrNotExist) {
			if err := writePublicKey(pubFile, signer.Public()); err != nil {
				return nil, err
			}
		}
		return signer, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", keyFile, err)
	}
	key, err := rsa.GenerateKey(rand.Reader, serviceAccountKeyBits)
	if err != nil {
		return nil, fmt.Errorf("generate service account key: %w", err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	// Public half first: a crash in between leaves no key to be reused
	// with a stale sa.pub (the next start regenerates both).
	if err := writePublicKey(pubFile, key.Public()); err != nil {
		return nil, err
	}
	block := &pem.Block{Type: keyutil.RSAPrivateKeyBlockType, Bytes: x509.MarshalPKCS1PrivateKey(key)}
	if err := keyutil.WriteKey(keyFile, pem.EncodeToMemory(block)); err != nil {
		return nil, fmt.Errorf("write %s: %w", keyFile, err)
	}
	return key, nil
}

func writePublicKey(file string, pub crypto.PublicKey) error {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return fmt.Errorf("encode %s: %w", file, err)
	}
	if err := os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: keyutil.PublicKeyBlockType, Bytes: der}), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", file, err)
	}
	return nil
}
