// Package framework starts real orca servers and runs real kubectl against
// them, for the end-to-end tests.
package framework

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/network"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// RepoRoot is the checkout's top directory.
func RepoRoot() string {
	wd, _ := os.Getwd()
	for dir := wd; dir != "/"; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
	}
	return wd
}

// Binary builds orca once per test process with the Makefile's linker flags,
// or returns $ORCA_BIN when set.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		if p := os.Getenv("ORCA_BIN"); p != "" {
			binPath = p
			return
		}
		dir, err := os.MkdirTemp("", "orca-e2e-bin-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "orca")
		// The Makefile's own build, so tests run what users run.
		cmd := exec.Command("make", "-s", "--no-print-directory", "-C", RepoRoot(), "build", "BIN="+binPath)
		if b, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("make build: %v\n%s", err, b)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// Server is a running `orca server` in a temporary data dir.
type Server struct {
	t          testing.TB
	Bin        string
	DataDir    string
	Port       int
	Kubeconfig string
	ExtraArgs  []string
	etcdPorts  [2]int
	podUIDs    []string
	cmd        *exec.Cmd
	log        *SyncBuffer
	done       chan struct{}
}

// StartServer starts a control plane without a node agent on free loopback
// ports and waits until it is ready; it is stopped when the test ends.
func StartServer(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	return start(t, append([]string{"--disable-agent"}, extraArgs...))
}

// StartNode starts a server with its node agent (as root), using temporary
// directories for runtime state and logs and a free agent port.
func StartNode(t testing.TB, extraArgs ...string) *Server {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("running containers needs root")
	}
	dir := t.TempDir()
	port := FreePort(t)
	// Each test server gets its own bridge and pod address space, removed
	// once the server has stopped, so servers never share routes.
	bridge := "orca" + strconv.Itoa(port)
	cluster := fmt.Sprintf("10.%d.0.0/16", 50+port%150)
	runDir := filepath.Join(dir, "run")
	t.Cleanup(func() { removePodNetwork(t, bridge, cluster, filepath.Join(runDir, "network")) })
	args := append([]string{
		"--node-name", "orca-e2e",
		"--agent-port", strconv.Itoa(port),
		"--run-dir", runDir,
		"--pod-log-dir", filepath.Join(dir, "logs"),
		"--bridge-name", bridge,
		"--cluster-cidr", cluster,
	}, extraArgs...)
	s := start(t, args)
	// Containers outlive the agent by design; delete every pod first so the
	// agent stops them before the server goes.
	t.Cleanup(func() { s.DeleteAllPods(60 * time.Second) })
	return s
}

