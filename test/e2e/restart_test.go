package e2e

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

func TestKilledAgentAdoptsRunningContainersOnRestart(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: survivor
spec:
  containers:
  - name: ticker
    image: busybox
    command: ["sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done"]
---
apiVersion: v1
kind: Pod
metadata:
  name: finisher
spec:
  restartPolicy: Never
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "sleep 4; exit 3"]
`, "apply", "-f", "-")
	before := waitForPod(t, s, "default", "survivor", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	waitForPod(t, s, "default", "finisher", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	id := before.Status.ContainerStatuses[0].ContainerID

	s.Kill()
	// The finisher exits while nobody watches.
	time.Sleep(5 * time.Second)
	s.Start()

	after := waitForPod(t, s, "default", "survivor", 30*time.Second, "still Running, same container", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].ContainerID == id
	})
	if rc := after.Status.ContainerStatuses[0].RestartCount; rc != 0 {
		t.Fatalf("restartCount = %d after an agent restart", rc)
	}
	// Logging went on across the restart: new ticks arrive.
	first := k.MustRun("", "logs", "survivor", "--tail=1")
	framework.Eventually(t, 10*time.Second, "new log lines after the restart", func() bool {
		return k.MustRun("", "logs", "survivor", "--tail=1") != first
	})
	fin := waitForPod(t, s, "default", "finisher", 30*time.Second, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	term := fin.Status.ContainerStatuses[0].State.Terminated
	if term == nil {
		t.Fatalf("finisher: %+v", fin.Status.ContainerStatuses[0])
	}
	// A process that exits while no agent is its parent leaves no exit
	// status to collect; the runtime reports it as Unknown.
	t.Logf("exit while the agent was down reported as: exit %d, reason %q", term.ExitCode, term.Reason)
	if !strings.Contains(k.MustRun("", "get", "pod", "survivor"), "Running") {
		t.Fatal("survivor not Running")
	}
}
