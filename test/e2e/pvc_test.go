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
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

func claimPod(name, claim, command string, readOnly bool) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Pod
metadata:
  name: %s
spec:
  terminationGracePeriodSeconds: 1
  volumes:
  - name: data
    persistentVolumeClaim:
      claimName: %s
      readOnly: %t
  containers:
  - name: app
    image: busybox
    command: ["sh", "-c", %q]
    volumeMounts:
    - name: data
      mountPath: /data
`, name, claim, readOnly, command)
}

func getClaim(t *testing.T, s *framework.Server, name string) *corev1.PersistentVolumeClaim {
	t.Helper()
	pvc, err := s.Client().CoreV1().PersistentVolumeClaims("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get claim %s: %v", name, err)
	}
	return pvc
}

func deletePodAndWait(t *testing.T, s *framework.Server, name string) {
	t.Helper()
	pods := s.Client().CoreV1().Pods("default")
	if err := pods.Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		t.Fatalf("delete pod %s: %v", name, err)
	}
	framework.Eventually(t, 60*time.Second, "pod "+name+" gone", func() bool {
		_, err := pods.Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}

// The seed's database flow without a database: a claim with no class gets
// orca-local, waits for its first pod, is provisioned on the pod's node,
// keeps its data across pods and goes away with its claim.
func TestPersistentVolumeClaimKeepsDataAcrossPodsAndGoesWithTheClaim(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	old := framework.NewKubectl(t, s, framework.KubectlVersions[0])
	ctx := context.Background()

	for _, kc := range []*framework.Kubectl{k, old} {
		sc := kc.MustRun("", "get", "sc")
		if !regexp.MustCompile(`(?m)^NAME\s+PROVISIONER\s+RECLAIMPOLICY\s+VOLUMEBINDINGMODE\s+ALLOWVOLUMEEXPANSION\s+AGE$`).MatchString(sc) ||
			!regexp.MustCompile(`(?m)^orca-local \(default\)\s+orca\.io/local-path\s+Delete\s+WaitForFirstConsumer\s+false\s+\S+$`).MatchString(sc) {
			t.Fatalf("kubectl %s get sc:\n%s", kc.Version, sc)
		}
	}

	k.MustRun(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 64Mi
`, "apply", "-f", "-")
	for _, kc := range []*framework.Kubectl{k, old} {
		table := kc.MustRun("", "get", "pvc")
		if !regexp.MustCompile(`(?m)^NAME\s+STATUS\s+VOLUME\s+CAPACITY\s+ACCESS MODES\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+AGE$`).MatchString(table) ||
			!regexp.MustCompile(`(?m)^data\s+Pending\s+orca-local\s+<unset>\s+\S+$`).MatchString(table) {
			t.Fatalf("kubectl %s get pvc before any pod:\n%s", kc.Version, table)
		}
	}
	framework.Eventually(t, 20*time.Second, "WaitForFirstConsumer event", func() bool {
		return strings.Contains(k.Run("", "describe", "pvc", "data").Stdout, "waiting for first consumer to be created before binding")
	})

	k.MustRun(claimPod("writer", "data", "echo hello from the first pod > /data/greeting; sleep 3600", false), "apply", "-f", "-")
	waitForPod(t, s, "default", "writer", 90*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	pvc := getClaim(t, s, "data")
	volume := "pvc-" + string(pvc.UID)
	if pvc.Status.Phase != corev1.ClaimBound || pvc.Spec.VolumeName != volume {
		t.Fatalf("claim after its pod started: phase %s, volume %q, want Bound to %s", pvc.Status.Phase, pvc.Spec.VolumeName, volume)
	}
	table := k.MustRun("", "get", "pvc", "data")
	if !regexp.MustCompile(`(?m)^data\s+Bound\s+` + volume + `\s+64Mi\s+RWO\s+orca-local\s+<unset>\s+\S+$`).MatchString(table) {
		t.Fatalf("get pvc once bound:\n%s", table)
	}
	pvTable := k.MustRun("", "get", "pv")
	if !regexp.MustCompile(`(?m)^` + volume + `\s+64Mi\s+RWO\s+Delete\s+Bound\s+default/data\s+orca-local\s+<unset>\s+\S+$`).MatchString(pvTable) {
		t.Fatalf("get pv:\n%s", pvTable)
	}
	pv, err := s.Client().CoreV1().PersistentVolumes().Get(ctx, volume, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(s.DataDir, "storage", volume)
	if pv.Spec.HostPath == nil || pv.Spec.HostPath.Path != dir || pv.Annotations["pv.kubernetes.io/provisioned-by"] != "orca.io/local-path" {
		t.Fatalf("provisioned volume: %+v %v", pv.Spec.PersistentVolumeSource, pv.Annotations)
	}
	framework.Eventually(t, 10*time.Second, "the pod's file on the node", func() bool {
		got, err := readFileErr(filepath.Join(dir, "greeting"))
		return err == nil && got == "hello from the first pod\n"
	})
	describe := k.MustRun("", "describe", "pvc", "data")
	for _, want := range []string{"ProvisioningSucceeded", "Successfully provisioned volume " + volume, "Used By:", "writer"} {
		if !strings.Contains(describe, want) {
			t.Errorf("describe pvc lacks %q:\n%s", want, describe)
		}
	}

	// A new pod on the same claim finds the data; mounted read-only, it
	// cannot change it.
	deletePodAndWait(t, s, "writer")
	k.MustRun(claimPod("reader", "data", "cat /data/greeting; touch /data/new 2>/dev/null && echo writable || echo read-only; sleep 3600", true), "apply", "-f", "-")
	waitForPod(t, s, "default", "reader", 60*time.Second, "Running", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
	framework.Eventually(t, 15*time.Second, "the second pod reads the first pod's file", func() bool {
		logs := k.Run("", "logs", "reader").Stdout
		return strings.Contains(logs, "hello from the first pod") && strings.Contains(logs, "read-only")
	})

	// Deleting a claim in use only marks it Terminating.
	k.MustRun("", "delete", "pvc", "data", "--wait=false")
	time.Sleep(2 * time.Second)
	if table := k.MustRun("", "get", "pvc", "data"); !regexp.MustCompile(`(?m)^data\s+Terminating\s+` + volume).MatchString(table) {
		t.Fatalf("claim in use after delete:\n%s", table)
	}
	deletePodAndWait(t, s, "reader")
	framework.Eventually(t, 30*time.Second, "claim, volume and directory gone", func() bool {
		_, errClaim := s.Client().CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		_, errVolume := s.Client().CoreV1().PersistentVolumes().Get(ctx, volume, metav1.GetOptions{})
		_, errDir := os.Stat(dir)
		return apierrors.IsNotFound(errClaim) && apierrors.IsNotFound(errVolume) && os.IsNotExist(errDir)
	})
}

// A hand-made Retain volume binds to a claim of its class by capacity (the
// smallest that fits) and outlives the claim as Released.
func TestManualRetainVolumeBindsBySizeAndIsReleased(t *testing.T) {
	s := framework.StartServer(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	dir := t.TempDir()
	k.MustRun(fmt.Sprintf(`apiVersion: v1
kind: PersistentVolume
metadata:
  name: small
spec:
  storageClassName: manual
  capacity: {storage: 100Mi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: %[1]s/small}
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: medium
spec:
  storageClassName: manual
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: %[1]s/medium}
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: large
spec:
  storageClassName: manual
  capacity: {storage: 5Gi}
  accessModes: [ReadWriteOnce]
  hostPath: {path: %[1]s/large}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: manual-claim
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 500Mi}
`, dir), "apply", "-f", "-")
	framework.Eventually(t, 20*time.Second, "claim bound", func() bool {
		return getClaim(t, s, "manual-claim").Status.Phase == corev1.ClaimBound
	})
	if got := getClaim(t, s, "manual-claim").Spec.VolumeName; got != "medium" {
		t.Fatalf("claim bound to %q, want the smallest fit medium", got)
	}
	table := k.MustRun("", "get", "pv")
	for _, want := range []string{
		`(?m)^NAME\s+CAPACITY\s+ACCESS MODES\s+RECLAIM POLICY\s+STATUS\s+CLAIM\s+STORAGECLASS\s+VOLUMEATTRIBUTESCLASS\s+REASON\s+AGE$`,
		`(?m)^medium\s+1Gi\s+RWO\s+Retain\s+Bound\s+default/manual-claim\s+manual\s+<unset>\s+\S+$`,
		`(?m)^small\s+100Mi\s+RWO\s+Retain\s+Available\s+manual\s+<unset>\s+\S+$`,
	} {
		if !regexp.MustCompile(want).MatchString(table) {
			t.Fatalf("get pv lacks %s:\n%s", want, table)
		}
	}

	k.MustRun("", "delete", "pvc", "manual-claim")
	framework.Eventually(t, 20*time.Second, "volume Released", func() bool {
		return regexp.MustCompile(`(?m)^medium\s+1Gi\s+RWO\s+Retain\s+Released\s+default/manual-claim\s+`).MatchString(k.MustRun("", "get", "pv", "medium"))
	})
	time.Sleep(2 * time.Second)
	if r := k.Run("", "get", "pv", "medium"); r.ExitCode != 0 || !strings.Contains(r.Stdout, "Released") {
		t.Fatalf("retained volume: %+v", r)
	}

	// Kubernetes' validation, as kubectl shows it.
	r := k.Run(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: invalid
spec:
  resources: {}
`, "apply", "-f", "-")
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "spec.accessModes: Required value: at least 1 access mode is required") ||
		!strings.Contains(r.Stderr, "spec.resources[storage]: Required value") {
		t.Fatalf("invalid claim: %+v", r)
	}
	k.MustRun(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: fixed
spec:
  storageClassName: manual
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 10Gi}
`, "apply", "-f", "-")
	r = k.Run("", "patch", "pvc", "fixed", "--type=merge", "-p", `{"spec":{"accessModes":["ReadWriteMany"]}}`)
	if r.ExitCode == 0 || !strings.Contains(r.Stderr, "spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims") {
		t.Fatalf("changing a claim's spec: %+v", r)
	}
}

// The scheduler explains pods whose claims cannot be used yet, with
// kube-scheduler's messages, and schedules them once they can.
func TestPodWithMissingOrUnboundClaimStaysPending(t *testing.T) {
	s := startNode(t)
	k := framework.NewKubectl(t, s, framework.KubectlVersions[1])
	k.MustRun(claimPod("orphan", "nothere", "sleep 3600", false), "apply", "-f", "-")
	k.MustRun(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: unclassed
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 1Gi}
`, "apply", "-f", "-")
	k.MustRun(claimPod("immediate", "unclassed", "sleep 3600", false), "apply", "-f", "-")

	scheduledMessage := func(p *corev1.Pod) string {
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.PodScheduled {
				return c.Message
			}
		}
		return ""
	}
	for pod, want := range map[string]string{
		"orphan":    `0/1 nodes are available: persistentvolumeclaim "nothere" not found. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`,
		"immediate": `0/1 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.`,
	} {
		p := waitForPod(t, s, "default", pod, 30*time.Second, "unschedulable", func(p *corev1.Pod) bool { return scheduledMessage(p) != "" })
		if got := scheduledMessage(p); got != want || p.Status.Phase != corev1.PodPending {
			t.Errorf("pod %s: %s, PodScheduled message %q, want %q", pod, p.Status.Phase, got, want)
		}
	}

	// Once the claim exists the pod goes through.
	k.MustRun(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: nothere
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests: {storage: 16Mi}
`, "apply", "-f", "-")
	waitForPod(t, s, "default", "orphan", 90*time.Second, "Running once its claim exists", func(p *corev1.Pod) bool { return p.Status.Phase == corev1.PodRunning })
}
