package pki

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
)

func TestServiceAccountKeyIsCreatedOnceAndReused(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	first, err := EnsureServiceAccountKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, ok := first.(*rsa.PrivateKey)
	if !ok || rsaKey.N.BitLen() != 2048 {
		t.Fatalf("key = %T, want RSA 2048", first)
	}
	if fi, err := os.Stat(filepath.Join(dir, "sa.key")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("sa.key: %v %v, want mode 0600", fi, err)
	}
	pubPEM, err := os.ReadFile(filepath.Join(dir, "sa.pub"))
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(pubPEM)
	if block == nil || block.Type != "PUBLIC KEY" {
		t.Fatalf("sa.pub is not a PEM public key:\n%s", pubPEM)
	}
	pub, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil || !rsaKey.PublicKey.Equal(pub) {
		t.Fatalf("sa.pub does not hold sa.key's public key (%v)", err)
	}

	// A restart reuses it, and restores a removed sa.pub.
	if err := os.Remove(filepath.Join(dir, "sa.pub")); err != nil {
		t.Fatal(err)
	}
	again, err := EnsureServiceAccountKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !rsaKey.Equal(again) {
		t.Fatal("a second start generated another key")
	}
	if _, err := os.Stat(filepath.Join(dir, "sa.pub")); err != nil {
		t.Fatalf("sa.pub not restored: %v", err)
	}
}

func TestServiceAccountKeyUnreadable(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "sa.key"), []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := EnsureServiceAccountKey(dir); err == nil {
		t.Fatal("a corrupt sa.key was replaced or accepted")
	}
}
