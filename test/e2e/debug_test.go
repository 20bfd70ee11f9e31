package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// kubectl debug adds an ephemeral container through the
// ephemeralcontainers subresource; with --target it sees the target's
// processes (TestKubectlDebugInteractive covers -it).
func TestKubectlDebugTargetSeesTheTargetsProcesses(t *testing.T) {
	s := startNode(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			name := "debugged-" + strings.ReplaceAll(v, ".", "")
			k.MustRun("apiVersion: v1\nkind: Pod\nmetadata:\n  name: "+name+"\nspec:\n  containers:\n  - {name: app, image: busybox, command: [sleep, '4321']}\n", "apply", "-f", "-")
			waitForPod(t, s, "default", name, 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
			k.MustRun("", "debug", name, "--image=busybox", "--target=app", "--container=dbg", "--", "sh", "-c", "ps; sleep 3600")
			p := waitForPod(t, s, "default", name, 60*time.Second, "ephemeral container running", func(p *corev1.Pod) bool {
				es := p.Status.EphemeralContainerStatuses
				return len(es) == 1 && es[0].State.Running != nil
			})
			if p.Status.EphemeralContainerStatuses[0].Name != "dbg" {
				t.Fatalf("ephemeral statuses: %+v", p.Status.EphemeralContainerStatuses)
			}
			framework.Eventually(t, 10*time.Second, "ps output", func() bool {
				return strings.Contains(k.Run("", "logs", name, "-c", "dbg").Stdout, "sleep 4321")
			})
		})
	}
}
