package pods

import (
	"errors"
	"fmt"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
)

// tokenAPI answers TokenRequests like the API server: token-<n>, valid for
// the requested lifetime from the fake clock's now.
type tokenAPI struct {
	clock    *clocktesting.FakeClock
	requests []*authenticationv1.TokenRequest
	fail     error
}

func (a *tokenAPI) react(action k8stesting.Action) (bool, runtime.Object, error) {
	create := action.(k8stesting.CreateAction)
	if action.GetSubresource() != "token" {
		return false, nil, nil
	}
	if a.fail != nil {
		return true, nil, a.fail
	}
	req := create.GetObject().(*authenticationv1.TokenRequest).DeepCopy()
	a.requests = append(a.requests, req)
	out := req.DeepCopy()
	if out.Spec.ExpirationSeconds == nil {
		out.Spec.ExpirationSeconds = ptr.To[int64](3600)
	}
	out.Status = authenticationv1.TokenRequestStatus{
		Token:               fmt.Sprintf("token-%d", len(a.requests)),
		ExpirationTimestamp: metav1.NewTime(a.clock.Now().Add(time.Duration(*out.Spec.ExpirationSeconds) * time.Second)),
	}
	return true, out, nil
}

func newTestTokenManager(t *testing.T) (*tokenManager, *tokenAPI) {
	t.Helper()
	clk := clocktesting.NewFakeClock(time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC))
	api := &tokenAPI{clock: clk}
	client := fake.NewClientset()
	client.PrependReactor("create", "serviceaccounts", api.react)
	return newTokenManager(client, clk, nil), api
}

var tokenPod = &corev1.Pod{
	ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "web", UID: "pod-uid"},
	Spec:       corev1.PodSpec{ServiceAccountName: "robot"},
}

func mustToken(t *testing.T, m *tokenManager, src *corev1.ServiceAccountTokenProjection) string {
	t.Helper()
	tok, err := m.token(t.Context(), tokenPod, src)
	if err != nil {
		t.Fatal(err)
	}
	return string(tok)
}

func TestTokenRequestIsBoundToThePod(t *testing.T) {
	m, api := newTestTokenManager(t)
	mustToken(t, m, &corev1.ServiceAccountTokenProjection{Path: "token", Audience: "vault", ExpirationSeconds: ptr.To[int64](7200)})
	mustToken(t, m, &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)})
	if len(api.requests) != 2 {
		t.Fatalf("%d requests, want 2", len(api.requests))
	}
	got := api.requests[0].Spec
	if len(got.Audiences) != 1 || got.Audiences[0] != "vault" || *got.ExpirationSeconds != 7200 ||
		*got.BoundObjectRef != (authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: "web", UID: "pod-uid"}) {
		t.Errorf("request spec = %+v", got)
	}
	if auds := api.requests[1].Spec.Audiences; auds != nil {
		t.Errorf("no audience asked for %v, want none (the API's)", auds)
	}
}

func TestTokensAreCachedAndRefreshedLikeTheKubelet(t *testing.T) {
	m, api := newTestTokenManager(t)
	src := &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3600)}
	clk := api.clock

	if tok := mustToken(t, m, src); tok != "token-1" {
		t.Fatalf("token = %s", tok)
	}
	// Up to 80% of an hour minus the jitter: cached.
	clk.Step(47 * time.Minute)
	if tok := mustToken(t, m, src); tok != "token-1" || len(api.requests) != 1 {
		t.Fatalf("token = %s after %d requests, want the cached token-1", tok, len(api.requests))
	}
	// Past 80%: refreshed.
	clk.Step(time.Minute + 1)
	if tok := mustToken(t, m, src); tok != "token-2" {
		t.Fatalf("token = %s, want a refreshed token-2", tok)
	}

	// A refresh that fails keeps the old token while it is valid...
	clk.Step(50 * time.Minute)
	api.fail = errors.New("apiserver down")
	if tok := mustToken(t, m, src); tok != "token-2" {
		t.Fatalf("token = %s, want token-2 kept", tok)
	}
	// ...and fails once it has expired.
	clk.Step(time.Hour)
	if _, err := m.token(t.Context(), tokenPod, src); err == nil {
		t.Fatal("expired token served")
	}
}

func TestLongLivedTokensAreRefreshedDaily(t *testing.T) {
	m, api := newTestTokenManager(t)
	src := &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](7 * 24 * 3600)}
	mustToken(t, m, src)
	api.clock.Step(23 * time.Hour)
	if mustToken(t, m, src); len(api.requests) != 1 {
		t.Fatalf("%d requests after 23h, want 1", len(api.requests))
	}
	api.clock.Step(time.Hour + time.Second)
	if tok := mustToken(t, m, src); tok != "token-2" {
		t.Fatalf("token = %s after 24h, want token-2", tok)
	}
}

func TestForgetDropsAPodsTokens(t *testing.T) {
	m, api := newTestTokenManager(t)
	src := &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3600)}
	mustToken(t, m, src)
	m.forget(tokenPod.UID)
	if tok := mustToken(t, m, src); tok != "token-2" || len(api.requests) != 2 {
		t.Fatalf("token = %s after %d requests, want a new token-2", tok, len(api.requests))
	}
}

func TestPodWithoutAccountGetsNoToken(t *testing.T) {
	m, _ := newTestTokenManager(t)
	pod := tokenPod.DeepCopy()
	pod.Spec.ServiceAccountName = ""
	if _, err := m.token(t.Context(), pod, &corev1.ServiceAccountTokenProjection{Path: "token"}); err == nil {
		t.Fatal("token issued for a pod without an account")
	}
}
