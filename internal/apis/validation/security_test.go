package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestValidatePodSecurity(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{
			name: "shareProcessNamespace with hostPID",
			mutate: func(p *corev1.Pod) {
				p.Spec.HostPID = true
				p.Spec.ShareProcessNamespace = ptr.To(true)
			},
			want: []string{"spec.securityContext.shareProcessNamespace: Invalid value: true: ShareProcessNamespace and HostPID cannot both be enabled"},
		},
		{
			name: "net sysctl with hostNetwork",
			mutate: func(p *corev1.Pod) {
				p.Spec.HostNetwork = true
				p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "net.core.somaxconn", Value: "1024"}}
			},
			want: []string{`spec.securityContext.sysctls[0].name: Invalid value: "net.core.somaxconn": may not be specified when 'hostNetwork' is true`},
		},
		{
			name: "seccomp localhost without profile",
			mutate: func(p *corev1.Pod) {
				p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeLocalhost}
			},
			want: []string{"spec.securityContext.seccompProfile.localhostProfile: Required value: must be set when seccomp type is Localhost"},
		},
		{
			name: "seccomp annotation and field disagree",
			mutate: func(p *corev1.Pod) {
				p.Annotations = map[string]string{corev1.SeccompPodAnnotationKey: "unconfined"}
				p.Spec.SecurityContext.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
			},
			want: []string{"spec.securityContext.seccompProfile.type: Forbidden: seccomp type in annotation and field must match"},
		},
		{
			name: "apparmor annotation for unknown container",
			mutate: func(p *corev1.Pod) {
				p.Annotations = map[string]string{corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix + "ghost": "runtime/default"}
			},
			want: []string{`metadata.annotations[container.apparmor.security.beta.kubernetes.io/ghost]: Invalid value: "ghost": container not found`},
		},
		{
			name: "privileged without escalation",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true), AllowPrivilegeEscalation: ptr.To(false)}
			},
			want: []string{`spec.containers[0].securityContext: Invalid value: {"privileged":true,"allowPrivilegeEscalation":false}: ` + "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"},
		},
		{
			name: "unmasked procMount needs user namespace",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{ProcMount: ptr.To(corev1.UnmaskedProcMount)}
			},
			want: []string{"spec.containers[0].securityContext.procMount: Invalid value: \"Unmasked\": `hostUsers` must be false to use `Unmasked`"},
		},
		{
			name: "user namespace with host network",
			mutate: func(p *corev1.Pod) {
				p.Spec.HostUsers = ptr.To(false)
				p.Spec.HostNetwork = true
			},
			want: []string{"spec.hostNetwork: Forbidden: when `pod.Spec.HostUsers` is false"},
		},
		{
			name: "windows options on linux pod",
			mutate: func(p *corev1.Pod) {
				p.Spec.OS = &corev1.PodOS{Name: corev1.Linux}
				p.Spec.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To("user")}
			},
			want: []string{"spec.securityContext.windowsOptions: Forbidden: windows options cannot be set for a linux pod"},
		},
		{
			name: "linux options on windows pod",
			mutate: func(p *corev1.Pod) {
				p.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
				p.Spec.SecurityContext.RunAsUser = ptr.To[int64](1000)
				p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(false)}
			},
			want: []string{
				"spec.securityContext.runAsUser: Forbidden: cannot be set for a windows pod",
				"spec.containers[0].securityContext.privileged: Forbidden: cannot be set for a windows pod",
			},
		},
		{
			name:   "unknown OS",
			mutate: func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: "plan9"} },
			want:   []string{`spec.os: Unsupported value: "plan9": supported values: "linux", "windows"`},
		},
		{
			name: "windows runAsUserName",
			mutate: func(p *corev1.Pod) {
				p.Spec.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To(`a\b\c`)}
			},
			want: []string{`spec.securityContext.windowsOptions.runAsUserName: Invalid value: "a\\b\\c": runAsUserName cannot contain more than one backslash`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := validPod()
			tc.mutate(pod)
			expectErrors(t, ValidatePodCreate(pod), tc.want...)
		})
	}
}
