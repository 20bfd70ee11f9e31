package e2e

import (
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// Quiz scenario 3: an init container fetches a model into an emptyDir;
// the app starts only once it is there.
func TestSeedQuizInitContainerPreparesTheModel(t *testing.T) {
	s := startNode(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			name := "inference-" + strings.ReplaceAll(v, ".", "")
			watch, stop := k.Start("get", "pods", "-w")
			defer stop()
			k.MustRun(`apiVersion: v1
kind: Pod
metadata:
  name: `+name+`
spec:
  initContainers:
  - name: fetch-model
    image: busybox
    command: ["sh", "-c", "sleep 2; dd if=/dev/urandom of=/models/model.bin bs=1M count=5 2>/dev/null; echo fetched"]
    volumeMounts: [{name: models, mountPath: /models}]
  containers:
  - name: serve
    image: busybox
    command: ["sh", "-c", "ls -l /models/model.bin && echo serving; sleep 3600"]
    volumeMounts: [{name: models, mountPath: /models}]
  volumes:
  - name: models
    emptyDir: {}
`, "apply", "-f", "-")
			p := waitForPod(t, s, "default", name, 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
			initDone := p.Status.InitContainerStatuses[0].State.Terminated
			appStart := p.Status.ContainerStatuses[0].State.Running
			if initDone == nil || initDone.ExitCode != 0 || appStart == nil || appStart.StartedAt.Before(&initDone.FinishedAt) {
				t.Fatalf("init %+v, app %+v", initDone, appStart)
			}
			framework.Eventually(t, 10*time.Second, "the app sees the model", func() bool {
				return strings.Contains(k.Run("", "logs", name).Stdout, "5242880 ") && strings.Contains(k.Run("", "logs", name).Stdout, "serving")
			})
			framework.Eventually(t, 10*time.Second, "get -w shows Init:0/1 then Running", func() bool {
				out := watch.String()
				return regexp.MustCompile(name+`\s+0/1\s+Init:0/1\s`).MatchString(out) && regexp.MustCompile(name+`\s+1/1\s+Running\s`).MatchString(out)
			})
		})
	}
}

// Quiz scenario 8: runAsNonRoot refuses an image that runs as root unless
// a user is given; readOnlyRootFilesystem stops writes to the image.
func TestSeedQuizRunAsNonRootAndReadOnlyRoot(t *testing.T) {
	s := startNode(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			suffix := strings.ReplaceAll(v, ".", "")
			pod := func(name, user string) string {
				return `apiVersion: v1
kind: Pod
metadata:
  name: ` + name + `
spec:
  securityContext:
    runAsNonRoot: true
` + user + `  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", "id -u; touch /payload 2>&1; sleep 3600"]
    securityContext:
      readOnlyRootFilesystem: true
      allowPrivilegeEscalation: false
`
			}
			root := "as-root-" + suffix
			k.MustRun(pod(root, ""), "apply", "-f", "-")
			p := waitForPod(t, s, "default", root, 60*time.Second, "CreateContainerConfigError", func(p *corev1.Pod) bool {
				cs := p.Status.ContainerStatuses
				return len(cs) == 1 && cs[0].State.Waiting != nil && cs[0].State.Waiting.Reason == "CreateContainerConfigError"
			})
			want := `container has runAsNonRoot and image will run as root (pod: "` + root + `_default(` + string(p.UID) + `)", container: app)`
			if got := p.Status.ContainerStatuses[0].State.Waiting.Message; got != want {
				t.Errorf("message %q, want %q", got, want)
			}
			if out := k.MustRun("", "get", "pod", root); !regexp.MustCompile(root + `\s+0/1\s+CreateContainerConfigError\s`).MatchString(out) {
				t.Errorf("get pod:\n%s", out)
			}

			user := "nonroot-" + suffix
			k.MustRun(pod(user, "    runAsUser: 1000\n"), "apply", "-f", "-")
			waitForPod(t, s, "default", user, 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
			framework.Eventually(t, 10*time.Second, "uid and the refused write", func() bool {
				out := k.Run("", "logs", user).Stdout
				return out == "1000\ntouch: /payload: Read-only file system\n"
			})
		})
	}
}
