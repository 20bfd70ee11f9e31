package e2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/testimages"
	"github.com/orca-pods/orca/test/e2e/framework"
)

// startNode runs a server with its agent, pulling test images from a
// registry started for the test through a docker.io mirror, as a user with
// an air-gapped mirror would configure it.
func startNode(t *testing.T, extraArgs ...string) *framework.Server {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	_, registries := testimages.StartRegistry(t)
	path := filepath.Join(t.TempDir(), "registries.yaml")
	if err := os.WriteFile(path, []byte(registries), 0o644); err != nil {
		t.Fatal(err)
	}
	return framework.StartNode(t, append([]string{"--registry-config", path}, extraArgs...)...)
}

func waitForPod(t *testing.T, s *framework.Server, ns, name string, timeout time.Duration, what string, cond func(*corev1.Pod) bool) *corev1.Pod {
	t.Helper()
	var last *corev1.Pod
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		p, err := s.Client().CoreV1().Pods(ns).Get(context.Background(), name, metav1.GetOptions{})
		if err == nil {
			last = p
			if cond(p) {
				return p
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for pod %s/%s: %s\nlast status: %+v\n--- server log (tail) ---\n%s", ns, name, what, last.Status, tail(s.Log(), 4000))
	return nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func TestSeedMultiContainerPodRunsAndSharesItsVolume(t *testing.T) {
	s := startNode(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			ns := "seed-" + strings.ReplaceAll(v, ".", "")
			k.MustRun("", "create", "namespace", ns)
			manifest, err := os.ReadFile("testdata/multi-pod.yaml")
			if err != nil {
				t.Fatal(err)
			}
			k.MustRun(string(manifest), "apply", "-n", ns, "-f", "-")
			framework.Eventually(t, 60*time.Second, "web-logger 2/2 Running", func() bool {
				return regexp.MustCompile(`(?m)^web-logger\s+2/2\s+Running\s+0\s+`).MatchString(k.MustRun("", "get", "pods", "-n", ns))
			})
			pod, err := s.Client().CoreV1().Pods(ns).Get(context.Background(), "web-logger", metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			// The writer's date lands in the emptyDir both containers mount.
			index := filepath.Join(s.DataDir, "pods", string(pod.UID), "volumes", "kubernetes.io~empty-dir", "html-dir", "index.html")
			framework.Eventually(t, 20*time.Second, "index.html with a date", func() bool {
				data, err := os.ReadFile(index)
				return err == nil && regexp.MustCompile(`\d{2}:\d{2}:\d{2}`).Match(data)
			})
			// Task 2: port-forward, and the page changes every 5 s.
			port := framework.FreePort(t)
			pf, stop := k.Start("port-forward", "-n", ns, "pod/web-logger", fmt.Sprintf("%d:80", port))
			defer stop()
			framework.WaitForOutput(t, pf, "Forwarding from", 20*time.Second)
			first := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port))
			if !regexp.MustCompile(`\d{2}:\d{2}:\d{2}`).MatchString(first) {
				t.Fatalf("page through port-forward = %q", first)
			}
			framework.Eventually(t, 15*time.Second, "a newer date", func() bool {
				return httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", port)) != first
			})
			stop()
			// Task 3: a shell in nginx-server reaches the page on localhost.
			out := k.MustRun("", "exec", "-n", ns, "web-logger", "-c", "nginx-server", "--", "/bin/sh", "-c",
				"apk add --no-cache curl >/dev/null && curl -s http://localhost:80")
			if !regexp.MustCompile(`\d{2}:\d{2}:\d{2}`).MatchString(out) {
				t.Fatalf("curl localhost:80 from nginx-server = %q", out)
			}
			desc := k.MustRun("", "describe", "pod", "web-logger", "-n", ns)
			for _, want := range []string{"Started container nginx-server", "Started container content-writer", "Created container", "Pulling image", "Successfully pulled image"} {
				if !strings.Contains(desc, want) {
					t.Errorf("describe lacks %q:\n%s", want, desc)
				}
			}
			k.MustRun("", "delete", "pod", "web-logger", "-n", ns, "--grace-period=2", "--wait")
		})
	}
}

