package serviceaccount

import (
	"context"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gopkg.in/go-jose/go-jose.v2/jwt"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	apiserverserviceaccount "k8s.io/apiserver/pkg/authentication/serviceaccount"
	tokenjwt "k8s.io/apiserver/pkg/authentication/token/jwt"
)

// Getter reads the objects a token names, to check that they still exist.
// A missing object must be reported as an error.
type Getter interface {
	GetServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error)
	GetPod(ctx context.Context, namespace, name string) (*corev1.Pod, error)
	GetSecret(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	GetNode(ctx context.Context, name string) (*corev1.Node, error)
}

// AuthenticatorConfig configures NewAuthenticator.
type AuthenticatorConfig struct {
	// Issuer is the only iss accepted; tokens of other issuers are left to
	// the other authenticators.
	Issuer string
	// Keys verify signatures (the public half of the signing key, and any
	// older keys whose tokens should still work).
	Keys []crypto.PublicKey
	// APIAudiences are the audiences of the API itself, used when a
	// request carries none (kube-apiserver's --api-audiences).
	APIAudiences []string
	Getter       Getter
	Logger       *slog.Logger
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// Authenticator implements authenticator.Token for service account tokens.
type Authenticator struct {
	cfg  AuthenticatorConfig
	keys map[string]crypto.PublicKey // by kid
}

var _ authenticator.Token = (*Authenticator)(nil)

// NewAuthenticator returns a token authenticator for cfg.
func NewAuthenticator(cfg AuthenticatorConfig) (*Authenticator, error) {
	if cfg.Issuer == "" || len(cfg.Keys) == 0 || cfg.Getter == nil {
		return nil, errors.New("service account authenticator needs an issuer, keys and a getter")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	a := &Authenticator{cfg: cfg, keys: map[string]crypto.PublicKey{}}
	for _, k := range cfg.Keys {
		kid, err := KeyID(k)
		if err != nil {
			return nil, err
		}
		a.keys[kid] = k
	}
	return a, nil
}

// AuthenticateToken verifies a bearer token. A token that is not a JWT of
// this issuer is not ours: (nil, false, nil) lets the next authenticator
// try. One that is ours but fails any check is an error (401).
func (a *Authenticator) AuthenticateToken(ctx context.Context, token string) (*authenticator.Response, bool, error) {
	if !a.ownIssuer(token) {
		return nil, false, nil
	}
	tok, err := jwt.ParseSigned(token)
	if err != nil {
		return nil, false, nil
	}
	var public jwt.Claims
	var private privateClaims
	if err := a.verify(tok, &public, &private); err != nil {
		return nil, false, err
	}
	// The unverified peek above chose us; check again now it is signed.
	if public.Issuer != a.cfg.Issuer {
		return nil, false, fmt.Errorf("token issuer %q is invalid", public.Issuer)
	}

	tokenAuds := authenticator.Audiences(public.Audience)
	if len(tokenAuds) == 0 {
		tokenAuds = a.cfg.APIAudiences
	}
	requested, ok := authenticator.AudiencesFrom(ctx)
	if !ok {
		requested = a.cfg.APIAudiences
	}
	auds := tokenAuds.Intersect(requested)
	if len(auds) == 0 {
		return nil, false, fmt.Errorf("token audiences %q is invalid for the target audiences %q", tokenAuds, requested)
	}

	info, err := a.validate(ctx, &public, &private)
	if err != nil {
		a.cfg.Logger.Debug("service account token rejected", "subject", public.Subject, "err", err)
		return nil, false, err
	}
	return &authenticator.Response{User: info.UserInfo(), Audiences: auds}, true, nil
}

// ownIssuer peeks at the unverified payload: only tokens naming this
// issuer are worth a signature check.
func (a *Authenticator) ownIssuer(token string) bool {
	if strings.HasPrefix(strings.TrimSpace(token), "{") {
		return false
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return false
	}
	var claims struct {
		Issuer string `json:"iss"`
	}
	return json.Unmarshal(payload, &claims) == nil && claims.Issuer == a.cfg.Issuer
}

// verify checks the signature with the key the kid names, or with every
// key when the token names none we know.
func (a *Authenticator) verify(tok *jwt.JSONWebToken, public *jwt.Claims, private *privateClaims) error {
	if len(tok.Headers) == 1 {
		if key, ok := a.keys[tok.Headers[0].KeyID]; ok {
			return tok.Claims(key, public, private)
		}
	}
	var errs []error
	for _, key := range a.keys {
		err := tok.Claims(key, public, private)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("verify service account token: %w", errors.Join(errs...))
}

// validate checks lifetime and that the account and bound object still
// exist with the UIDs the token names, as kube-apiserver's validator does.
func (a *Authenticator) validate(ctx context.Context, public *jwt.Claims, private *privateClaims) (*apiserverserviceaccount.ServiceAccountInfo, error) {
	now := a.cfg.Now()
	if public.Expiry == nil {
		return nil, errors.New("service account token has no expiry")
	}
	switch err := public.ValidateWithLeeway(jwt.Expected{Time: now}, Leeway); {
	case err == nil:
	case errors.Is(err, jwt.ErrExpired):
		return nil, errors.New("service account token has expired")
	case errors.Is(err, jwt.ErrNotValidYet):
		return nil, errors.New("service account token is not valid yet")
	case errors.Is(err, jwt.ErrIssuedInTheFuture):
		return nil, errors.New("service account token is issued in the future")
	default:
		return nil, fmt.Errorf("service account token could not be validated: %w", err)
	}

	// Objects marked for deletion a while ago no longer vouch for tokens.
	deletedBefore := now.Add(-Leeway)
	deleted := func(ts *metav1.Time) bool { return ts != nil && ts.Time.Before(deletedBefore) }
	k := private.Kubernetes
	ns := k.Namespace
	if ns == "" || k.Svcacct.Name == "" {
		return nil, errors.New("service account token names no service account")
	}
	sa, err := a.cfg.Getter.GetServiceAccount(ctx, ns, k.Svcacct.Name)
	if err != nil {
		return nil, fmt.Errorf("service account %s/%s: %w", ns, k.Svcacct.Name, err)
	}
	if string(sa.UID) != k.Svcacct.UID {
		return nil, fmt.Errorf("service account UID (%s) does not match claim (%s)", sa.UID, k.Svcacct.UID)
	}
	if deleted(sa.DeletionTimestamp) {
		return nil, fmt.Errorf("service account %s/%s has been deleted", ns, sa.Name)
	}

	if k.Secret != nil {
		secret, err := a.cfg.Getter.GetSecret(ctx, ns, k.Secret.Name)
		if err != nil {
			return nil, fmt.Errorf("service account token has been invalidated: bound secret: %w", err)
		}
		if string(secret.UID) != k.Secret.UID {
			return nil, fmt.Errorf("secret UID (%s) does not match service account secret ref claim (%s)", secret.UID, k.Secret.UID)
		}
		if deleted(secret.DeletionTimestamp) {
			return nil, errors.New("service account token has been invalidated: bound secret is being deleted")
		}
	}

	info := &apiserverserviceaccount.ServiceAccountInfo{
		Namespace: ns, Name: k.Svcacct.Name, UID: k.Svcacct.UID,
		CredentialID: tokenjwt.CredentialIDForJTI(public.ID),
	}
	if k.Pod != nil {
		pod, err := a.cfg.Getter.GetPod(ctx, ns, k.Pod.Name)
		if err != nil {
			return nil, fmt.Errorf("service account token has been invalidated: bound pod: %w", err)
		}
		if string(pod.UID) != k.Pod.UID {
			return nil, fmt.Errorf("pod UID (%s) does not match service account pod ref claim (%s)", pod.UID, k.Pod.UID)
		}
		if deleted(pod.DeletionTimestamp) {
			return nil, errors.New("service account token has been invalidated: bound pod is being deleted")
		}
		info.PodName, info.PodUID = k.Pod.Name, k.Pod.UID
		// For a pod-bound token the node is only information.
		if k.Node != nil {
			info.NodeName, info.NodeUID = k.Node.Name, k.Node.UID
		}
	} else if k.Node != nil {
		if k.Node.UID == "" {
			return nil, errors.New("token is bound to a Node object but does not have a UID set")
		}
		node, err := a.cfg.Getter.GetNode(ctx, k.Node.Name)
		if err != nil {
			return nil, fmt.Errorf("service account token has been invalidated: bound node: %w", err)
		}
		if string(node.UID) != k.Node.UID {
			return nil, fmt.Errorf("node UID (%s) does not match service account node ref claim (%s)", node.UID, k.Node.UID)
		}
		if deleted(node.DeletionTimestamp) {
			return nil, errors.New("service account token has been invalidated: bound node is being deleted")
		}
		info.NodeName, info.NodeUID = k.Node.Name, k.Node.UID
	}

	if k.WarnAfter != nil && now.After(k.WarnAfter.Time()) {
		// Kubernetes records these in the audit log; the token still works.
		a.cfg.Logger.Debug("stale service account token used", "subject", public.Subject,
			"secondsAfterWarning", int64(now.Sub(k.WarnAfter.Time()).Seconds()))
	}
	return info, nil
}
