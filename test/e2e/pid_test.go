package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

func TestSharedProcessNamespaceShowsOtherContainersProcesses(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: shared
spec:
  shareProcessNamespace: true
  containers:
  - name: sleeper
    image: busybox
    command: ["sleep", "1234"]
  - name: watcher
    image: busybox
    command: ["sh", "-c", "sleep 1; ps; echo hostname=$(hostname); sleep 3600"]
---
apiVersion: v1
kind: Pod
metadata:
  name: private
spec:
  containers:
  - name: a
    image: busybox
    command: ["sleep", "1234"]
  - name: b
    image: busybox
    command: ["sh", "-c", "sleep 1; ps; sleep 3600"]
`, "apply", "-f", "-")
	for _, name := range []string{"shared", "private"} {
		waitForPod(t, s, "default", name, 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	}
	var shared string
	framework.Eventually(t, 10*time.Second, "watcher's ps", func() bool {
		shared = k.Run("", "logs", "shared", "-c", "watcher").Stdout
		return strings.Contains(shared, "hostname=")
	})
	if !strings.Contains(shared, "sleep 1234") || !strings.Contains(shared, "hostname=shared") {
		t.Fatalf("shared pod's ps should show the other container's sleep:\n%s", shared)
	}
	var private string
	framework.Eventually(t, 10*time.Second, "b's ps", func() bool {
		private = k.Run("", "logs", "private", "-c", "b").Stdout
		return strings.Contains(private, "PID")
	})
	if strings.Contains(private, "sleep 1234") {
		t.Fatalf("containers of a pod without shareProcessNamespace must not see each other:\n%s", private)
	}
}
