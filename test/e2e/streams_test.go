package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// streamPods: shell has two running containers that tell themselves apart
// by $WHO and one that keeps exiting; web is the nginx stand-in; ticker
// writes a line a second to stdout and stderr and has stdin; done has
// completed.
const streamPods = `apiVersion: v1
kind: Pod
metadata:
  name: shell
spec:
  containers:
  - {name: app, image: busybox, command: [sleep, "3600"], env: [{name: WHO, value: app}]}
  - {name: side, image: busybox, command: [sleep, "3600"], env: [{name: WHO, value: side}]}
  - {name: quitter, image: busybox, command: ["true"]}
---
apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  containers:
  - {name: nginx, image: "nginx:alpine"}
---
apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  containers:
  - name: app
    image: busybox
    stdin: true
    command: [sh, -c, 'i=0; while true; do echo tick $i; echo tock $i >&2; i=$((i+1)); sleep 1; done']
---
apiVersion: v1
kind: Pod
metadata:
  name: done
spec:
  restartPolicy: Never
  containers:
  - {name: app, image: busybox, command: ["true"]}
`

// bigFile is served by web for the port-forward transfer test.
const bigFile = 10 << 20

func TestStreamsReachContainersThroughTheAPIServer(t *testing.T) {
	s := startNode(t)
	newest := framework.NewKubectl(t, s, framework.KubectlVersions[len(framework.KubectlVersions)-1])
	newest.MustRun(streamPods, "apply", "-f", "-")
	running := func(names ...string) func(*corev1.Pod) bool {
		return func(p *corev1.Pod) bool {
			n := 0
			for _, cs := range p.Status.ContainerStatuses {
				if cs.State.Running != nil && slices.Contains(names, cs.Name) {
					n++
				}
			}
			return n == len(names)
		}
	}
	waitForPod(t, s, "default", "shell", 90*time.Second, "app and side running", running("app", "side"))
	waitForPod(t, s, "default", "web", 90*time.Second, "nginx running", running("nginx"))
	waitForPod(t, s, "default", "ticker", 90*time.Second, "app running", running("app"))
	waitForPod(t, s, "default", "done", 90*time.Second, "Succeeded", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodSucceeded })
	newest.MustRun("", "exec", "web", "--", "sh", "-c", fmt.Sprintf("head -c %d /dev/urandom > /usr/share/nginx/html/big.bin", bigFile))
	bigSum := strings.Fields(newest.MustRun("", "exec", "web", "--", "sha256sum", "/usr/share/nginx/html/big.bin"))[0]

	// A WebSocket exec outlives the API server's 60 s request timeout
	// (exec must be a long-running request); it runs while the rest goes on.
	long := startKubectl(t, newest, "exec", "shell", "-c", "app", "--", "sh", "-c", "sleep 65; echo still here")

	for i, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			t.Run("ExecPrintsOutputAndReturnsTheExitCode", func(t *testing.T) {
				if out := k.MustRun("", "exec", "shell", "-c", "app", "--", "echo", "hi"); out != "hi\n" {
					t.Errorf("stdout %q", out)
				}
				r := k.Run("", "exec", "shell", "-c", "app", "--", "sh", "-c", "exit 3")
				if r.ExitCode != 3 || !strings.Contains(r.Stderr, "command terminated with exit code 3") {
					t.Errorf("exit %d, stderr %q", r.ExitCode, r.Stderr)
				}
			})
			t.Run("ExecPassesStdin", func(t *testing.T) {
				if out := k.MustRun("hello\nworld\n", "exec", "-i", "shell", "-c", "app", "--", "cat"); out != "hello\nworld\n" {
					t.Errorf("stdout %q", out)
				}
			})
			t.Run("ExecPicksTheContainer", func(t *testing.T) {
				if out := k.MustRun("", "exec", "shell", "-c", "side", "--", "sh", "-c", "echo $WHO"); out != "side\n" {
					t.Errorf("-c side: %q", out)
				}
				r := k.Run("", "exec", "shell", "--", "sh", "-c", "echo $WHO")
				if r.Stdout != "app\n" || !strings.Contains(r.Stderr, `Defaulted container "app" out of: app, side, quitter`) {
					t.Errorf("default container: %+v", r)
				}
			})
			t.Run("ExecErrorsAreWordedAsKubernetesWordsThem", func(t *testing.T) {
				notRunning := `error: unable to upgrade connection: container not found ("quitter")`
				if k.Version != "1.27" { // WebSocket, translated to SPDY by the API server
					notRunning = `error: Internal error occurred: unable to upgrade connection: container not found ("quitter")`
				}
				for args, want := range map[string]string{
					"shell -c nope -- true":    "Error from server (BadRequest): container nope is not valid for pod shell",
					"shell -c quitter -- true": notRunning,
					"done -- true":             "error: cannot exec into a container in a completed pod; current phase is Succeeded",
				} {
					r := k.Run("", append([]string{"exec"}, strings.Fields(args)...)...)
					if r.ExitCode != 1 || strings.TrimSpace(r.Stderr) != want {
						t.Errorf("exec %s: exit %d, stderr %q, want %q", args, r.ExitCode, r.Stderr, want)
					}
				}
			})
			t.Run("ExecTTYHasTheClientsTerminalSize", func(t *testing.T) {
				testExecTTY(t, k)
			})
			t.Run("ExecUsesTheExpectedTransport", func(t *testing.T) {
				r := k.Run("", "exec", "-v=8", "shell", "-c", "app", "--", "true")
				want := []string{"X-Stream-Protocol-Version: v4.channel.k8s.io", "101 Switching Protocols", "Upgrade: SPDY/3.1"}
				if k.Version != "1.27" {
					want = []string{"Sec-Websocket-Protocol: v5.channel.k8s.io", "101 Switching Protocols", "Upgrade: websocket"}
				}
				for _, w := range want {
					if !strings.Contains(r.Stderr, w) {
						t.Errorf("exec -v=8 lacks %q", w)
					}
				}
				if strings.Contains(strings.ToLower(r.Stderr), "fallback") {
					t.Errorf("exec fell back:\n%s", r.Stderr)
				}
			})
			t.Run("ExecOfAClientThatGoesAwayLeavesNoProcess", func(t *testing.T) {
				secs := strconv.Itoa(3001 + i)
				marker := "sleep " + secs
				count := func() int {
					return strings.Count(newest.MustRun("", "exec", "shell", "-c", "app", "--", "ps", "-o", "args"), marker)
				}
				cmd := startKubectl(t, k, "exec", "shell", "-c", "app", "--", "sleep", secs)
				framework.Eventually(t, 10*time.Second, marker+" running", func() bool { return count() == 1 })
				_ = cmd.Process.Kill()
				_ = cmd.Wait()
				framework.Eventually(t, 10*time.Second, marker+" gone after its client was killed", func() bool { return count() == 0 })
			})
			t.Run("PortForwardServesConcurrentConnectionsAndLargeFilesIntact", func(t *testing.T) {
				port := framework.FreePort(t)
				startPortForward(t, k, "pod/web", port, 80)
				base := fmt.Sprintf("http://127.0.0.1:%d", port)
				if body := httpGet(t, base+"/"); !strings.Contains(body, "Welcome to nginx!") {
					t.Errorf("index.html: %q", body)
				}
				var wg sync.WaitGroup
				sums := make([]string, 2)
				start := time.Now()
				for n := range sums {
					wg.Go(func() { sums[n] = sha256Hex(httpGet(t, base+"/big.bin")) })
				}
				wg.Wait()
				elapsed := time.Since(start)
				for n, sum := range sums {
					if sum != bigSum {
						t.Errorf("transfer %d: sha256 %s, want %s", n, sum, bigSum)
					}
				}
				t.Logf("kubectl %s port-forward: 2 x %d MB at once in %v (%.0f MB/s together)", k.Version, bigFile>>20, elapsed.Round(time.Millisecond), float64(2*bigFile>>20)/elapsed.Seconds())
			})
			t.Run("PortForwardToAClosedPortShowsTheError", func(t *testing.T) {
				closed, open := framework.FreePort(t), framework.FreePort(t)
				out := startPortForward(t, k, "pod/web", closed, 81)
				if resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/", closed)); err == nil {
					resp.Body.Close()
					t.Fatalf("GET through a closed port: %s", resp.Status)
				}
				// kubectl 1.33 logs the error structured, quotes escaped.
				want := regexp.MustCompile(fmt.Sprintf(`an error occurred forwarding %d -> 81: error forwarding port 81 to pod web, uid [-0-9a-f]+: failed to execute portforward in network namespace \\?"/run/netns/orca-[-0-9a-f]+\\?": failed to connect to localhost:81 inside namespace, IPv4: dial tcp4 127.0.0.1:81: connect: connection refused`, closed))
				framework.Eventually(t, 10*time.Second, "kubectl's port-forward error", func() bool { return want.MatchString(out.String()) })
				// client-go closes the whole connection after an error (the
				// agent would serve on: see the agent endpoint's unit test);
				// the pod and a new forwarder are unaffected.
				framework.WaitForOutput(t, out, "error: lost connection to pod", 10*time.Second)
				startPortForward(t, k, "pod/web", open, 80)
				if body := httpGet(t, fmt.Sprintf("http://127.0.0.1:%d/", open)); !strings.Contains(body, "Welcome to nginx!") {
					t.Errorf("after the error: %q", body)
				}
			})
			t.Run("CopyWorksBothWays", func(t *testing.T) {
				dir := t.TempDir()
				in := filepath.Join(dir, "in.bin")
				data := bytes.Repeat([]byte("orca copies "+k.Version+"\n"), 20000)
				if err := os.WriteFile(in, data, 0o644); err != nil {
					t.Fatal(err)
				}
				remote := "/tmp/copied-" + k.Version
				k.MustRun("", "cp", in, "shell:"+remote, "-c", "app")
				if got := strings.Fields(k.MustRun("", "exec", "shell", "-c", "app", "--", "sha256sum", remote))[0]; got != sha256Hex(string(data)) {
					t.Errorf("copied in: sha256 %s", got)
				}
				out := filepath.Join(dir, "out.bin")
				k.MustRun("", "cp", "shell:"+remote, out, "-c", "app")
				if back, err := os.ReadFile(out); err != nil || !bytes.Equal(back, data) {
					t.Errorf("copied out: %d bytes, err %v", len(back), err)
				}
			})
			// Stdin and terminals: attach_test.go.
			t.Run("AttachStreamsTheOutput", func(t *testing.T) {
				out, stop := k.Start("attach", "ticker")
				framework.WaitForOutput(t, out, "tick", 10*time.Second)
				framework.WaitForOutput(t, out, "tock", 10*time.Second)
				stop()
			})
			t.Run("ExecRoundTrip", func(t *testing.T) {
				var times []time.Duration
				for range 15 {
					start := time.Now()
					k.MustRun("", "exec", "shell", "-c", "app", "--", "true")
					times = append(times, time.Since(start))
				}
				slices.Sort(times)
				t.Logf("kubectl %s exec -- true: median %v (min %v, max %v)", k.Version, times[len(times)/2].Round(time.Millisecond), times[0].Round(time.Millisecond), times[len(times)-1].Round(time.Millisecond))
			})
		})
	}

	t.Run("ExecWithoutACommandIsABadRequest", func(t *testing.T) {
		// kubectl refuses this itself; the API server does too.
		err := s.Client().CoreV1().RESTClient().Post().Namespace("default").Resource("pods").Name("shell").
			SubResource("exec").Param("container", "app").Param("stdout", "true").Do(context.Background()).Error()
		if !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), "you must specify at least 1 command") {
			t.Errorf("err = %v", err)
		}
	})

	if err := long.Wait(); err != nil || !strings.Contains(long.Stdout.(*bytes.Buffer).String(), "still here") {
		t.Errorf("65 s exec: %v, stdout %q, stderr %q", err, long.Stdout, long.Stderr)
	}
}

