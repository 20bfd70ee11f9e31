package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/utils/ptr"

	sa "github.com/orca-pods/orca/internal/auth/serviceaccount"
)

// getter is a rest.Getter over objects keyed by name.
type getter struct {
	resource string
	objects  map[string]runtime.Object
}

func (g getter) Get(_ context.Context, name string, _ *metav1.GetOptions) (runtime.Object, error) {
	if obj, ok := g.objects[name]; ok {
		return obj, nil
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: g.resource}, name)
}

var now = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

func newREST(t *testing.T) (*TokenREST, crypto.Signer) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	issuer, err := sa.NewIssuer(sa.DefaultIssuer, key)
	if err != nil {
		t.Fatal(err)
	}
	r := NewTokenREST(TokenConfig{
		ServiceAccounts: getter{"serviceaccounts", map[string]runtime.Object{
			"default": &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "default", UID: "sa-uid"}},
		}},
		Pods: getter{"pods", map[string]runtime.Object{
			"web":   &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "pod-uid"}, Spec: corev1.PodSpec{ServiceAccountName: "default", NodeName: "n1"}},
			"other": &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "other", UID: "other-uid"}, Spec: corev1.PodSpec{ServiceAccountName: "robot"}},
		}},
		Secrets: getter{"secrets", map[string]runtime.Object{
			"s": &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s", UID: "secret-uid"}},
		}},
		Nodes: getter{"nodes", map[string]runtime.Object{
			"n1": &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}},
		}},
		Issuer:           issuer,
		APIAudiences:     []string{sa.DefaultIssuer},
		ExtendExpiration: true,
	})
	r.now = func() time.Time { return now }
	return r, key
}

