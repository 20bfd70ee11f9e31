package framework

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// KubectlVersions are the oldest and newest kubectl orca supports.
var KubectlVersions = []string{"1.27", "1.33"}

// KubectlPath finds kubectl 1.NN as installed on these machines.
func KubectlPath(t testing.TB, version string) string {
	t.Helper()
	p := "/usr/lib/google-cloud-sdk/bin/kubectl." + version
	if _, err := os.Stat(p); err != nil {
		t.Skipf("kubectl %s not installed at %s", version, p)
	}
	return p
}

// Kubectl runs one kubectl version against a server, with its own discovery
// cache so versions do not share state.
type Kubectl struct {
	t       testing.TB
	Path    string
	Version string
	Server  *Server
	Env     []string
	cache   string
}

// NewKubectl returns kubectl 1.NN pointed at s.
func NewKubectl(t testing.TB, s *Server, version string) *Kubectl {
	return &Kubectl{t: t, Path: KubectlPath(t, version), Version: version, Server: s, cache: t.TempDir()}
}

// Result is one kubectl invocation's outcome.
type Result struct {
	Stdout, Stderr string
	ExitCode       int
}

// Run executes kubectl with args (and optional stdin), never failing the test.
func (k *Kubectl) Run(stdin string, args ...string) Result {
	k.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	full := append([]string{"--kubeconfig", k.Server.Kubeconfig, "--cache-dir", filepath.Join(k.cache, "cache")}, args...)
	cmd := exec.CommandContext(ctx, k.Path, full...)
	cmd.Env = append(append(os.Environ(), "HOME="+k.cache), k.Env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	err := cmd.Run()
	code := 0
	if err != nil {
		code = -1
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		}
	}
	return Result{Stdout: out.String(), Stderr: errb.String(), ExitCode: code}
}

// MustRun runs kubectl and fails the test on a non-zero exit.
func (k *Kubectl) MustRun(stdin string, args ...string) string {
	k.t.Helper()
	r := k.Run(stdin, args...)
	if r.ExitCode != 0 {
		k.t.Fatalf("kubectl %s %s: exit %d\nstdout: %s\nstderr: %s", k.Version, strings.Join(args, " "), r.ExitCode, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// Start runs kubectl in the background (for -w); stop it with the returned func.
func (k *Kubectl) Start(args ...string) (out *SyncBuffer, stop func()) {
	full := append([]string{"--kubeconfig", k.Server.Kubeconfig, "--cache-dir", filepath.Join(k.cache, "cache")}, args...)
	cmd := exec.Command(k.Path, full...)
	cmd.Env = append(append(os.Environ(), "HOME="+k.cache), k.Env...)
	out = &SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		k.t.Fatal(err)
	}
	return out, func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
}
