package serviceaccount

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
)

// TestMountableSecrets covers accounts that limit their pods to the secrets
// they list. Admit runs Validate, so both paths are exercised.
func TestMountableSecrets(t *testing.T) {
	env := func(e ...corev1.EnvVar) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.Containers[0].Env = e }
	}
	tests := []struct {
		name    string
		account *corev1.ServiceAccount
		pod     *corev1.Pod
		wantErr string
	}{{
		name:    "listed secrets are allowed everywhere",
		account: account("robot", enforcing("s"), func(sa *corev1.ServiceAccount) { sa.ImagePullSecrets = pullSecrets("pull") }),
		pod: pod(withAccount("robot"), withVolume(secretVolume("s")), env(secretEnv("s")), func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", EnvFrom: []corev1.EnvFromSource{secretEnvFrom("s")}}}
			p.Spec.ImagePullSecrets = pullSecrets("pull")
		}),
	}, {
		name:    "annotation other than true does not enforce",
		account: account("robot", enforcing(), func(sa *corev1.ServiceAccount) { sa.Annotations[EnforceMountableSecretsAnnotation] = "false" }),
		pod:     pod(withAccount("robot"), withVolume(secretVolume("s"))),
	}, {
		name:    "secret volume",
		account: account("robot", enforcing("other")),
		pod:     pod(withAccount("robot"), withVolume(secretVolume("s"))),
		wantErr: `pods "p" is forbidden: volume with secret.secretName="s" is not allowed because service account robot does not reference that secret`,
	}, {
		name:    "projected secrets are not checked, as upstream",
		account: account("robot", enforcing()),
		pod: pod(withAccount("robot"), withVolume(corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{Secret: &corev1.SecretProjection{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}}}}}})),
	}, {
		name:    "init container env",
		account: account("robot", enforcing()),
		pod: pod(withAccount("robot"), func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", Env: []corev1.EnvVar{secretEnv("s")}}}
		}),
		wantErr: `pods "p" is forbidden: init container i with envVar E referencing secret.secretName="s" is not allowed because service account robot does not reference that secret`,
	}, {
		name:    "init container envFrom",
		account: account("robot", enforcing()),
		pod: pod(withAccount("robot"), func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "i", EnvFrom: []corev1.EnvFromSource{secretEnvFrom("s")}}}
		}),
		wantErr: `pods "p" is forbidden: init container i with envFrom referencing secret.secretName="s" is not allowed because service account robot does not reference that secret`,
	}, {
		name:    "container env",
		account: account("robot", enforcing()),
		pod:     pod(withAccount("robot"), env(secretEnv("s"))),
		wantErr: `pods "p" is forbidden: container c with envVar E referencing secret.secretName="s" is not allowed because service account robot does not reference that secret`,
	}, {
		name:    "container envFrom",
		account: account("robot", enforcing()),
		pod:     pod(withAccount("robot"), func(p *corev1.Pod) { p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{secretEnvFrom("s")} }),
		wantErr: `pods "p" is forbidden: container c with envFrom referencing secret.secretName="s" is not allowed because service account robot does not reference that secret`,
	}, {
		name:    "pull secret, checked against imagePullSecrets not secrets",
		account: account("robot", enforcing("pull")),
		pod:     pod(withAccount("robot"), func(p *corev1.Pod) { p.Spec.ImagePullSecrets = pullSecrets("pull") }),
		wantErr: `pods "p" is forbidden: imagePullSecrets[0].name="pull" is not allowed because service account robot does not reference that imagePullSecret`,
	}, {
		name:    "volumes are checked before containers",
		account: account("robot", enforcing()),
		pod:     pod(withAccount("robot"), env(secretEnv("e")), withVolume(secretVolume("v"))),
		wantErr: `pods "p" is forbidden: volume with secret.secretName="v" is not allowed because service account robot does not reference that secret`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newPlugin(t, tt.account)
			err := s.Admit(t.Context(), create(tt.pod), nil)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error = %q, want %q", got, tt.wantErr)
			}
			if err != nil && !apierrors.IsForbidden(err) {
				t.Errorf("error is not Forbidden: %#v", err)
			}
		})
	}
}

func TestLimitSecretReferencesForAll(t *testing.T) {
	s, _ := newPlugin(t, account("robot"))
	s.LimitSecretReferences = true
	err := s.Validate(t.Context(), create(pod(withAccount("robot"), withVolume(secretVolume("s")))), nil)
	want := `pods "p" is forbidden: volume with secret.secretName="s" is not allowed because service account robot does not reference that secret`
	if errString(err) != want {
		t.Errorf("error = %q, want %q", errString(err), want)
	}
}

