// Package serviceaccount issues and verifies Kubernetes service account
// tokens: JWTs signed by the API server's service account key, in the claim
// layout of kube-apiserver's bound tokens (pkg/serviceaccount), so that
// anything that reads Kubernetes tokens reads orca's.
//
// A token names its account in `sub` (system:serviceaccount:<ns>:<name>)
// and in the private claim "kubernetes.io", which also carries the UIDs of
// the account and of the object the token is bound to (a pod, a secret or a
// node). Verification checks signature, issuer, audience and lifetime, then
// that the account and the bound object still exist with those UIDs, so
// deleting a pod revokes the tokens it was given.
package serviceaccount

import (
	"crypto"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	"gopkg.in/go-jose/go-jose.v2/jwt"
)

const (
	// DefaultIssuer is kube-apiserver's usual --service-account-issuer.
	DefaultIssuer = "https://kubernetes.default.svc.cluster.local"

	// WarnOnlyExpirationSeconds is the lifetime the ServiceAccount
	// admission plugin asks for in kube-api-access volumes. The API server
	// recognises it and issues a much longer-lived token that only warns
	// past this point, so clients that never reread the file keep working
	// (kube-apiserver's --service-account-extend-token-expiration).
	WarnOnlyExpirationSeconds = 60*60 + 7

	// ExtendedExpiration is how long such an extended token is valid.
	ExtendedExpiration = 365 * 24 * time.Hour

	// Leeway is the clock skew tolerated on exp, nbf and iat, and how long
	// a bound object may have been marked for deletion before its tokens
	// stop working.
	Leeway = jwt.DefaultLeeway
)

// privateClaims is the "kubernetes.io" claim, field for field as
// kube-apiserver writes it.
type privateClaims struct {
	Kubernetes kubernetesClaims `json:"kubernetes.io,omitempty"`
}

type kubernetesClaims struct {
	Namespace string           `json:"namespace,omitempty"`
	Svcacct   ref              `json:"serviceaccount,omitempty"`
	Pod       *ref             `json:"pod,omitempty"`
	Secret    *ref             `json:"secret,omitempty"`
	Node      *ref             `json:"node,omitempty"`
	WarnAfter *jwt.NumericDate `json:"warnafter,omitempty"`
}

type ref struct {
	Name string `json:"name,omitempty"`
	UID  string `json:"uid,omitempty"`
}

// KeyID is the "kid" header of tokens signed by the key whose public half
// is pub: the unpadded base64url SHA-256 of its DER (PKIX) encoding, as
// kube-apiserver computes it, so it is stable across restarts.
func KeyID(pub crypto.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", fmt.Errorf("encode public key: %w", err)
	}
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:]), nil
}