func claims(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func create(t *testing.T, r *TokenREST, name string, spec authenticationv1.TokenRequestSpec) (*authenticationv1.TokenRequest, error) {
	t.Helper()
	ctx := genericapirequest.WithNamespace(t.Context(), "ns")
	obj, err := r.Create(ctx, name, &authenticationv1.TokenRequest{Spec: spec}, nil, &metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	return obj.(*authenticationv1.TokenRequest), nil
}

func TestTokenRequestDefaults(t *testing.T) {
	r, _ := newREST(t)
	out, err := create(t, r, "default", authenticationv1.TokenRequestSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if *out.Spec.ExpirationSeconds != 3600 || len(out.Spec.Audiences) != 1 || out.Spec.Audiences[0] != sa.DefaultIssuer {
		t.Errorf("spec = %+v, want 3600 s for the API audience", out.Spec)
	}
	if out.Name != "default" || out.Namespace != "ns" {
		t.Errorf("metadata = %s/%s", out.Namespace, out.Name)
	}
	if !out.Status.ExpirationTimestamp.Time.Equal(now.Add(time.Hour)) {
		t.Errorf("expirationTimestamp = %v, want %v", out.Status.ExpirationTimestamp, now.Add(time.Hour))
	}
	c := claims(t, out.Status.Token)
	if c["sub"] != "system:serviceaccount:ns:default" || c["exp"] != float64(now.Add(time.Hour).Unix()) {
		t.Errorf("claims = %v", c)
	}
	if k := c["kubernetes.io"].(map[string]any); k["pod"] != nil {
		t.Errorf("unbound token names a pod: %v", k)
	}
}

func TestPodBoundKubeAPIAccessTokensAreExtended(t *testing.T) {
	r, _ := newREST(t)
	out, err := create(t, r, "default", authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](sa.WarnOnlyExpirationSeconds),
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "web", UID: "pod-uid"},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The client is told the hour it asked for; the token lasts a year.
	if want := now.Add(3607 * time.Second); !out.Status.ExpirationTimestamp.Time.Equal(want) {
		t.Errorf("expirationTimestamp = %v, want %v", out.Status.ExpirationTimestamp, want)
	}
	c := claims(t, out.Status.Token)
	k := c["kubernetes.io"].(map[string]any)
	if c["exp"] != float64(now.Add(sa.ExtendedExpiration).Unix()) || k["warnafter"] != float64(now.Add(3607*time.Second).Unix()) {
		t.Errorf("exp = %v, warnafter = %v", c["exp"], k["warnafter"])
	}
	wantPod := map[string]any{"name": "web", "uid": "pod-uid"}
	wantNode := map[string]any{"name": "n1", "uid": "node-uid"}
	if p, n := k["pod"].(map[string]any), k["node"].(map[string]any); p["uid"] != wantPod["uid"] || n["uid"] != wantNode["uid"] {
		t.Errorf("kubernetes.io = %v", k)
	}

	// Other lifetimes, or other audiences, are issued as asked.
	out, err = create(t, r, "default", authenticationv1.TokenRequestSpec{
		ExpirationSeconds: ptr.To[int64](sa.WarnOnlyExpirationSeconds), Audiences: []string{"vault"},
		BoundObjectRef: &authenticationv1.BoundObjectReference{Kind: "Pod", APIVersion: "v1", Name: "web"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if c := claims(t, out.Status.Token); c["exp"] != float64(now.Add(3607*time.Second).Unix()) {
		t.Errorf("vault token exp = %v, want not extended", c["exp"])
	}
}

func TestTokenRequestErrors(t *testing.T) {
	pod := func(name, uid string) *authenticationv1.BoundObjectReference {
		return &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: name, UID: types.UID(uid)}
	}
	tests := []struct {
		name    string
		account string
		spec    authenticationv1.TokenRequestSpec
		is      func(error) bool
		want    string
	}{{
		name: "too short", account: "default",
		spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](599)},
		is:   apierrors.IsInvalid,
		want: `TokenRequest.authentication.k8s.io "" is invalid: spec.expirationSeconds: Invalid value: 599: may not specify a duration less than 10 minutes`,
	}, {
		name: "too long", account: "default",
		spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To[int64](1<<32 + 1)},
		is:   apierrors.IsInvalid,
		want: "may not specify a duration larger than 2^32 seconds",
	}, {
		name: "missing account", account: "robot",
		is:   apierrors.IsNotFound,
		want: `serviceaccounts "robot" not found`,
	}, {
		name: "missing pod", account: "default",
		spec: authenticationv1.TokenRequestSpec{BoundObjectRef: pod("gone", "")},
		is:   apierrors.IsNotFound,
		want: `pods "gone" not found`,
	}, {
		name: "pod recreated", account: "default",
		spec: authenticationv1.TokenRequestSpec{BoundObjectRef: pod("web", "old-uid")},
		is:   apierrors.IsConflict,
		want: `Operation cannot be fulfilled on Pod "web": the UID in the bound object reference (old-uid) does not match the UID in record. The object might have been deleted and then recreated`,
	}, {
		name: "pod of another account", account: "default",
		spec: authenticationv1.TokenRequestSpec{BoundObjectRef: pod("other", "")},
		is:   apierrors.IsBadRequest,
		want: `cannot bind token for serviceaccount "default" to pod running with different serviceaccount name.`,
	}, {
		name: "unsupported kind", account: "default",
		spec: authenticationv1.TokenRequestSpec{BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "d"}},
		is:   apierrors.IsBadRequest,
		want: `cannot bind token for serviceaccount "default" to object of type apps/v1, Kind=Deployment`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := newREST(t)
			_, err := create(t, r, tt.account, tt.spec)
			if err == nil || !tt.is(err) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestTokenRequestBoundToSecretOrNode(t *testing.T) {
	r, _ := newREST(t)
	for kind, name := range map[string]string{"Secret": "s", "Node": "n1"} {
		out, err := create(t, r, "default", authenticationv1.TokenRequestSpec{
			BoundObjectRef: &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: kind, Name: name},
		})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		k := claims(t, out.Status.Token)["kubernetes.io"].(map[string]any)
		if ref, _ := k[strings.ToLower(kind)].(map[string]any); ref["name"] != name {
			t.Errorf("%s-bound token claims %v", kind, k)
		}
	}
}

func TestTokenRequestNameMustMatch(t *testing.T) {
	r, _ := newREST(t)
	ctx := genericapirequest.WithNamespace(t.Context(), "ns")
	req := &authenticationv1.TokenRequest{ObjectMeta: metav1.ObjectMeta{Name: "other"}}
	if _, err := r.Create(ctx, "default", req, nil, &metav1.CreateOptions{}); !apierrors.IsInvalid(err) {
		t.Fatalf("error = %v, want Invalid", err)
	}
}