func TestValidate(t *testing.T) {
	debug := func(env ...corev1.EnvVar) func(*corev1.Pod) {
		return func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Env: env}}}
		}
	}
	ephemeral := func(p *corev1.Pod) admission.Attributes {
		return attrs(p, pod(withAccount(p.Spec.ServiceAccountName)), "pods", "ephemeralcontainers", admission.Update)
	}
	tests := []struct {
		name     string
		accounts []runtime.Object
		attrs    admission.Attributes
		wantErr  string
		// apiStatus is false for the one error upstream returns unwrapped.
		apiStatus bool
	}{{
		name:      "create without an account",
		attrs:     create(pod()),
		wantErr:   `pods "p" is forbidden: no service account specified for pod ns/p`,
		apiStatus: true,
	}, {
		name:      "create with a missing account",
		attrs:     create(pod(withAccount("robot"))),
		wantErr:   `pods "p" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found`,
		apiStatus: true,
	}, {
		name:     "ephemeral container with a listed secret",
		accounts: []runtime.Object{account("robot", enforcing("s"))},
		attrs:    ephemeral(pod(withAccount("robot"), debug(secretEnv("s")))),
	}, {
		name:     "ephemeral container, account not enforcing",
		accounts: []runtime.Object{account("robot")},
		attrs:    ephemeral(pod(withAccount("robot"), debug(secretEnv("s")))),
	}, {
		name:     "ephemeral container env",
		accounts: []runtime.Object{account("robot", enforcing())},
		attrs:    ephemeral(pod(withAccount("robot"), debug(secretEnv("s")))),
		wantErr:  `ephemeral container debug with envVar E referencing secret.secretName="s" is not allowed because service account robot does not reference that secret`,
	}, {
		name:     "ephemeral container envFrom",
		accounts: []runtime.Object{account("robot", enforcing())},
		attrs: ephemeral(pod(withAccount("robot"), debug(), func(p *corev1.Pod) {
			p.Spec.EphemeralContainers[0].EnvFrom = []corev1.EnvFromSource{secretEnvFrom("s")}
		})),
		wantErr: `ephemeral container debug with envFrom referencing secret.secretName="s" is not allowed because service account robot does not reference that secret`,
	}, {
		name:      "ephemeral container on a pod whose account is gone",
		attrs:     ephemeral(pod(withAccount("robot"), debug())),
		wantErr:   `pods "p" is forbidden: error looking up service account ns/robot: serviceaccount "robot" not found`,
		apiStatus: true,
	}, {
		name:      "ephemeral container on a mirror pod",
		attrs:     ephemeral(pod(mirror, debug())),
		wantErr:   `pods "p" is forbidden: no service account specified for pod ns/p`,
		apiStatus: true,
	}, {
		name:  "plain update is not checked",
		attrs: attrs(pod(withAccount("robot")), pod(withAccount("robot")), "pods", "", admission.Update),
	}, {
		name:  "other subresources are not checked",
		attrs: attrs(pod(), pod(), "pods", "status", admission.Update),
	}, {
		name:  "other resources are not checked",
		attrs: attrs(pod(), nil, "podtemplates", "", admission.Create),
	}, {
		name:  "objects that are not pods are not checked",
		attrs: attrs(&corev1.ConfigMap{}, nil, "pods", "", admission.Create),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newPlugin(t, tt.accounts...)
			err := s.Validate(t.Context(), tt.attrs, nil)
			if got := errString(err); got != tt.wantErr {
				t.Fatalf("error = %q, want %q", got, tt.wantErr)
			}
			if err == nil {
				return
			}
			if _, ok := err.(apierrors.APIStatus); ok != tt.apiStatus {
				t.Errorf("error is an API status: %v, want %v", ok, tt.apiStatus)
			}
			if tt.apiStatus && !apierrors.IsForbidden(err) {
				t.Errorf("error is not Forbidden: %#v", err)
			}
		})
	}
}

func TestValidateInitialization(t *testing.T) {
	if err := NewPlugin().ValidateInitialization(); errString(err) != "missing client" {
		t.Errorf("error = %v", err)
	}
	if s := NewPlugin(); !s.Handles(admission.Create) || !s.Handles(admission.Update) || s.Handles(admission.Delete) {
		t.Error("plugin must handle exactly CREATE and UPDATE")
	}
}