// startKubectl runs kubectl in the background; the test owns the process.
func startKubectl(t *testing.T, k *framework.Kubectl, args ...string) *exec.Cmd {
	t.Helper()
	full := append([]string{"--kubeconfig", k.Server.Kubeconfig, "--cache-dir", filepath.Join(t.TempDir(), "cache")}, args...)
	cmd := exec.Command(k.Path, full...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	cmd.Stdout, cmd.Stderr = &bytes.Buffer{}, &bytes.Buffer{}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd
}

// startPortForward runs kubectl port-forward until the test ends and waits
// until it listens.
func startPortForward(t *testing.T, k *framework.Kubectl, target string, local, remote int) *framework.SyncBuffer {
	t.Helper()
	out, stop := k.Start("port-forward", target, fmt.Sprintf("%d:%d", local, remote))
	t.Cleanup(stop)
	framework.WaitForOutput(t, out, fmt.Sprintf("Forwarding from 127.0.0.1:%d -> %d", local, remote), 15*time.Second)
	return out
}

func httpGet(t *testing.T, url string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Errorf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("GET %s: %s, %v", url, resp.Status, err)
	}
	return string(body)
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// testExecTTY runs kubectl exec -it inside script(1)'s pseudo-terminal,
// sized 120x40, so kubectl finds a terminal on its stdin.
func testExecTTY(t *testing.T, k *framework.Kubectl) {
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) is not installed")
	}
	kubectl := strings.Join([]string{k.Path, "--kubeconfig", k.Server.Kubeconfig, "--cache-dir", filepath.Join(t.TempDir(), "cache"),
		"exec", "-it", "shell", "-c", "app", "--", "sh", "-c", strconv.Quote("tty; stty size; exit 4")}, " ")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-qec", "stty cols 120 rows 40; "+kubectl, "/dev/null")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	if code != 4 || !strings.Contains(string(out), "/dev/pts/") || !strings.Contains(string(out), "40 120") {
		t.Errorf("exec -it: exit %d (%v), output %q", code, err, out)
	}
}
