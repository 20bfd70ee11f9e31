package serviceaccount

import (
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"

	"github.com/orca-pods/orca/internal/apis/defaults"
	"github.com/orca-pods/orca/internal/apis/validation"
)

func TestAdmitMountsAPIAccessVolume(t *testing.T) {
	noAutomount := func(sa *corev1.ServiceAccount) { sa.AutomountServiceAccountToken = ptr.To(false) }
	automount := func(v bool) func(*corev1.Pod) {
		return func(p *corev1.Pod) { p.Spec.AutomountServiceAccountToken = ptr.To(v) }
	}
	ownMount := corev1.VolumeMount{Name: "mine", MountPath: DefaultAPITokenMountPath}
	tests := []struct {
		name    string
		account *corev1.ServiceAccount
		pod     *corev1.Pod
		want    *corev1.Pod
	}{{
		name:    "every init and regular container, not ephemeral ones",
		account: account("robot"),
		pod: pod(withAccount("robot"), func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "i"}}
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c2", Image: "i"})
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e", Image: "i"}}}
		}),
		want: pod(withAccount("robot"), func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "i"}}
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c2", Image: "i"})
		}, mounted, func(p *corev1.Pod) {
			p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "e", Image: "i"}}}
		}),
	}, {
		name:    "pod opts out",
		account: account("robot"),
		pod:     pod(withAccount("robot"), automount(false)),
		want:    pod(withAccount("robot"), automount(false)),
	}, {
		name:    "account opts out",
		account: account("robot", noAutomount),
		pod:     pod(withAccount("robot")),
		want:    pod(withAccount("robot")),
	}, {
		name:    "pod opts back in",
		account: account("robot", noAutomount),
		pod:     pod(withAccount("robot"), automount(true)),
		want:    pod(withAccount("robot"), automount(true), mounted),
	}, {
		name:    "a container with its own mount there keeps it",
		account: account("robot"),
		pod: pod(withAccount("robot"), func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{ownMount}
		}),
		want: pod(withAccount("robot"), func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{ownMount}
		}),
	}, {
		name:    "an existing kube-api-access volume is reused",
		account: account("robot"),
		pod: pod(withAccount("robot"), func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}}
		}),
		want: pod(withAccount("robot"), func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()}}}
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "kube-api-access-abcde", ReadOnly: true, MountPath: DefaultAPITokenMountPath}}
		}),
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newPlugin(t, tt.account)
			if err := s.Admit(t.Context(), create(tt.pod), nil); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, tt.pod); diff != "" {
				t.Errorf("pod (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAPIAccessVolumeIsUpstreams(t *testing.T) {
	want := &corev1.ProjectedVolumeSource{
		DefaultMode: ptr.To[int32](0o644),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3607)}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{
				Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.namespace"},
			}}}},
		},
	}
	if diff := cmp.Diff(want, TokenVolumeSource()); diff != "" {
		t.Errorf("projection (-want +got):\n%s", diff)
	}
}

// The volume Admit adds must pass the validation that runs after it.
func TestAdmittedPodIsValid(t *testing.T) {
	s, _ := newPlugin(t, account("default"))
	s.generateName = defaultGenerateName
	// Admission sees pods as decoding left them: defaulted.
	p := pod(defaults.Pod)
	if err := s.Admit(t.Context(), create(p), nil); err != nil {
		t.Fatal(err)
	}
	if len(p.Spec.Volumes) != 1 || !regexp.MustCompile(`^kube-api-access-[a-z0-9]{5}$`).MatchString(p.Spec.Volumes[0].Name) {
		t.Fatalf("volumes = %+v, want one kube-api-access-<5 chars>", p.Spec.Volumes)
	}
	if errs := validation.ValidatePodCreate(p); len(errs) > 0 {
		t.Errorf("admitted pod is invalid: %v", errs.ToAggregate())
	}
}
