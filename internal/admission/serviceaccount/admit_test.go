package serviceaccount

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	k8stesting "k8s.io/client-go/testing"
)

func TestAdmitCreate(t *testing.T) {
	robot := account("robot", func(sa *corev1.ServiceAccount) { sa.ImagePullSecrets = pullSecrets("registry") })
	tests := []struct {
		name     string
		accounts []runtime.Object
		pod      *corev1.Pod
		// want is the pod after a successful admission.
		want     *corev1.Pod
		wantErr  string
		wantGets int
	}{{
		name:     "no account names default",
		accounts: []runtime.Object{account("default")},
		pod:      pod(),
		want:     pod(func(p *corev1.Pod) { p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount = "default", "default" }, mounted),
	}, {
		name:     "already defaulted is left alone",
		accounts: []runtime.Object{account("default")},
		pod:      pod(withAccount("default")),
		want:     pod(withAccount("default"), mounted),
	}, {
		name:     "named account, pull secrets copied",
		accounts: []runtime.Object{robot},
		pod:      pod(withAccount("robot")),
		want:     pod(withAccount("robot"), func(p *corev1.Pod) { p.Spec.ImagePullSecrets = pullSecrets("registry") }, mounted),
	}, {
		name:     "pod's own pull secrets win",
		accounts: []runtime.Object{robot},
		pod:      pod(withAccount("robot"), func(p *corev1.Pod) { p.Spec.ImagePullSecrets = pullSecrets("mine") }),
		want:     pod(withAccount("robot"), func(p *corev1.Pod) { p.Spec.ImagePullSecrets = pullSecrets("mine") }, mounted),
	}, {
		name:     "missing account is looked up once",
		pod:      pod(withAccount("robot")),
		wantErr:  `pods "p" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found`,
		wantGets: 1,
	}, {
		name:     "missing default account is retried while the controller creates it",
		pod:      pod(),
		wantErr:  `pods "p" is forbidden: error looking up service account ns/default: serviceaccount "default" not found`,
		wantGets: defaultAccountAttempts,
	}, {
		name:     "account in another namespace does not count",
		accounts: []runtime.Object{account("robot", func(sa *corev1.ServiceAccount) { sa.Namespace = "other" })},
		pod:      pod(withAccount("robot")),
		wantErr:  `pods "p" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found`,
		wantGets: 1,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, client := newPlugin(t, tt.accounts...)
			err := s.Admit(t.Context(), create(tt.pod), nil)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error = %q, want %q", got, tt.wantErr)
			}
			if err != nil && !apierrors.IsForbidden(err) {
				t.Errorf("error is not Forbidden: %#v", err)
			}
			if got := gets(client); got != tt.wantGets {
				t.Errorf("live GETs = %d, want %d", got, tt.wantGets)
			}
			if err == nil {
				if diff := cmp.Diff(tt.want, tt.pod); diff != "" {
					t.Errorf("pod (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// TestAdmitLiveLookup covers an account created after the cache synced but
// before its watch event arrived.
func TestAdmitLiveLookup(t *testing.T) {
	s, client := newPlugin(t)
	client.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, account("robot"), nil
	})
	if err := s.Admit(t.Context(), create(pod(withAccount("robot"))), nil); err != nil {
		t.Fatal(err)
	}
	// Admit looks it up, then Validate does again.
	if got := gets(client); got != 2 {
		t.Errorf("live GETs = %d, want 2", got)
	}
}

func TestAdmitLookupError(t *testing.T) {
	s, client := newPlugin(t)
	client.PrependReactor("get", "serviceaccounts", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewServiceUnavailable("etcd is down")
	})
	err := s.Admit(t.Context(), create(pod(withAccount("robot"))), nil)
	want := `pods "p" is forbidden: error looking up service account ns/robot: etcd is down`
	if errString(err) != want {
		t.Errorf("error = %q, want %q", errString(err), want)
	}
	if got := gets(client); got != 1 {
		t.Errorf("live GETs = %d, want 1 (only NotFound is retried)", got)
	}
}

func TestAdmitCanceledWhileRetrying(t *testing.T) {
	s, _ := newPlugin(t)
	// Long enough that only the cancellation can end the wait.
	s.retryInterval = func() time.Duration { return time.Hour }
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := s.Admit(ctx, create(pod()), nil)
	want := `pods "p" is forbidden: error looking up service account ns/default: context canceled`
	if errString(err) != want {
		t.Errorf("error = %q, want %q", errString(err), want)
	}
}

func TestAdmitMirrorPod(t *testing.T) {
	tests := []struct {
		name    string
		pod     *corev1.Pod
		wantErr string
	}{{
		name: "no references: admitted and not defaulted",
		pod:  pod(mirror),
	}, {
		name:    "service account",
		pod:     pod(mirror, withAccount("default")),
		wantErr: `pods "p" is forbidden: a mirror pod may not reference service accounts`,
	}, {
		name:    "secret volume",
		pod:     pod(mirror, withVolume(secretVolume("s"))),
		wantErr: `pods "p" is forbidden: a mirror pod may not reference secrets`,
	}, {
		name: "secret in an init container's env",
		pod: pod(mirror, func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Env: []corev1.EnvVar{secretEnv("s")}}}
		}),
		wantErr: `pods "p" is forbidden: a mirror pod may not reference secrets`,
	}, {
		name:    "pull secret",
		pod:     pod(mirror, func(p *corev1.Pod) { p.Spec.ImagePullSecrets = pullSecrets("s") }),
		wantErr: `pods "p" is forbidden: a mirror pod may not reference secrets`,
	}, {
		name: "CSI node publish secret",
		pod: pod(mirror, withVolume(corev1.VolumeSource{CSI: &corev1.CSIVolumeSource{
			Driver: "d", NodePublishSecretRef: &corev1.LocalObjectReference{Name: "s"}}})),
		wantErr: `pods "p" is forbidden: a mirror pod may not reference secrets`,
	}, {
		name: "projected service account token",
		pod: pod(mirror, withVolume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token"}}}}})),
		wantErr: `pods "p" is forbidden: a mirror pod may not use ServiceAccountToken volume projections`,
	}, {
		name: "empty secret names are not references",
		pod:  pod(mirror, withVolume(secretVolume("")), func(p *corev1.Pod) { p.Spec.ImagePullSecrets = pullSecrets("") }),
	}, {
		name: "config maps are fine",
		pod: pod(mirror, withVolume(corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "cm"}}})),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// No accounts exist: a mirror pod never needs one.
			s, client := newPlugin(t)
			before := tt.pod.DeepCopy()
			err := s.Admit(t.Context(), create(tt.pod), nil)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error = %q, want %q", got, tt.wantErr)
			}
			if err != nil && !apierrors.IsForbidden(err) {
				t.Errorf("error is not Forbidden: %#v", err)
			}
			if diff := cmp.Diff(before, tt.pod); diff != "" {
				t.Errorf("mirror pod changed (-before +after):\n%s", diff)
			}
			if n := gets(client); n != 0 {
				t.Errorf("live GETs = %d, want 0", n)
			}
		})
	}
}
