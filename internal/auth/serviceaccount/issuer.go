package serviceaccount

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"gopkg.in/go-jose/go-jose.v2"
	"gopkg.in/go-jose/go-jose.v2/jwt"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/uuid"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
)

// Issuer signs service account tokens.
type Issuer struct {
	iss    string
	keyID  string
	signer jose.Signer
}

// NewIssuer returns an issuer whose tokens carry iss and are signed with
// key: RSA (RS256) or ECDSA P-256/384/521 (ES256/384/512).
func NewIssuer(iss string, key crypto.Signer) (*Issuer, error) {
	if iss == "" {
		return nil, errors.New("service account issuer is empty")
	}
	alg, err := signatureAlgorithm(key)
	if err != nil {
		return nil, err
	}
	kid, err := KeyID(key.Public())
	if err != nil {
		return nil, err
	}
	// Giving the JSONWebKey a KeyID puts it in the "kid" header, which
	// verifiers use to pick the key.
	signer, err := jose.NewSigner(jose.SigningKey{
		Algorithm: alg,
		Key:       jose.JSONWebKey{Algorithm: string(alg), Key: key, KeyID: kid},
	}, nil)
	if err != nil {
		return nil, fmt.Errorf("service account token signer: %w", err)
	}
	return &Issuer{iss: iss, keyID: kid, signer: signer}, nil
}

func signatureAlgorithm(key crypto.Signer) (jose.SignatureAlgorithm, error) {
	switch k := key.(type) {
	case *rsa.PrivateKey:
		return jose.RS256, nil
	case *ecdsa.PrivateKey:
		switch k.Curve {
		case elliptic.P256():
			return jose.ES256, nil
		case elliptic.P384():
			return jose.ES384, nil
		case elliptic.P521():
			return jose.ES512, nil
		}
		return "", fmt.Errorf("unsupported ECDSA curve %s for service account tokens", k.Curve.Params().Name)
	}
	return "", fmt.Errorf("unsupported service account key type %T", key)
}

// Issuer returns the iss claim of the tokens.
func (i *Issuer) Issuer() string { return i.iss }

// KeyID returns the kid header of the tokens.
func (i *Issuer) KeyID() string { return i.keyID }

// Token describes one token to issue. At most one of Pod, Secret and Node
// is the object the token is bound to; a pod-bound token may also name the
// pod's Node (informational: only the pod is checked on use).
type Token struct {
	ServiceAccount *corev1.ServiceAccount
	Pod            *corev1.Pod
	Secret         *corev1.Secret
	Node           *corev1.Node
	Audiences      []string
	// IssuedAt is the token's iat and nbf; zero means now.
	IssuedAt time.Time
	// Lifetime is exp - iat.
	Lifetime time.Duration
	// WarnAfter, when set, is recorded as the warnafter claim (iat +
	// WarnAfter): past it the token still works but counts as stale.
	WarnAfter time.Duration
}

// Issue signs t and returns the compact JWT and its jti.
func (i *Issuer) Issue(t Token) (token, jti string, err error) {
	sa := t.ServiceAccount
	if sa == nil || sa.Name == "" || sa.Namespace == "" {
		return "", "", errors.New("a token needs a service account with a name and namespace")
	}
	if t.Secret != nil && (t.Pod != nil || t.Node != nil) {
		return "", "", errors.New("a token can be bound to one object only")
	}
	if t.Lifetime <= 0 {
		return "", "", errors.New("a token needs a positive lifetime")
	}
	now := t.IssuedAt
	if now.IsZero() {
		now = time.Now()
	}
	jti = string(uuid.NewUUID())
	public := jwt.Claims{
		Issuer:    i.iss,
		Subject:   apiserverserviceaccount.MakeUsername(sa.Namespace, sa.Name),
		Audience:  jwt.Audience(t.Audiences),
		Expiry:    jwt.NewNumericDate(now.Add(t.Lifetime)),
		IssuedAt:  jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now),
		ID:        jti,
	}
	private := privateClaims{Kubernetes: kubernetesClaims{
		Namespace: sa.Namespace,
		Svcacct:   ref{Name: sa.Name, UID: string(sa.UID)},
	}}
	k := &private.Kubernetes
	switch {
	case t.Pod != nil:
		k.Pod = &ref{Name: t.Pod.Name, UID: string(t.Pod.UID)}
		if t.Node != nil {
			k.Node = &ref{Name: t.Node.Name, UID: string(t.Node.UID)}
		}
	case t.Secret != nil:
		k.Secret = &ref{Name: t.Secret.Name, UID: string(t.Secret.UID)}
	case t.Node != nil:
		k.Node = &ref{Name: t.Node.Name, UID: string(t.Node.UID)}
	}
	if t.WarnAfter > 0 {
		k.WarnAfter = jwt.NewNumericDate(now.Add(t.WarnAfter))
	}
	token, err = jwt.Signed(i.signer).Claims(public).Claims(private).CompactSerialize()
	if err != nil {
		return "", "", fmt.Errorf("sign service account token: %w", err)
	}
	return token, jti, nil
}
