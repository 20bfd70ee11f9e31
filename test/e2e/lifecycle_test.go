package e2e

import (
	"context"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

func TestKubectlLogsFlagsWork(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[0])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: talker
spec:
  containers:
  - name: out
    image: busybox
    command: ["sh", "-c", "for i in 1 2 3 4 5; do echo line $i; done; sleep 0.5; echo oops >&2; sleep 3600"]
  - name: quiet
    image: busybox
    command: ["sleep", "3600"]
`, "apply", "-f", "-")
	waitForPod(t, s, "default", "talker", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	framework.Eventually(t, 10*time.Second, "all lines logged", func() bool {
		return strings.Contains(k.Run("", "logs", "talker", "-c", "out").Stdout, "oops")
	})
	if out := k.MustRun("", "logs", "talker", "-c", "out"); out != "line 1\nline 2\nline 3\nline 4\nline 5\noops\n" {
		t.Fatalf("logs = %q", out)
	}
	if out := k.MustRun("", "logs", "talker", "-c", "out", "--tail=2"); out != "line 5\noops\n" {
		t.Fatalf("--tail=2 = %q", out)
	}
	if out := k.MustRun("", "logs", "talker", "-c", "out", "--limit-bytes=7"); out != "line 1\n" {
		t.Fatalf("--limit-bytes = %q", out)
	}
	ts := k.MustRun("", "logs", "talker", "-c", "out", "--timestamps", "--tail=1")
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z oops\n$`).MatchString(ts) {
		t.Fatalf("--timestamps = %q", ts)
	}
	if out := k.MustRun("", "logs", "talker", "-c", "out", "--since=1h"); !strings.Contains(out, "line 1") {
		t.Fatalf("--since=1h = %q", out)
	}
	all := k.MustRun("", "logs", "talker", "--all-containers")
	if !strings.Contains(all, "line 3") {
		t.Fatalf("--all-containers = %q", all)
	}
	// kubectl picks the first container itself and says so.
	r := k.Run("", "logs", "talker")
	if r.ExitCode != 0 || !strings.Contains(r.Stderr, `Defaulted container "out" out of: out, quiet`) {
		t.Fatalf("logs without -c on a two-container pod: %+v", r)
	}
	r = k.Run("", "logs", "talker", "-c", "out", "--previous")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, `previous terminated container "out" in pod "talker" not found`) {
		t.Fatalf("--previous with no previous: %+v", r)
	}
	out, stop := k.Start("logs", "-f", "talker", "-c", "out", "--tail=1")
	defer stop()
	framework.WaitForOutput(t, out, "oops", 10*time.Second)
}

func TestTerminationMessagesAndDeadlines(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: farewell
spec:
  restartPolicy: Never
  containers:
  - name: file
    image: busybox
    command: ["sh", "-c", "echo 'written to the file' > /dev/termination-log; exit 2"]
  - name: logs
    image: busybox
    terminationMessagePolicy: FallbackToLogsOnError
    command: ["sh", "-c", "echo 'last words in the log'; exit 1"]
---
apiVersion: v1
kind: Pod
metadata:
  name: deadline
spec:
  activeDeadlineSeconds: 3
  terminationGracePeriodSeconds: 1
  containers:
  - name: app
    image: busybox
    command: ["sleep", "3600"]
`, "apply", "-f", "-")
	p := waitForPod(t, s, "default", "farewell", 60*time.Second, "Failed", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodFailed })
	msgs := map[string]string{}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Terminated != nil {
			msgs[cs.Name] = cs.State.Terminated.Message
		}
	}
	if msgs["file"] != "written to the file\n" || msgs["logs"] != "last words in the log\n" {
		t.Fatalf("termination messages = %q", msgs)
	}
	d := waitForPod(t, s, "default", "deadline", 60*time.Second, "DeadlineExceeded", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodFailed && p.Status.Reason == "DeadlineExceeded"
	})
	if d.Status.Message != "Pod was active on the node longer than the specified deadline" {
		t.Fatalf("message = %q", d.Status.Message)
	}
	waitForPod(t, s, "default", "deadline", 10*time.Second, "container stopped", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Terminated != nil
	})
	// The killed container's own reason then wins in kubectl's STATUS
	// column, as upstream's printer does; the pod keeps its reason.
	p, err := s.Client().CoreV1().Pods("default").Get(context.Background(), "deadline", metav1.GetOptions{})
	if err != nil || p.Status.Reason != "DeadlineExceeded" || p.Status.Phase != corev1.PodFailed {
		t.Fatalf("deadline pod: %v %+v", err, p.Status)
	}
}

func TestGracefulDeletionRunsPreStopThenStops(t *testing.T) {
	_ = os.RemoveAll("/tmp/orca-e2e-prestop")
	t.Cleanup(func() { _ = os.RemoveAll("/tmp/orca-e2e-prestop") })
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: polite
spec:
  terminationGracePeriodSeconds: 5
  volumes:
  - name: shared
    hostPath:
      path: /tmp/orca-e2e-prestop
      type: DirectoryOrCreate
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "trap 'echo got TERM >> /shared/log; exit 0' TERM; echo started >> /shared/log; while true; do sleep 1; done"]
    lifecycle:
      preStop:
        exec:
          command: ["sh", "-c", "echo prestop >> /shared/log"]
    volumeMounts:
    - name: shared
      mountPath: /shared
`, "apply", "-f", "-")
	waitForPod(t, s, "default", "polite", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	start := time.Now()
	k.MustRun("", "delete", "pod", "polite", "--wait")
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("a pod that exits on SIGTERM took %s to delete", took)
	}
	data := readFile(t, "/tmp/orca-e2e-prestop/log")
	if !strings.Contains(data, "started\nprestop\ngot TERM\n") {
		t.Fatalf("log = %q", data)
	}
	desc := k.Run("", "get", "events", "--field-selector", "involvedObject.name=polite", "-o", "jsonpath={.items[*].reason}").Stdout
	if !strings.Contains(desc, "Killing") {
		t.Fatalf("events = %q", desc)
	}
}
