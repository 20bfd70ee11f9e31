package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/orca-pods/orca/test/e2e/framework"
)

const probePods = `apiVersion: v1
kind: Pod
metadata:
  name: unready
spec:
  containers:
  - name: app
    image: orca/testapp
    args: ["--not-ready"]
    readinessProbe:
      httpGet: {path: /ready, port: 8080}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: unhealthy
spec:
  containers:
  - name: app
    image: orca/testapp
    ports: [{name: http, containerPort: 8080}]
    livenessProbe:
      httpGet: {path: /healthz, port: http}
      periodSeconds: 1
      failureThreshold: 2
---
apiVersion: v1
kind: Pod
metadata:
  name: slow-start
spec:
  containers:
  - name: app
    image: orca/testapp
    args: ["--delay-start", "5"]
    startupProbe:
      tcpSocket: {port: 8080}
      periodSeconds: 1
      failureThreshold: 15
    livenessProbe:
      httpGet: {path: /healthz, port: 8080}
      periodSeconds: 1
      failureThreshold: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: exec-probed
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "touch /tmp/healthy; sleep 3; rm /tmp/healthy; sleep 3600"]
    livenessProbe:
      exec: {command: ["cat", "/tmp/healthy"]}
      periodSeconds: 1
      failureThreshold: 1
`

// Probes as the seed describes them: a failing readiness probe keeps a pod
// Running at 0/1 READY without restarts; a failing liveness probe (HTTP or
// exec) restarts the container with the kubelet's events; a startup probe
// keeps the liveness probe off a slow starter.
func TestProbes(t *testing.T) {
	s := startNode(t)
	ctx := context.Background()
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(probePods, "apply", "-f", "-")

	events := func(pod string) string {
		evs, err := s.Client().CoreV1().Events("default").List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.name", pod).String()})
		if err != nil {
			return ""
		}
		var b strings.Builder
		for _, e := range evs.Items {
			b.WriteString(e.Type + " " + e.Reason + " " + e.Message + "\n")
		}
		return b.String()
	}

	// Readiness: Running, 0/1, Ready=False, no restarts; then ready.
	p := waitForPod(t, s, "default", "unready", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	framework.Eventually(t, 20*time.Second, "Readiness probe failed event", func() bool {
		return strings.Contains(events("unready"), "Warning Unhealthy Readiness probe failed: HTTP probe failed with statuscode: 503")
	})
	for _, v := range framework.KubectlVersions {
		out := framework.NewKubectl(t, s, v).MustRun("", "get", "pod", "unready")
		if !regexp.MustCompile(`unready\s+0/1\s+Running\s+0\s`).MatchString(out) {
			t.Errorf("kubectl %s get pod unready:\n%s", v, out)
		}
	}
	httpGet(t, "http://"+p.Status.PodIP+":8080/toggle-ready")
	waitForPod(t, s, "default", "unready", 20*time.Second, "Ready once /ready passes", func(p *corev1.Pod) bool {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodReady {
				return c.Status == corev1.ConditionTrue && p.Status.ContainerStatuses[0].Ready
			}
		}
		return false
	})

	// Liveness over HTTP: /fail makes /healthz answer 500.
	p = waitForPod(t, s, "default", "unhealthy", 60*time.Second, "Running", func(p *corev1.Pod) bool {
		return p.Status.Phase == corev1.PodRunning && len(p.Status.ContainerStatuses) == 1 && p.Status.ContainerStatuses[0].Ready
	})
	httpGet(t, "http://"+p.Status.PodIP+":8080/fail")
	waitForPod(t, s, "default", "unhealthy", 30*time.Second, "restarted after its liveness probe failed", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount >= 1 && cs[0].State.Running != nil
	})
	ev := events("unhealthy")
	for _, want := range []string{
		"Warning Unhealthy Liveness probe failed: HTTP probe failed with statuscode: 500",
		"Normal Killing Container app failed liveness probe, will be restarted",
	} {
		if !strings.Contains(ev, want) {
			t.Errorf("events of unhealthy lack %q:\n%s", want, ev)
		}
	}

	// Exec liveness: cat fails once the file is gone.
	waitForPod(t, s, "default", "exec-probed", 60*time.Second, "restarted by its exec liveness probe", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount >= 1
	})
	if ev := events("exec-probed"); !strings.Contains(ev, "Liveness probe failed: cat: can't open '/tmp/healthy': No such file or directory") {
		t.Errorf("events of exec-probed:\n%s", ev)
	}

	// Startup gates liveness: the slow starter becomes ready, never restarted.
	p = waitForPod(t, s, "default", "slow-start", 60*time.Second, "ready after its slow start", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].Ready && cs[0].Started != nil && *cs[0].Started
	})
	time.Sleep(2 * time.Second)
	p, _ = s.Client().CoreV1().Pods("default").Get(ctx, "slow-start", metav1.GetOptions{})
	if rc := p.Status.ContainerStatuses[0].RestartCount; rc != 0 {
		t.Errorf("slow-start restarted %d times:\n%s", rc, events("slow-start"))
	}
}
