package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/testimages"
	"github.com/orca-pods/orca/test/e2e/framework"
)

// goroutines is the orca process's goroutine count, from the API server's
// profiling endpoint.
func goroutines(t *testing.T, s *framework.Server) int {
	t.Helper()
	data, err := s.Client().CoreV1().RESTClient().Get().AbsPath("/debug/pprof/goroutine").Param("debug", "1").DoRaw(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(data), "\n")
	// "goroutine profile: total N"
	n, err := strconv.Atoi(strings.TrimPrefix(first, "goroutine profile: total "))
	if err != nil {
		t.Fatalf("goroutine profile header %q", first)
	}
	return n
}

// Clients that vanish in the middle of a port-forward transfer or an
// attach leave nothing behind in the server: its goroutine count returns
// to where it was.
func TestClientsThatDisconnectMidStreamLeakNothing(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	old := framework.NewKubectl(t, s, framework.KubectlVersions[0])
	k.MustRun(`apiVersion: v1
kind: Pod
metadata: {name: source}
spec:
  containers:
  - {name: app, image: `+testimages.TestApp+`}
  - {name: talker, image: busybox, stdin: true, command: [sh, -c, "while true; do echo hi; sleep 0.1; done"]}
`, "apply", "-f", "-")
	waitForPod(t, s, "default", "source", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	time.Sleep(2 * time.Second) // let start-up goroutines (informers, probes) settle
	before := goroutines(t, s)

	for round, kc := range []*framework.Kubectl{k, old} {
		port := framework.FreePort(t)
		pf, stop := kc.Start("port-forward", "pod/source", fmt.Sprintf("%d:8080", port))
		framework.WaitForOutput(t, pf, "Forwarding from", 15*time.Second)
		resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/bytes?n=%d", port, 1<<30))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.CopyN(io.Discard, resp.Body, 20<<20); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		stop() // kubectl killed mid-transfer
		resp.Body.Close()

		out, stopAttach := kc.Start("attach", "source", "-c", "talker", "-i")
		framework.WaitForOutput(t, out, "hi", 15*time.Second)
		stopAttach()
		t.Logf("round %d done at %s", round, time.Now().Format("15:04:05.000"))
	}
	var after int
	framework.Eventually(t, 20*time.Second, "goroutines back to where they were", func() bool {
		after = goroutines(t, s)
		return after <= before+5
	})
	t.Logf("goroutines: %d before, %d after", before, after)
}
