package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// The seed's memory-hog, as a user writes it.
const memoryHog = `apiVersion: v1
kind: Pod
metadata:
  name: memory-hog
spec:
  containers:
  - name: stress-test
    image: polinux/stress
    command: ["stress", "--vm", "1", "--vm-bytes", "150M", "--vm-hang", "1"]
    resources:
      limits:
        memory: "50Mi"
`

// Seed tasks 4 and 5: stress asking for 150M under a 50Mi limit is
// OOMKilled (exit 137), restarted into CrashLoopBackOff, and describe
// shows the reason and exit code in Last State.
func TestSeedMemoryHogIsOOMKilled(t *testing.T) {
	s := startNode(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			watch, stop := k.Start("get", "pods", "-w")
			defer stop()
			k.MustRun(memoryHog, "apply", "-f", "-")
			p := waitForPod(t, s, "default", "memory-hog", 90*time.Second, "CrashLoopBackOff after an OOM kill", func(p *corev1.Pod) bool {
				if len(p.Status.ContainerStatuses) != 1 {
					return false
				}
				cs := p.Status.ContainerStatuses[0]
				return cs.State.Waiting != nil && cs.State.Waiting.Reason == "CrashLoopBackOff" && cs.LastTerminationState.Terminated != nil
			})
			last := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
			if last.Reason != "OOMKilled" || last.ExitCode != 137 {
				t.Errorf("last state: %+v", last)
			}
			// A memory limit alone: requests default to it, but no CPU is set.
			if p.Status.QOSClass != corev1.PodQOSBurstable {
				t.Errorf("qosClass %s", p.Status.QOSClass)
			}
			framework.Eventually(t, 10*time.Second, "get -w shows OOMKilled and CrashLoopBackOff", func() bool {
				out := watch.String()
				return regexp.MustCompile(`memory-hog\s+0/1\s+OOMKilled\s`).MatchString(out) &&
					regexp.MustCompile(`memory-hog\s+0/1\s+CrashLoopBackOff\s`).MatchString(out)
			})
			desc := k.MustRun("", "describe", "pod", "memory-hog")
			for _, re := range []string{
				`(?m)^\s+Last State:\s+Terminated\n\s+Reason:\s+OOMKilled\n\s+Exit Code:\s+137\n`,
				`(?m)^\s+Limits:\n\s+memory:\s+50Mi\n`,
				`Back-off restarting failed container stress-test in pod memory-hog_default`,
			} {
				if !regexp.MustCompile(re).MatchString(desc) {
					t.Errorf("describe lacks %q:\n%s", re, desc)
				}
			}
			k.MustRun("", "delete", "pod", "memory-hog", "--grace-period=1")
			if strings.Contains(k.Run("", "get", "pod", "memory-hog").Stdout, "memory-hog") {
				t.Error("memory-hog still listed after delete")
			}
		})
	}
}
