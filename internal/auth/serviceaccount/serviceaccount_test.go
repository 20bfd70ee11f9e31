package serviceaccount

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/authentication/authenticator"
)

var (
	keyOnce sync.Once
	rsaKey  *rsa.PrivateKey
)

// testKey is one RSA key for the whole package: generating is slow.
func testKey(t *testing.T) *rsa.PrivateKey {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		if rsaKey, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return rsaKey
}

// objects is a Getter over maps, keyed "ns/name" (nodes by name).
type objects struct {
	accounts map[string]*corev1.ServiceAccount
	pods     map[string]*corev1.Pod
	secrets  map[string]*corev1.Secret
	nodes    map[string]*corev1.Node
}

func notFound(resource, name string) error {
	return apierrors.NewNotFound(schema.GroupResource{Resource: resource}, name)
}

func (o *objects) GetServiceAccount(_ context.Context, ns, name string) (*corev1.ServiceAccount, error) {
	if sa, ok := o.accounts[ns+"/"+name]; ok {
		return sa, nil
	}
	return nil, notFound("serviceaccounts", name)
}

func (o *objects) GetPod(_ context.Context, ns, name string) (*corev1.Pod, error) {
	if p, ok := o.pods[ns+"/"+name]; ok {
		return p, nil
	}
	return nil, notFound("pods", name)
}

func (o *objects) GetSecret(_ context.Context, ns, name string) (*corev1.Secret, error) {
	if s, ok := o.secrets[ns+"/"+name]; ok {
		return s, nil
	}
	return nil, notFound("secrets", name)
}

func (o *objects) GetNode(_ context.Context, name string) (*corev1.Node, error) {
	if n, ok := o.nodes[name]; ok {
		return n, nil
	}
	return nil, notFound("nodes", name)
}

var (
	account  = &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "robot", UID: "sa-uid"}}
	boundPod = &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "pod-uid"},
		Spec: corev1.PodSpec{ServiceAccountName: "robot", NodeName: "n1"}}
	node   = &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", UID: "node-uid"}}
	secret = &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "s", UID: "secret-uid"}}
)

func world() *objects {
	return &objects{
		accounts: map[string]*corev1.ServiceAccount{"ns/robot": account},
		pods:     map[string]*corev1.Pod{"ns/web": boundPod},
		secrets:  map[string]*corev1.Secret{"ns/s": secret},
		nodes:    map[string]*corev1.Node{"n1": node},
	}
}

type fixture struct {
	issuer *Issuer
	authn  *Authenticator
	objs   *objects
	now    time.Time
}

