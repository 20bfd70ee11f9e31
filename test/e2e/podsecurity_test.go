package e2e

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/orca-pods/orca/test/e2e/framework"
)

const privilegedPodYAML = `apiVersion: v1
kind: Pod
metadata:
  name: priv
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: ["sleep", "3600"]
    securityContext: {privileged: true}
`

const restrictedPodYAML = `apiVersion: v1
kind: Pod
metadata:
  name: locked-down
spec:
  securityContext:
    runAsNonRoot: true
    runAsUser: 1000
    seccompProfile: {type: RuntimeDefault}
  containers:
  - name: app
    image: busybox:1.36
    command: ["sleep", "3600"]
    securityContext:
      allowPrivilegeEscalation: false
      capabilities: {drop: [ALL]}
`

const hostNetworkPodYAML = `apiVersion: v1
kind: Pod
metadata:
  name: hostnet
spec:
  hostNetwork: true
  containers:
  - name: app
    image: busybox:1.36
    command: ["sleep", "3600"]
`

// Namespaces opt into the Pod Security Standards with labels, and kubectl
// shows Kubernetes' own refusals and warnings: enforce refuses with 403,
// warn admits with a Warning header, and raising enforce warns about pods
// already running against the new level.
func TestPodSecurityAdmissionWithKubectl(t *testing.T) {
	s := framework.StartServer(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			suffix := "-" + strings.ReplaceAll(v, ".", "")

			secure := "secure" + suffix
			k.MustRun("", "create", "namespace", secure)
			k.MustRun("", "label", "namespace", secure, "pod-security.kubernetes.io/enforce=restricted")

			r := k.Run(privilegedPodYAML, "apply", "-n", secure, "-f", "-")
			for _, want := range []string{
				`Error from server (Forbidden): error when creating "STDIN": pods "priv" is forbidden: violates PodSecurity "restricted:latest": `,
				`privileged (container "app" must not set securityContext.privileged=true), `,
				`allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false)`,
				`runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true)`,
			} {
				if r.ExitCode == 0 || !strings.Contains(r.Stderr, want) {
					t.Fatalf("privileged pod in a restricted namespace: want %q in\n%+v", want, r)
				}
			}
			r = k.Run(restrictedPodYAML, "apply", "-n", secure, "-f", "-")
			if r.ExitCode != 0 || strings.Contains(r.Stderr, "Warning") {
				t.Fatalf("restricted-compliant pod: %+v", r)
			}

			warned := "warned" + suffix
			k.MustRun("", "create", "namespace", warned)
			k.MustRun("", "label", "namespace", warned, "pod-security.kubernetes.io/warn=baseline")
			r = k.Run(hostNetworkPodYAML, "apply", "-n", warned, "-f", "-")
			if want := `Warning: would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`; r.ExitCode != 0 || !strings.Contains(r.Stderr, want) {
				t.Fatalf("hostNetwork pod under warn=baseline: want %q in\n%+v", want, r)
			}
			k.MustRun("", "get", "pod", "-n", warned, "hostnet")

			r = k.Run("", "label", "namespace", warned, "pod-security.kubernetes.io/enforce=restricted")
			for _, want := range []string{
				`Warning: existing pods in namespace "` + warned + `" violate the new PodSecurity enforce level "restricted:latest"`,
				`Warning: hostnet: host namespaces, allowPrivilegeEscalation != false`,
			} {
				if r.ExitCode != 0 || !strings.Contains(r.Stderr, want) {
					t.Fatalf("raising enforce over a violating pod: want %q in\n%+v", want, r)
				}
			}

			r = k.Run("", "label", "namespace", secure, "--overwrite", "pod-security.kubernetes.io/enforce=strict")
			if r.ExitCode == 0 || !strings.Contains(r.Stderr, `metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict"`) {
				t.Fatalf("unknown level: %+v", r)
			}
		})
	}

	// The refusal is a 403 Forbidden status to any client.
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun("", "create", "namespace", "secure-api")
	k.MustRun("", "label", "namespace", "secure-api", "pod-security.kubernetes.io/enforce=baseline")
	_, err := s.Client().CoreV1().Pods("secure-api").Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "priv"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "app", Image: "busybox:1.36",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}},
	}, metav1.CreateOptions{})
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != http.StatusForbidden || status.Status().Reason != metav1.StatusReasonForbidden ||
		status.Status().Message != `pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "app" must not set securityContext.privileged=true)` {
		t.Fatalf("client-go create: %#v", err)
	}
}
