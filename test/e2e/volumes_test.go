package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

func TestVolumesHooksAndConfigErrors(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: mem
spec:
  volumes:
  - name: scratch
    emptyDir:
      medium: Memory
      sizeLimit: 8Mi
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "grep ' /scratch ' /proc/mounts; df -k /scratch | tail -1; sleep 3600"]
    lifecycle:
      postStart:
        exec:
          command: ["sh", "-c", "echo hooked > /scratch/poststart"]
    volumeMounts:
    - name: scratch
      mountPath: /scratch
---
apiVersion: v1
kind: Pod
metadata:
  name: badpath
spec:
  volumes:
  - name: nothere
    hostPath:
      path: /nonexistent/orca-e2e
      type: Directory
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
    volumeMounts:
    - name: nothere
      mountPath: /x
---
apiVersion: v1
kind: Pod
metadata:
  name: needs-config
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "echo mode=$MODE; sleep 3600"]
    env:
    - name: MODE
      valueFrom:
        configMapKeyRef:
          name: app-config
          key: mode
`, "apply", "-f", "-")

	waitForPod(t, s, "default", "mem", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	framework.Eventually(t, 10*time.Second, "tmpfs mount in the log", func() bool {
		return strings.Contains(k.Run("", "logs", "mem").Stdout, "tmpfs /scratch tmpfs")
	})
	pod, _ := s.Client().CoreV1().Pods("default").Get(context.Background(), "mem", metav1.GetOptions{})
	framework.Eventually(t, 10*time.Second, "postStart wrote its file", func() bool {
		data, err := readFileErr(s.DataDir + "/pods/" + string(pod.UID) + "/volumes/kubernetes.io~empty-dir/scratch/poststart")
		return err == nil && data == "hooked\n"
	})

	framework.Eventually(t, 30*time.Second, "FailedMount event", func() bool {
		return strings.Contains(k.MustRun("", "describe", "pod", "badpath"),
			`MountVolume.SetUp failed for volume "nothere" : hostPath type check failed: /nonexistent/orca-e2e is not a directory`)
	})
	if got := k.MustRun("", "get", "pod", "badpath"); !strings.Contains(got, "ContainerCreating") {
		t.Errorf("badpath:\n%s", got)
	}

	waitForPod(t, s, "default", "needs-config", 60*time.Second, "CreateContainerConfigError", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CreateContainerConfigError" &&
			cs[0].State.Waiting.Message == `configmap "app-config" not found`
	})
	k.MustRun("", "create", "configmap", "app-config", "--from-literal=mode=prod")
	waitForPod(t, s, "default", "needs-config", 60*time.Second, "Running once the ConfigMap exists", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	framework.Eventually(t, 10*time.Second, "env from the ConfigMap", func() bool {
		return strings.Contains(k.Run("", "logs", "needs-config").Stdout, "mode=prod")
	})
}