func newFixture(t *testing.T, key crypto.Signer) *fixture {
	t.Helper()
	f := &fixture{objs: world(), now: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
	var err error
	if f.issuer, err = NewIssuer(DefaultIssuer, key); err != nil {
		t.Fatal(err)
	}
	f.authn, err = NewAuthenticator(AuthenticatorConfig{
		Issuer: DefaultIssuer, Keys: []crypto.PublicKey{key.Public()}, APIAudiences: []string{DefaultIssuer},
		Getter: f.objs, Now: func() time.Time { return f.now },
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) issue(t *testing.T, tok Token) string {
	t.Helper()
	if tok.ServiceAccount == nil {
		tok.ServiceAccount = account
	}
	if tok.Lifetime == 0 {
		tok.Lifetime = time.Hour
	}
	if tok.IssuedAt.IsZero() {
		tok.IssuedAt = f.now
	}
	s, _, err := f.issuer.Issue(tok)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// payload decodes a token's claims without checking anything.
func payload(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts", len(parts))
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func header(t *testing.T, token string) map[string]any {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(strings.Split(token, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPodBoundTokenHasKubernetesClaimsAndAuthenticates(t *testing.T) {
	f := newFixture(t, testKey(t))
	token := f.issue(t, Token{Pod: boundPod, Node: node, Audiences: []string{DefaultIssuer}, WarnAfter: 3607 * time.Second})

	kid, err := KeyID(testKey(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	h := header(t, token)
	if h["alg"] != "RS256" || h["kid"] != kid || kid != f.issuer.KeyID() {
		t.Errorf("header = %v, want RS256 with kid %s", h, kid)
	}
	claims := payload(t, token)
	iat := float64(f.now.Unix())
	jti, _ := claims["jti"].(string)
	if jti == "" {
		t.Errorf("no jti in %v", claims)
	}
	want := map[string]any{
		"iss": DefaultIssuer, "sub": "system:serviceaccount:ns:robot", "aud": []any{DefaultIssuer},
		"iat": iat, "nbf": iat, "exp": iat + 3600, "jti": jti,
		"kubernetes.io": map[string]any{
			"namespace":      "ns",
			"serviceaccount": map[string]any{"name": "robot", "uid": "sa-uid"},
			"pod":            map[string]any{"name": "web", "uid": "pod-uid"},
			"node":           map[string]any{"name": "n1", "uid": "node-uid"},
			"warnafter":      iat + 3607,
		},
	}
	if diff := cmp.Diff(want, claims); diff != "" {
		t.Errorf("claims (-want +got):\n%s", diff)
	}

	resp, ok, err := f.authn.AuthenticateToken(t.Context(), token)
	if err != nil || !ok {
		t.Fatalf("AuthenticateToken = %v, %v", ok, err)
	}
	u := resp.User
	if u.GetName() != "system:serviceaccount:ns:robot" || u.GetUID() != "sa-uid" {
		t.Errorf("user = %s (uid %s)", u.GetName(), u.GetUID())
	}
	if diff := cmp.Diff([]string{"system:serviceaccounts", "system:serviceaccounts:ns"}, u.GetGroups()); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	wantExtra := map[string][]string{
		"authentication.kubernetes.io/pod-name":      {"web"},
		"authentication.kubernetes.io/pod-uid":       {"pod-uid"},
		"authentication.kubernetes.io/node-name":     {"n1"},
		"authentication.kubernetes.io/node-uid":      {"node-uid"},
		"authentication.kubernetes.io/credential-id": {"JTI=" + jti},
	}
	if diff := cmp.Diff(wantExtra, u.GetExtra()); diff != "" {
		t.Errorf("extra (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(authenticator.Audiences{DefaultIssuer}, resp.Audiences); diff != "" {
		t.Errorf("audiences (-want +got):\n%s", diff)
	}
}

func TestTokenRejections(t *testing.T) {
	otherKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		// mutate changes the world or the clock after the token is issued.
		tok    Token
		mutate func(f *fixture)
		ctx    func(context.Context) context.Context
		// signer, when set, issues the token instead of the fixture's.
		signer  crypto.Signer
		wantErr string
	}{{
		name:    "expired",
		mutate:  func(f *fixture) { f.now = f.now.Add(time.Hour + Leeway + time.Second) },
		wantErr: "service account token has expired",
	}, {
		name:   "expired but within the leeway",
		mutate: func(f *fixture) { f.now = f.now.Add(time.Hour + Leeway - time.Second) },
	}, {
		name:    "not valid yet",
		mutate:  func(f *fixture) { f.now = f.now.Add(-Leeway - time.Minute) },
		wantErr: "service account token is not valid yet",
	}, {
		name:    "wrong audience",
		tok:     Token{Audiences: []string{"vault"}},
		wantErr: `token audiences ["vault"] is invalid for the target audiences ["https://kubernetes.default.svc.cluster.local"]`,
	}, {
		name: "audience the request asks for",
		tok:  Token{Audiences: []string{"vault"}},
		ctx: func(ctx context.Context) context.Context {
			return authenticator.WithAudiences(ctx, authenticator.Audiences{"vault"})
		},
	}, {
		name:    "signed by another key",
		signer:  otherKey,
		wantErr: "verify service account token",
	}, {
		name:    "bound pod deleted",
		tok:     Token{Pod: boundPod},
		mutate:  func(f *fixture) { delete(f.objs.pods, "ns/web") },
		wantErr: `service account token has been invalidated: bound pod: pods "web" not found`,
	}, {
		name: "bound pod recreated",
		tok:  Token{Pod: boundPod},
		mutate: func(f *fixture) {
			p := boundPod.DeepCopy()
			p.UID = "new-uid"
			f.objs.pods["ns/web"] = p
		},
		wantErr: "pod UID (new-uid) does not match service account pod ref claim (pod-uid)",
	}, {
		name: "bound pod deleted long ago but still terminating",
		tok:  Token{Pod: boundPod},
		mutate: func(f *fixture) {
			p := boundPod.DeepCopy()
			p.DeletionTimestamp = &metav1.Time{Time: f.now.Add(-2 * Leeway)}
			f.objs.pods["ns/web"] = p
		},
		wantErr: "service account token has been invalidated: bound pod is being deleted",
	}, {
		name: "bound pod just marked for deletion",
		tok:  Token{Pod: boundPod},
		mutate: func(f *fixture) {
			p := boundPod.DeepCopy()
			p.DeletionTimestamp = &metav1.Time{Time: f.now}
			f.objs.pods["ns/web"] = p
		},
	}, {
		name:    "account deleted",
		mutate:  func(f *fixture) { delete(f.objs.accounts, "ns/robot") },
		wantErr: `service account ns/robot: serviceaccounts "robot" not found`,
	}, {
		name: "account recreated",
		mutate: func(f *fixture) {
			sa := account.DeepCopy()
			sa.UID = "other"
			f.objs.accounts["ns/robot"] = sa
		},
		wantErr: "service account UID (other) does not match claim (sa-uid)",
	}, {
		name:    "bound secret deleted",
		tok:     Token{Secret: secret},
		mutate:  func(f *fixture) { delete(f.objs.secrets, "ns/s") },
		wantErr: `service account token has been invalidated: bound secret: secrets "s" not found`,
	}, {
		name: "bound node recreated",
		tok:  Token{Node: node},
		mutate: func(f *fixture) {
			n := node.DeepCopy()
			n.UID = "n2"
			f.objs.nodes["n1"] = n
		},
		wantErr: "node UID (n2) does not match service account node ref claim (node-uid)",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, testKey(t))
			issuer := f.issuer
			if tt.signer != nil {
				var err error
				if issuer, err = NewIssuer(DefaultIssuer, tt.signer); err != nil {
					t.Fatal(err)
				}
			}
			tok := tt.tok
			tok.ServiceAccount, tok.Lifetime, tok.IssuedAt = account, time.Hour, f.now
			if tok.Audiences == nil {
				tok.Audiences = []string{DefaultIssuer}
			}
			token, _, err := issuer.Issue(tok)
			if err != nil {
				t.Fatal(err)
			}
			if tt.mutate != nil {
				tt.mutate(f)
			}
			ctx := t.Context()
			if tt.ctx != nil {
				ctx = tt.ctx(ctx)
			}
			resp, ok, err := f.authn.AuthenticateToken(ctx, token)
			if tt.wantErr == "" {
				if err != nil || !ok || resp.User.GetName() != "system:serviceaccount:ns:robot" {
					t.Fatalf("AuthenticateToken = %v, %v, %v; want success", resp, ok, err)
				}
				return
			}
			if ok || err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("AuthenticateToken = %v, %v; want error containing %q", ok, err, tt.wantErr)
			}
		})
	}
}

func TestForeignTokensAreLeftToOtherAuthenticators(t *testing.T) {
	f := newFixture(t, testKey(t))
	other, err := NewIssuer("https://elsewhere.example", testKey(t))
	if err != nil {
		t.Fatal(err)
	}
	foreign, _, err := other.Issue(Token{ServiceAccount: account, Lifetime: time.Hour, IssuedAt: f.now})
	if err != nil {
		t.Fatal(err)
	}
	for name, token := range map[string]string{
		"other issuer":   foreign,
		"opaque token":   "abcdef.0123456789abcdef",
		"json":           `{"iss":"` + DefaultIssuer + `"}`,
		"three garbage":  "a.b.c",
		"empty":          "",
		"bad signature":  f.issue(t, Token{Audiences: []string{DefaultIssuer}}) + "x",
		"static garbage": "x." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"`+DefaultIssuer+`"}`)) + ".y",
	} {
		t.Run(name, func(t *testing.T) {
			resp, ok, err := f.authn.AuthenticateToken(t.Context(), token)
			if ok || resp != nil {
				t.Fatalf("authenticated %v", resp)
			}
			// A token of our issuer with a broken signature is an error;
			// everything else is simply not ours.
			if name != "bad signature" && name != "static garbage" && err != nil {
				t.Fatalf("err = %v, want none", err)
			}
		})
	}
}

func TestECDSAKeysSignES256(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, key)
	token := f.issue(t, Token{Audiences: []string{DefaultIssuer}})
	if alg := header(t, token)["alg"]; alg != "ES256" {
		t.Errorf("alg = %v, want ES256", alg)
	}
	if _, ok, err := f.authn.AuthenticateToken(t.Context(), token); !ok || err != nil {
		t.Fatalf("AuthenticateToken = %v, %v", ok, err)
	}
}

func TestIssueRefusesBadRequests(t *testing.T) {
	f := newFixture(t, testKey(t))
	for name, tok := range map[string]Token{
		"no account":  {Lifetime: time.Hour},
		"no lifetime": {ServiceAccount: account},
		"two objects": {ServiceAccount: account, Lifetime: time.Hour, Pod: boundPod, Secret: secret},
	} {
		if _, _, err := f.issuer.Issue(tok); err == nil {
			t.Errorf("%s: issued", name)
		}
	}
}

func TestKeyIDIsStable(t *testing.T) {
	a, err := KeyID(testKey(t).Public())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := KeyID(&rsa.PublicKey{N: testKey(t).N, E: testKey(t).E})
	if a != b || len(a) != 43 {
		t.Fatalf("KeyID = %q and %q, want one 43-character id", a, b)
	}
}

var _ Getter = (*objects)(nil)
