package pods

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/clock"
)

// The kubelet's token manager schedule: refresh a token once 80% of its
// lifetime has passed, and at least daily, each with up to 10 s of jitter
// so that pods started together do not refresh together.
const (
	tokenMaxTTL          = 24 * time.Hour
	tokenMaxJitter       = 10 * time.Second
	tokenRefreshFraction = 20 // refresh in the last 20% of the lifetime
	tokenCleanupPeriod   = time.Minute
)

// tokenManager backs serviceAccountToken projections: it asks the API, as
// this node, for tokens bound to the pod (serviceaccounts/token) and caches
// them, so that the volume manager's frequent updates cost no request until
// a token is due for refresh.
type tokenManager struct {
	client kubernetes.Interface
	clock  clock.Clock
	log    *slog.Logger

	mu          sync.Mutex
	cache       map[tokenKey]*authenticationv1.TokenRequest
	lastCleanup time.Time
}

// tokenKey identifies a request: account, audiences, lifetime and the pod.
type tokenKey struct {
	namespace, account, audience string
	expirationSeconds            int64
	pod                          types.UID
}

func newTokenManager(client kubernetes.Interface, clk clock.Clock, log *slog.Logger) *tokenManager {
	if log == nil {
		log = slog.Default()
	}
	return &tokenManager{client: client, clock: clk, log: log, cache: map[tokenKey]*authenticationv1.TokenRequest{}}
}

// token implements volumes.TokenSource.
func (m *tokenManager) token(ctx context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error) {
	if pod.Spec.ServiceAccountName == "" {
		return nil, errors.New("pod has no service account to request a token for")
	}
	req := &authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{
		ExpirationSeconds: src.ExpirationSeconds,
		BoundObjectRef:    &authenticationv1.BoundObjectReference{APIVersion: "v1", Kind: "Pod", Name: pod.Name, UID: pod.UID},
	}}
	// No audience: the API server's own.
	if src.Audience != "" {
		req.Spec.Audiences = []string{src.Audience}
	}
	key := tokenKey{namespace: pod.Namespace, account: pod.Spec.ServiceAccountName, audience: src.Audience, pod: pod.UID}
	if src.ExpirationSeconds != nil {
		key.expirationSeconds = *src.ExpirationSeconds
	}

	m.mu.Lock()
	m.cleanupLocked()
	cached, ok := m.cache[key]
	m.mu.Unlock()
	if ok && !m.requiresRefresh(cached) {
		return []byte(cached.Status.Token), nil
	}
	tr, err := m.client.CoreV1().ServiceAccounts(pod.Namespace).CreateToken(ctx, pod.Spec.ServiceAccountName, req, metav1.CreateOptions{})
	switch {
	case err == nil:
	case !ok:
		return nil, fmt.Errorf("failed to fetch token: %w", err)
	case m.expired(cached):
		return nil, fmt.Errorf("token for pod %s/%s expired and refresh failed: %w", pod.Namespace, pod.Name, err)
	default:
		// The old token still works; the next update tries again.
		m.log.Warn("refresh service account token", "pod", pod.Namespace+"/"+pod.Name, "err", err)
		return []byte(cached.Status.Token), nil
	}
	m.mu.Lock()
	m.cache[key] = tr
	m.mu.Unlock()
	return []byte(tr.Status.Token), nil
}

// requiresRefresh follows the kubelet: past 24 h since issue, or within
// the last 20% of the lifetime the token was requested for.
func (m *tokenManager) requiresRefresh(tr *authenticationv1.TokenRequest) bool {
	if tr.Spec.ExpirationSeconds == nil {
		// The API always reports it; without it there is no schedule.
		return true
	}
	now := m.clock.Now()
	lifetime := time.Duration(*tr.Spec.ExpirationSeconds) * time.Second
	exp := tr.Status.ExpirationTimestamp.Time
	iat := exp.Add(-lifetime)
	jitter := time.Duration(rand.Float64() * float64(tokenMaxJitter))
	if now.After(iat.Add(tokenMaxTTL - jitter)) {
		return true
	}
	return now.After(exp.Add(-lifetime*tokenRefreshFraction/100 - jitter))
}

func (m *tokenManager) expired(tr *authenticationv1.TokenRequest) bool {
	return m.clock.Now().After(tr.Status.ExpirationTimestamp.Time)
}

// cleanupLocked drops expired tokens, at most every tokenCleanupPeriod.
func (m *tokenManager) cleanupLocked() {
	now := m.clock.Now()
	if now.Sub(m.lastCleanup) < tokenCleanupPeriod {
		return
	}
	m.lastCleanup = now
	for k, tr := range m.cache {
		if m.expired(tr) {
			delete(m.cache, k)
		}
	}
}

// forget drops the tokens of a pod that is gone.
func (m *tokenManager) forget(uid types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.cache {
		if k.pod == uid {
			delete(m.cache, k)
		}
	}
}
