package e2e

import (
	"regexp"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// A native sidecar (an init container with restartPolicy Always) starts
// before the app, counts in READY, keeps running beside it, and is stopped
// once the app is done so the pod can complete.
func TestNativeSidecarRunsBesideTheAppAndLetsThePodComplete(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: with-sidecar
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 2
  initContainers:
  - name: logger
    image: busybox
    restartPolicy: Always
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]
  containers:
  - name: job
    image: busybox
    command: ["sh", "-c", "sleep 3; echo done"]
`, "apply", "-f", "-")
	framework.Eventually(t, 60*time.Second, "2/2 Running", func() bool {
		return regexp.MustCompile(`(?m)^with-sidecar\s+2/2\s+Running\s+`).MatchString(k.MustRun("", "get", "pod", "with-sidecar"))
	})
	p := waitForPod(t, s, "default", "with-sidecar", 60*time.Second, "Succeeded", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodSucceeded
	})
	if st := p.Status.InitContainerStatuses[0].State.Terminated; st == nil {
		t.Fatalf("sidecar should have been stopped: %+v", p.Status.InitContainerStatuses[0])
	}
	if got := k.MustRun("", "get", "pod", "with-sidecar"); !regexp.MustCompile(`(?m)^with-sidecar\s+0/2\s+Completed\s+`).MatchString(got) {
		t.Fatalf("get:\n%s", got)
	}
}
