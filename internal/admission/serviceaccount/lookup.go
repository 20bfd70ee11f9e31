package serviceaccount

import (
	"context"
	"math/rand/v2"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// defaultAccountAttempts is how often a missing "default" account is looked
// up live. The service account controller creates it right after its
// namespace, so a pod created with the namespace races it; waiting a second
// or two beats failing the pod. Other accounts are looked up once.
const defaultAccountAttempts = 10

// jitteredRetryInterval is upstream's pause between those lookups: 100 to
// 200ms, random so that pods waiting on one namespace spread out.
func jitteredRetryInterval() time.Duration {
	return time.Duration(100+rand.Int64N(100)) * time.Millisecond
}

// getServiceAccount returns the named account from the cache or, when the
// cache has not seen it yet (just created), from the API. A missing account
// is a NotFound error for the singular resource "serviceaccount", which is
// how upstream's message reads.
func (s *Plugin) getServiceAccount(ctx context.Context, namespace, name string) (*corev1.ServiceAccount, error) {
	sa, err := s.lister.ServiceAccounts(namespace).Get(name)
	if err == nil {
		return sa, nil
	}
	if !apierrors.IsNotFound(err) {
		return nil, err
	}

	attempts := 1
	if name == defaultServiceAccountName {
		attempts = defaultAccountAttempts
	}
	interval := s.retryInterval()
	for i := range attempts {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(interval):
			}
		}
		sa, err := s.client.CoreV1().ServiceAccounts(namespace).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return sa, nil
		}
		if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "serviceaccount"}, name)
}
