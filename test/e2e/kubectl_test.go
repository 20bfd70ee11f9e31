package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/orca-pods/orca/test/e2e/framework"
)

var namespaceSeq atomic.Int64

// forEachKubectl runs body once per supported kubectl version, each against
// its own namespace of one shared server.
func forEachKubectl(t *testing.T, s *framework.Server, body func(t *testing.T, k *framework.Kubectl, ns string)) {
	for _, v := range framework.KubectlVersions {
		t.Run("kubectl-"+v, func(t *testing.T) {
			k := framework.NewKubectl(t, s, v)
			ns := fmt.Sprintf("e2e-%s-%d", strings.ReplaceAll(v, ".", ""), namespaceSeq.Add(1))
			k.MustRun("", "create", "namespace", ns)
			body(t, k, ns)
		})
	}
}

func podYAML(name, label string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
  labels:
    tier: %s
spec:
  containers:
  - name: app
    image: busybox:1.36
    command: ["sleep", "3600"]
    ports:
    - containerPort: 80
`, name, label)
}

func TestKubectlApplyCreateAndReapplyReportsConfigured(t *testing.T) {
	s := framework.StartServer(t)
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		out := k.MustRun(podYAML("web", "frontend"), "apply", "-n", ns, "-f", "-")
		if !strings.Contains(out, "pod/web created") {
			t.Fatalf("first apply: %q", out)
		}
		out = k.MustRun(podYAML("web", "backend"), "apply", "-n", ns, "-f", "-")
		if !strings.Contains(out, "pod/web configured") {
			t.Fatalf("re-apply with a changed label: %q", out)
		}
		out = k.MustRun(podYAML("web", "backend"), "apply", "-n", ns, "-f", "-")
		if !strings.Contains(out, "pod/web unchanged") {
			t.Fatalf("re-apply unchanged: %q", out)
		}
		if got := k.MustRun("", "get", "pod", "web", "-n", ns, "-o", "jsonpath={.metadata.labels.tier}"); got != "backend" {
			t.Fatalf("label after re-apply = %q", got)
		}
		out = k.MustRun(podYAML("ssa", "x"), "apply", "--server-side", "-n", ns, "-f", "-")
		if !strings.Contains(out, "pod/ssa serverside-applied") {
			t.Fatalf("server-side apply: %q", out)
		}
		managers := k.MustRun("", "get", "pod", "ssa", "-n", ns, "--show-managed-fields", "-o", "jsonpath={.metadata.managedFields[*].manager}")
		if !strings.Contains(managers, "kubectl") {
			t.Fatalf("managedFields managers = %q", managers)
		}
		out = k.MustRun(podYAML("made", "x"), "create", "-n", ns, "-f", "-")
		if !strings.Contains(out, "pod/made created") {
			t.Fatalf("create: %q", out)
		}
		r := k.Run(podYAML("made", "x"), "create", "-n", ns, "-f", "-")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, `pods "made" already exists`) {
			t.Fatalf("second create should conflict: %+v", r)
		}
	})
}

func TestKubectlGetPrintsKubernetesColumns(t *testing.T) {
	s := framework.StartServer(t)
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		k.MustRun(podYAML("web", "frontend"), "apply", "-n", ns, "-f", "-")
		table := k.MustRun("", "get", "pods", "-n", ns)
		if !regexp.MustCompile(`(?m)^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$`).MatchString(table) ||
			!regexp.MustCompile(`(?m)^web\s+0/1\s+Pending\s+0\s+\d+s$`).MatchString(table) {
			t.Fatalf("get pods:\n%s", table)
		}
		wide := k.MustRun("", "get", "po", "-n", ns, "-o", "wide")
		if !regexp.MustCompile(`(?m)^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\s+IP\s+NODE\s+NOMINATED NODE\s+READINESS GATES$`).MatchString(wide) ||
			!regexp.MustCompile(`(?m)^web\s+0/1\s+Pending\s+0\s+\S+\s+<none>\s+<none>\s+<none>\s+<none>$`).MatchString(wide) {
			t.Fatalf("get -o wide:\n%s", wide)
		}
		yaml := k.MustRun("", "get", "pod", "web", "-n", ns, "-o", "yaml")
		for _, want := range []string{"kind: Pod", "imagePullPolicy: IfNotPresent", "restartPolicy: Always", "terminationMessagePath: /dev/termination-log",
			"protocol: TCP", "dnsPolicy: ClusterFirst", "schedulerName: default-scheduler", "serviceAccountName: default",
			"terminationGracePeriodSeconds: 30", "phase: Pending", "qosClass: BestEffort", "node.kubernetes.io/not-ready"} {
			if !strings.Contains(yaml, want) {
				t.Errorf("-o yaml lacks %q:\n%s", want, yaml)
			}
		}
		json := k.MustRun("", "get", "pod", "web", "-n", ns, "-o", "json")
		if !strings.Contains(json, `"apiVersion": "v1"`) || !strings.Contains(json, `"name": "web"`) {
			t.Fatalf("-o json:\n%s", json)
		}
		if got := k.MustRun("", "get", "pod", "web", "-n", ns, "-o", "jsonpath={.spec.containers[0].image}"); got != "busybox:1.36" {
			t.Fatalf("jsonpath = %q", got)
		}
		if got := k.MustRun("", "get", "pods", "-n", ns, "--field-selector", "status.phase=Pending", "-o", "name"); strings.TrimSpace(got) != "pod/web" {
			t.Fatalf("field selector: %q", got)
		}
		r := k.Run("", "get", "pods", "-n", ns, "--field-selector", "spec.bogus=x")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, `field label not supported: spec.bogus`) {
			t.Fatalf("unknown field selector: %+v", r)
		}
		for _, resource := range []string{"ns", "sa", "cm", "ev", "no", "leases", "priorityclasses", "all", "secrets"} {
			k.MustRun("", "get", resource, "-n", ns)
		}
		if got := k.MustRun("", "get", "sa", "-n", ns, "-o", "name"); !strings.Contains(got, "serviceaccount/default") {
			t.Errorf("default service account missing: %q", got)
		}
		nsTable := k.MustRun("", "get", "namespaces")
		for _, n := range []string{"default", "kube-system", "kube-public", "kube-node-lease", ns} {
			if !regexp.MustCompile(`(?m)^` + n + `\s+Active\s+`).MatchString(nsTable) {
				t.Errorf("namespace %s not Active in:\n%s", n, nsTable)
			}
		}
	})
}

func TestKubectlWatchSeesAnUpdate(t *testing.T) {
	s := framework.StartServer(t)
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		k.MustRun(podYAML("watched", "a"), "apply", "-n", ns, "-f", "-")
		out, stop := k.Start("get", "pods", "-n", ns, "-w", "--output-watch-events")
		defer stop()
		framework.WaitForOutput(t, out, "watched", 20*time.Second)
		k.MustRun("", "label", "pod", "watched", "-n", ns, "seen=yes")
		framework.WaitForOutput(t, out, "MODIFIED", 20*time.Second)
	})
}

func TestKubectlEditsPodsTheWaysKubernetesAllows(t *testing.T) {
	s := framework.StartServer(t)
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		k.MustRun(podYAML("p", "a"), "apply", "-n", ns, "-f", "-")
		k.MustRun("", "label", "pod", "p", "-n", ns, "team=blue")
		k.MustRun("", "annotate", "pod", "p", "-n", ns, "note=hello")
		k.MustRun("", "patch", "pod", "p", "-n", ns, "-p", `{"metadata":{"labels":{"strategic":"yes"}}}`)
		k.MustRun("", "patch", "pod", "p", "-n", ns, "--type=merge", "-p", `{"metadata":{"labels":{"merge":"yes"}}}`)
		k.MustRun("", "patch", "pod", "p", "-n", ns, "--type=json", "-p", `[{"op":"add","path":"/metadata/labels/json","value":"yes"}]`)
		labels := k.MustRun("", "get", "pod", "p", "-n", ns, "-o", "jsonpath={.metadata.labels}")
		for _, l := range []string{`"team":"blue"`, `"strategic":"yes"`, `"merge":"yes"`, `"json":"yes"`} {
			if !strings.Contains(labels, l) {
				t.Errorf("labels %s lack %s", labels, l)
			}
		}
		if got := k.MustRun("", "get", "pod", "p", "-n", ns, "-o", "jsonpath={.metadata.annotations.note}"); got != "hello" {
			t.Errorf("annotation = %q", got)
		}

		out := k.MustRun("", "set", "image", "pod/p", "-n", ns, "app=busybox:1.37")
		if !strings.Contains(out, "pod/p image updated") {
			t.Fatalf("set image: %q", out)
		}
		r := k.Run("", "patch", "pod", "p", "-n", ns, "-p", `{"spec":{"restartPolicy":"Never"}}`)
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, "Forbidden: pod updates may not change fields other than") {
			t.Fatalf("spec change should be forbidden: %+v", r)
		}

		editor := filepath.Join(t.TempDir(), "editor.sh")
		if err := os.WriteFile(editor, []byte("#!/bin/sh\nsed -i 's/team: blue/team: green/' \"$1\"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		k.Env = []string{"KUBE_EDITOR=" + editor}
		out = k.MustRun("", "edit", "pod", "p", "-n", ns)
		k.Env = nil
		if !strings.Contains(out, "pod/p edited") {
			t.Fatalf("edit: %q", out)
		}
		if got := k.MustRun("", "get", "pod", "p", "-n", ns, "-o", "jsonpath={.metadata.labels.team}"); got != "green" {
			t.Fatalf("label after edit = %q", got)
		}
	})
}

func TestKubectlDescribeShowsSchedulingEvents(t *testing.T) {
	s := framework.StartServer(t)
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		k.MustRun(podYAML("lonely", "a"), "apply", "-n", ns, "-f", "-")
		var out string
		framework.Eventually(t, 20*time.Second, "FailedScheduling event in describe", func() bool {
			out = k.MustRun("", "describe", "pod", "lonely", "-n", ns)
			return strings.Contains(out, "FailedScheduling")
		})
		for _, want := range []string{"Name:", "lonely", "Namespace:", ns, "Status:", "Pending", "QoS Class:", "BestEffort",
			"Events:", "Warning", "default-scheduler", "no nodes available to schedule pods",
			"node.kubernetes.io/not-ready:NoExecute op=Exists for 300s"} {
			if !strings.Contains(out, want) {
				t.Errorf("describe lacks %q:\n%s", want, out)
			}
		}
	})
}

func TestKubectlDeleteDryRunExplainRunAndValidation(t *testing.T) {
	s := framework.StartServer(t)
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		out := k.MustRun(podYAML("dry", "a"), "apply", "--dry-run=server", "-n", ns, "-f", "-")
		if !strings.Contains(out, "pod/dry created (server dry run)") {
			t.Fatalf("dry run: %q", out)
		}
		if r := k.Run("", "get", "pod", "dry", "-n", ns); r.ExitCode == 0 {
			t.Fatalf("server dry run stored the pod")
		}

		gen := k.MustRun("", "run", "gen", "--image=nginx:alpine", "--port=80", "--labels=env=dev", "--dry-run=client", "-o", "yaml")
		if !strings.Contains(gen, "kind: Pod") || !strings.Contains(gen, "image: nginx:alpine") {
			t.Fatalf("run --dry-run=client:\n%s", gen)
		}
		k.MustRun(gen, "apply", "-n", ns, "-f", "-")

		explain := k.MustRun("", "explain", "pod.spec.containers")
		if !strings.Contains(explain, "KIND:") || !strings.Contains(explain, "Pod") || !strings.Contains(explain, "image") {
			t.Fatalf("explain:\n%s", explain)
		}

		bad := strings.Replace(podYAML("bad", "a"), "  name: bad\n", "  name: bad\n  bogus: field\n", 1)
		r := k.Run(bad, "apply", "-n", ns, "-f", "-")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, `unknown field "metadata.bogus"`) {
			t.Fatalf("strict validation should reject an unknown field: %+v", r)
		}
		r = k.Run(podYAML("Bad_Name", "a"), "apply", "-n", ns, "-f", "-")
		if r.ExitCode == 0 || !strings.Contains(r.Stderr, `metadata.name: Invalid value: "Bad_Name"`) {
			t.Fatalf("invalid name should be 422: %+v", r)
		}

		k.MustRun(podYAML("gone", "a"), "apply", "-n", ns, "-f", "-")
		out = k.MustRun("", "delete", "pod", "gone", "-n", ns, "--grace-period=5", "--wait")
		if !strings.Contains(out, `pod "gone" deleted`) {
			t.Fatalf("delete: %q", out)
		}
		if r := k.Run("", "get", "pod", "gone", "-n", ns); r.ExitCode == 0 || !strings.Contains(r.Stderr, `pods "gone" not found`) {
			t.Fatalf("pod still there after delete --wait: %+v", r)
		}
	})
}

func TestServerRestartKeepsEveryObject(t *testing.T) {
	s := framework.StartServer(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[len(framework.KubectlVersions)-1])
	k.MustRun("", "create", "namespace", "keep")
	k.MustRun(podYAML("kept", "a"), "apply", "-n", "keep", "-f", "-")
	k.MustRun("", "create", "configmap", "settings", "-n", "keep", "--from-literal=mode=prod")
	k.MustRun("", "create", "secret", "generic", "creds", "-n", "keep", "--from-literal=password=s3cret")
	before := k.MustRun("", "get", "pods,cm,secrets", "-n", "keep", "-o", "name")

	s.Stop()
	s.Start()
	after := k.MustRun("", "get", "pods,cm,secrets", "-n", "keep", "-o", "name")
	if before != after {
		t.Fatalf("objects changed across restart:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if got := k.MustRun("", "get", "cm", "settings", "-n", "keep", "-o", "jsonpath={.data.mode}"); got != "prod" {
		t.Fatalf("configmap data after restart = %q", got)
	}
}
