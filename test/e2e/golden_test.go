package e2e

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/orca-pods/orca/test/e2e/framework"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// goldenPod is deterministic but for its age and namespace, which
// normalize() masks.
const goldenPod = `apiVersion: v1
kind: Pod
metadata:
  name: golden
  labels:
    app: web
  annotations:
    team: payments
spec:
  nodeSelector:
    disk: nvme
  volumes:
  - name: scratch
    emptyDir:
      sizeLimit: 1Gi
  initContainers:
  - name: setup
    image: busybox:1.36
    command: ["sh", "-c", "echo ready > /scratch/state"]
    volumeMounts:
    - name: scratch
      mountPath: /scratch
  containers:
  - name: app
    image: nginx:alpine
    ports:
    - containerPort: 80
      name: http
    env:
    - name: MODE
      value: production
    resources:
      requests:
        cpu: 250m
        memory: 512Mi
      limits:
        cpu: 500m
        memory: 512Mi
    readinessProbe:
      httpGet:
        path: /ready
        port: http
      periodSeconds: 10
    volumeMounts:
    - name: scratch
      mountPath: /var/scratch
      readOnly: true
`

var (
	// An age is a table cell: a duration between runs of spaces.
	ageRE       = regexp.MustCompile(`(?m)( {2,})(\d+[hd])?(\d+m)?\d+s( {2,}|$)`)
	spacesRE    = regexp.MustCompile(`(\S) {2,}`)
	timestampRE = regexp.MustCompile(`[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} [+-]\d{4}`)
	// The ServiceAccount admission plugin names the token volume randomly.
	tokenVolumeRE = regexp.MustCompile(`kube-api-access-[a-z0-9]{5}`)
)

// normalize masks what changes from run to run: the namespace, ages,
// timestamps and the token volume's name. Column widths follow the ages, so runs of spaces between
// cells are folded; indentation is kept.
func normalize(s, ns string) string {
	s = strings.ReplaceAll(s, ns, "NAMESPACE")
	s = timestampRE.ReplaceAllString(s, "TIMESTAMP")
	s = tokenVolumeRE.ReplaceAllString(s, "kube-api-access-XXXXX")
	s = ageRE.ReplaceAllString(s, "${1}AGE${4}")
	return spacesRE.ReplaceAllString(s, "$1  ")
}

func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if string(want) != got {
		t.Fatalf("%s differs from the golden file (run with -update if the change is intended)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

func TestKubectlOutputMatchesGoldenFiles(t *testing.T) {
	s := framework.StartServer(t)
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		k.MustRun(goldenPod, "apply", "-n", ns, "-f", "-")
		k.MustRun(podYAML("second", "x"), "apply", "-n", ns, "-f", "-")
		framework.Eventually(t, 20*time.Second, "FailedScheduling event", func() bool {
			return strings.Contains(k.MustRun("", "describe", "pod", "golden", "-n", ns), "FailedScheduling")
		})
		for name, args := range map[string][]string{
			"describe-pod":  {"describe", "pod", "golden"},
			"get-pods":      {"get", "pods", "--sort-by", "{.metadata.name}"},
			"get-pods-wide": {"get", "pods", "-o", "wide", "--sort-by", "{.metadata.name}"},
		} {
			out := k.MustRun("", append(args, "-n", ns)...)
			checkGolden(t, name+"."+k.Version, normalize(out, ns))
		}
	})
}