func TestCrashingContainerBacksOffAndKeepsPreviousLogs(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: crasher
spec:
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "echo boom at $(date +%s); exit 1"]
`, "apply", "-f", "-")
	waitForPod(t, s, "default", "crasher", 60*time.Second, "CrashLoopBackOff after a restart", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].RestartCount >= 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CrashLoopBackOff"
	})
	table := k.MustRun("", "get", "pod", "crasher")
	if !regexp.MustCompile(`(?m)^crasher\s+0/1\s+CrashLoopBackOff\s+[1-9]`).MatchString(table) {
		t.Fatalf("get:\n%s", table)
	}
	prev := k.MustRun("", "logs", "crasher", "--previous")
	if !strings.Contains(prev, "boom at") {
		t.Fatalf("logs --previous = %q", prev)
	}
	desc := k.MustRun("", "describe", "pod", "crasher")
	for _, want := range []string{"Last State:     Terminated", "Reason:       Error", "Exit Code:    1", "Back-off restarting failed container app in pod crasher_default"} {
		if !strings.Contains(desc, want) {
			t.Errorf("describe lacks %q:\n%s", want, desc)
		}
	}
	p, _ := s.Client().CoreV1().Pods("default").Get(context.Background(), "crasher", metav1.GetOptions{})
	if msg := p.Status.ContainerStatuses[0].State.Waiting.Message; !regexp.MustCompile(`^back-off (10|20|40)s restarting failed container=app pod=crasher_default\(`).MatchString(msg) {
		t.Fatalf("waiting message = %q", msg)
	}
}

func TestInitContainersRunInOrderBeforeTheApp(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[0])
	out, stop := k.Start("get", "pods", "-w")
	defer stop()
	k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: staged
spec:
  volumes:
  - name: work
    emptyDir: {}
  initContainers:
  - name: first
    image: busybox
    command: ["sh", "-c", "sleep 2; echo one > /work/log"]
    volumeMounts: [{name: work, mountPath: /work}]
  - name: second
    image: busybox
    command: ["sh", "-c", "sleep 2; echo two >> /work/log"]
    volumeMounts: [{name: work, mountPath: /work}]
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "cat /work/log; sleep 3600"]
    volumeMounts: [{name: work, mountPath: /work}]
`, "apply", "-f", "-")
	waitForPod(t, s, "default", "staged", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	framework.Eventually(t, 10*time.Second, "app log", func() bool {
		return strings.Contains(k.Run("", "logs", "staged").Stdout, "one\ntwo")
	})
	framework.WaitForOutput(t, out, "Running", 10*time.Second)
	seen := out.String()
	for _, want := range []string{"Init:0/2", "Init:1/2", "PodInitializing", "Running"} {
		if !strings.Contains(seen, want) {
			t.Errorf("get -w never showed %s:\n%s", want, seen)
		}
	}
	if strings.Index(seen, "Init:0/2") > strings.Index(seen, "Init:1/2") || strings.Index(seen, "Init:1/2") > strings.LastIndex(seen, "Running") {
		t.Errorf("statuses out of order:\n%s", seen)
	}
}

func TestRestartPolicyDecidesCompletion(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	for name, spec := range map[string]string{
		"ok-never":       "restartPolicy: Never\n  containers:\n  - {name: app, image: busybox, command: [sh, -c, 'exit 0']}",
		"fail-never":     "restartPolicy: Never\n  containers:\n  - {name: app, image: busybox, command: [sh, -c, 'exit 3']}",
		"ok-onfailure":   "restartPolicy: OnFailure\n  containers:\n  - {name: app, image: busybox, command: [sh, -c, 'exit 0']}",
		"missing-binary": "restartPolicy: Never\n  containers:\n  - {name: app, image: busybox, command: [/no/such/binary]}",
	} {
		k.MustRun("apiVersion: v1\nkind: Pod\nmetadata:\n  name: "+name+"\nspec:\n  "+spec+"\n", "apply", "-f", "-")
	}
	want := map[string]struct {
		phase  corev1.PodPhase
		status string
		code   int32
		reason string
	}{
		"ok-never":       {corev1.PodSucceeded, "Completed", 0, "Completed"},
		"fail-never":     {corev1.PodFailed, "Error", 3, "Error"},
		"ok-onfailure":   {corev1.PodSucceeded, "Completed", 0, "Completed"},
		"missing-binary": {corev1.PodFailed, "StartError", 128, "StartError"},
	}
	for name, w := range want {
		p := waitForPod(t, s, "default", name, 60*time.Second, string(w.phase), func(p *corev1.Pod) bool { return p.Status.Phase == w.phase })
		term := p.Status.ContainerStatuses[0].State.Terminated
		if term == nil || term.ExitCode != w.code || term.Reason != w.reason {
			t.Errorf("%s: terminated = %+v, want exit %d reason %s", name, term, w.code, w.reason)
		}
		if got := k.MustRun("", "get", "pod", name); !regexp.MustCompile(`(?m)^` + name + `\s+0/1\s+` + w.status + `\s+0\s+`).MatchString(got) {
			t.Errorf("get %s:\n%s", name, got)
		}
	}
	p, _ := s.Client().CoreV1().Pods("default").Get(context.Background(), "missing-binary", metav1.GetOptions{})
	if msg := p.Status.ContainerStatuses[0].State.Terminated.Message; !strings.Contains(msg, "/no/such/binary") {
		t.Errorf("StartError message should name the binary: %q", msg)
	}
}

func TestMissingImageShowsImagePullBackOff(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun("apiVersion: v1\nkind: Pod\nmetadata:\n  name: ghost\nspec:\n  containers:\n  - {name: app, image: 'library/ghost:v99'}\n", "apply", "-f", "-")
	waitForPod(t, s, "default", "ghost", 60*time.Second, "ImagePullBackOff", func(p *corev1.Pod) bool {
		cs := p.Status.ContainerStatuses
		return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "ImagePullBackOff"
	})
	desc := k.MustRun("", "describe", "pod", "ghost")
	for _, want := range []string{`Failed to pull image "library/ghost:v99"`, "Error: ErrImagePull", `Back-off pulling image "library/ghost:v99"`} {
		if !strings.Contains(desc, want) {
			t.Errorf("describe lacks %q:\n%s", want, desc)
		}
	}
}
