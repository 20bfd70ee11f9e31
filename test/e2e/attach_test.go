package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// kubectl run -i --rm: piped stdin reaches the container, its end is the
// container's EOF (stdinOnce), the output comes back, and the pod is gone.
func TestKubectlRunInteractiveWithPipedStdin(t *testing.T) {
	s := startNode(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			name := "catter-" + strings.ReplaceAll(v, ".", "")
			r := k.Run("hello from stdin\n", "run", name, "-i", "--rm", "--restart=Never", "--image=busybox",
				"--", "sh", "-c", "cat; echo bye")
			if r.ExitCode != 0 || !strings.Contains(r.Stdout, "hello from stdin\nbye\n") ||
				!strings.Contains(r.Stdout+r.Stderr, `pod "`+name+`" deleted`) {
				t.Fatalf("kubectl run -i: exit %d\nstdout %q\nstderr %q", r.ExitCode, r.Stdout, r.Stderr)
			}
			framework.Eventually(t, 30*time.Second, "pod deleted", func() bool {
				_, err := s.Client().CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
				return err != nil
			})
		})
	}
}

// kubectl run -it --rm with a terminal: the shell gets the keystrokes and
// its output reaches the terminal; kubectl attach re-joins a running one.
func TestKubectlRunAndAttachWithATerminal(t *testing.T) {
	s := startNode(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			name := "term-" + strings.ReplaceAll(v, ".", "")
			out, code := inTerminal(t, k, "echo hi-$((6*7)); stty size; exit\n",
				"run", name, "-it", "--rm", "--restart=Never", "--image=busybox", "--", "sh")
			// kubectl sets the size one larger first, then the real one, so
			// the shell gets a SIGWINCH; stty may run between the two.
			if code != 0 || !strings.Contains(out, "hi-42") || !(strings.Contains(out, "40 120") || strings.Contains(out, "41 121")) {
				t.Fatalf("kubectl run -it: exit %d, output %q", code, out)
			}

			// A pod whose shell keeps running: attach -it twice.
			long := "attachable-" + strings.ReplaceAll(v, ".", "")
			k.MustRun("apiVersion: v1\nkind: Pod\nmetadata:\n  name: "+long+"\nspec:\n  containers:\n  - {name: sh, image: busybox, command: [sh], stdin: true, tty: true}\n", "apply", "-f", "-")
			waitForPod(t, s, "default", long, 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
			for i := range 2 {
				// The script's exit sends ^D to kubectl, which ends the
				// session; the shell lives on.
				out, code := inTerminal(t, k, "echo round-$((40+"+strconv.Itoa(i)+"))\n", "attach", "-it", long)
				if !strings.Contains(out, "round-"+strconv.Itoa(40+i)) {
					t.Fatalf("attach %d: exit %d, output %q", i, code, out)
				}
			}
		})
	}
}

// inTerminal runs kubectl inside script(1)'s pseudo-terminal, sized
// 120x40, typing input into it; it returns what the terminal showed.
func inTerminal(t *testing.T, k *framework.Kubectl, input string, args ...string) (string, int) {
	t.Helper()
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed")
	}
	full := append([]string{k.Path, "--kubeconfig", k.Server.Kubeconfig, "--cache-dir", filepath.Join(t.TempDir(), "cache")}, args...)
	for i, a := range full {
		full[i] = strconv.Quote(a)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", "stty cols 120 rows 40; "+strings.Join(full, " "), "/dev/null")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Stdin = strings.NewReader(input)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		code = -1
	}
	return string(out), code
}

// kubectl debug -it: an interactive ephemeral container that sees the
// target's processes.
func TestKubectlDebugInteractive(t *testing.T) {
	s := startNode(t)
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			name := "debug-it-" + strings.ReplaceAll(v, ".", "")
			k.MustRun("apiVersion: v1\nkind: Pod\nmetadata:\n  name: "+name+"\nspec:\n  containers:\n  - {name: app, image: busybox, command: [sleep, '4322']}\n", "apply", "-f", "-")
			waitForPod(t, s, "default", name, 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
			out, code := inTerminal(t, k, "ps; exit\n", "debug", "-it", name, "--image=busybox", "--target=app", "--container=dbg", "--", "sh")
			if !strings.Contains(out, "sleep 4322") {
				t.Fatalf("kubectl debug -it: exit %d, output %q", code, out)
			}
		})
	}
}