// DeleteAllPods deletes every pod with a 1 s grace period and waits until
// the agent has stopped their containers, cleaned up and removed them.
func (s *Server) DeleteAllPods(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cs := s.Client()
	one := int64(1)
	pods, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
	if err != nil {
		s.t.Logf("list pods for cleanup: %v", err)
		return
	}
	for _, p := range pods.Items {
		_ = cs.CoreV1().Pods(p.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &one})
		s.podUIDs = append(s.podUIDs, string(p.UID))
	}
	// Finished pods leave the API at once; their containers are removed by
	// the agent after that, so also wait for its directories to empty.
	for ctx.Err() == nil {
		left, err := cs.CoreV1().Pods("").List(ctx, metav1.ListOptions{})
		if err == nil && len(left.Items) == 0 && emptyDir(filepath.Join(s.DataDir, "containers")) && emptyDir(filepath.Join(s.DataDir, "pods")) {
			s.checkNoLeaks()
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	s.t.Errorf("pods were not removed within %s\n--- server log ---\n%s", timeout, s.Log())
}

func start(t testing.TB, extraArgs []string) *Server {
	s := &Server{
		t:         t,
		Bin:       Binary(t),
		DataDir:   t.TempDir(),
		Port:      FreePort(t),
		etcdPorts: [2]int{FreePort(t), FreePort(t)},
		ExtraArgs: extraArgs,
	}
	s.Kubeconfig = filepath.Join(s.DataDir, "kubeconfig.yaml")
	s.Start()
	t.Cleanup(s.Stop)
	return s
}

// Start runs the server process and waits for /readyz.
func (s *Server) Start() {
	s.t.Helper()
	args := append([]string{"server",
		"--data-dir", s.DataDir,
		"--port", strconv.Itoa(s.Port),
		"--embedded-etcd-client-port", strconv.Itoa(s.etcdPorts[0]),
		"--embedded-etcd-peer-port", strconv.Itoa(s.etcdPorts[1]),
	}, s.ExtraArgs...)
	s.log = &SyncBuffer{}
	s.cmd = exec.Command(s.Bin, args...)
	s.cmd.Stdout, s.cmd.Stderr = s.log, s.log
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := s.cmd.Start(); err != nil {
		s.t.Fatalf("start orca: %v", err)
	}
	s.done = make(chan struct{})
	go func() { _ = s.cmd.Wait(); close(s.done) }()
	if err := s.WaitReady(60 * time.Second); err != nil {
		s.Stop()
		s.t.Fatalf("orca never became ready: %v\n--- server log ---\n%s", err, s.log.String())
	}
}

// WaitReady polls /readyz through the admin kubeconfig.
func (s *Server) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return fmt.Errorf("server exited")
		default:
		}
		if cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig); err == nil {
			cs, err := kubernetes.NewForConfig(cfg)
			if err == nil {
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				_, last = cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
				cancel()
				if last == nil {
					return nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("timeout: %v", last)
}

// Stop sends SIGTERM and waits for a clean exit (SIGKILL after 20 s).
func (s *Server) Stop() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.done:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
		if code := s.cmd.ProcessState.ExitCode(); code != 0 {
			s.t.Errorf("orca exited with %d after SIGTERM\n--- server log ---\n%s", code, s.log.String())
		}
	case <-time.After(20 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
		s.t.Errorf("orca did not stop within 20s of SIGTERM")
	}
}

// Kill ends the server process with SIGKILL, as a crash would; its
// containers are not signalled.
func (s *Server) Kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	<-s.done
}

// Log returns what the server printed so far.
func (s *Server) Log() string { return s.log.String() }

// RESTConfig is the admin client configuration.
func (s *Server) RESTConfig() *rest.Config {
	cfg, err := clientcmd.BuildConfigFromFlags("", s.Kubeconfig)
	if err != nil {
		s.t.Fatalf("load kubeconfig: %v", err)
	}
	return cfg
}

// Client is an admin client-go clientset.
func (s *Server) Client() kubernetes.Interface { return s.ClientFor(s.RESTConfig()) }

// ClientFor is a clientset for a tuned copy of RESTConfig.
func (s *Server) ClientFor(cfg *rest.Config) kubernetes.Interface {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		s.t.Fatal(err)
	}
	return cs
}

// PID is the server process's id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// FreePort asks the kernel for an unused loopback TCP port.
func FreePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// checkNoLeaks fails the test if a deleted pod left its pinned network
// namespace behind (its other pins live in the test's own run dir).
func (s *Server) checkNoLeaks() {
	for _, uid := range s.podUIDs {
		if _, err := os.Stat("/run/netns/orca-" + uid); err == nil {
			s.t.Errorf("pod %s left /run/netns/orca-%s behind", uid, uid)
		}
	}
}

func emptyDir(path string) bool {
	entries, err := os.ReadDir(path)
	return err != nil || len(entries) == 0
}

// removePodNetwork deletes a stopped test server's bridge and masquerade
// table (an agent leaves them in place on purpose when it stops).
func removePodNetwork(t testing.TB, bridge, cluster, stateDir string) {
	_, clusterNet, err := net.ParseCIDR(cluster)
	if err != nil {
		return
	}
	podNet := &net.IPNet{IP: clusterNet.IP, Mask: net.CIDRMask(24, 32)}
	n, err := network.New(network.Config{PodCIDR: podNet, ClusterCIDR: clusterNet, BridgeName: bridge, StateDir: stateDir})
	if err != nil {
		t.Logf("remove pod network %s: %v", bridge, err)
		return
	}
	if err := n.Uninstall(); err != nil {
		t.Logf("remove pod network %s: %v", bridge, err)
	}
	_ = n.Close()
}
