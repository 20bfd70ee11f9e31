package persistentvolume

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

func volume(name, class, size string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolume {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	return &corev1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("pv-" + name)},
		Spec: corev1.PersistentVolumeSpec{
			StorageClassName:              class,
			Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			AccessModes:                   modes,
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
			VolumeMode:                    ptr.To(corev1.PersistentVolumeFilesystem),
			PersistentVolumeSource:        corev1.PersistentVolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/srv/" + name}},
		},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeAvailable},
	}
}

func claim(name string, class *string, size string, modes ...corev1.PersistentVolumeAccessMode) *corev1.PersistentVolumeClaim {
	if len(modes) == 0 {
		modes = []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	}
	return &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("pvc-" + name)},
		Spec: corev1.PersistentVolumeClaimSpec{
			StorageClassName: class,
			AccessModes:      modes,
			Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
			VolumeMode:       ptr.To(corev1.PersistentVolumeFilesystem),
		},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
}

func class(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name},
		Provisioner:       provisioner,
		ReclaimPolicy:     ptr.To(corev1.PersistentVolumeReclaimDelete),
		VolumeBindingMode: &mode,
	}
}

type harness struct {
	t        *testing.T
	client   *fake.Clientset
	recorder *record.FakeRecorder
	events   []string
}

// start runs a controller against a fake API holding objs.
func start(t *testing.T, objs ...runtime.Object) *harness {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	recorder := record.NewFakeRecorder(1000)
	c := New(Config{Client: client, Factory: factory, Recorder: recorder, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; factory.Shutdown() })
	return &harness{t: t, client: client, recorder: recorder}
}

func (h *harness) claim(name string) *corev1.PersistentVolumeClaim {
	pvc, err := h.client.CoreV1().PersistentVolumeClaims("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return pvc
}

func (h *harness) volume(name string) *corev1.PersistentVolume {
	pv, err := h.client.CoreV1().PersistentVolumes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return pv
}

func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	h.t.Fatalf("timed out waiting for %s; events: %q", what, h.drain())
}

// drain collects the events recorded so far.
func (h *harness) drain() []string {
	for {
		select {
		case e := <-h.recorder.Events:
			h.events = append(h.events, e)
		default:
			return h.events
		}
	}
}

func (h *harness) sawEvent(substr string) bool {
	for _, e := range h.drain() {
		if strings.Contains(e, substr) {
			return true
		}
	}
	return false
}

func TestBindsTheSmallestMatchingVolumeBothWays(t *testing.T) {
	h := start(t,
		volume("big", "manual", "5Gi"), volume("fits", "manual", "1Gi"), volume("tiny", "manual", "100Mi"),
		volume("other-class", "fast", "1Gi"),
		claim("data", ptr.To("manual"), "500Mi"),
	)
	h.eventually("claim bound", func() bool {
		pvc := h.claim("data")
		return pvc.Status.Phase == corev1.ClaimBound
	})
	pvc := h.claim("data")
	if pvc.Spec.VolumeName != "fits" {
		t.Fatalf("bound to %q, want fits", pvc.Spec.VolumeName)
	}
	if got := pvc.Status.Capacity[corev1.ResourceStorage]; got.String() != "1Gi" || len(pvc.Status.AccessModes) != 1 {
		t.Fatalf("claim status = %+v", pvc.Status)
	}
	for _, a := range []string{storagehelpers.AnnBindCompleted, storagehelpers.AnnBoundByController} {
		if !metav1.HasAnnotation(pvc.ObjectMeta, a) {
			t.Errorf("claim lacks annotation %s: %v", a, pvc.Annotations)
		}
	}
	h.eventually("volume bound", func() bool { return h.volume("fits").Status.Phase == corev1.VolumeBound })
	pv := h.volume("fits")
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != "data" || ref.Namespace != "default" || ref.UID != pvc.UID {
		t.Fatalf("claimRef = %+v", pv.Spec.ClaimRef)
	}
	if h.volume("big").Spec.ClaimRef != nil {
		t.Fatal("a second volume was taken")
	}
}

func TestFindBestMatchPrefersFewerAccessModes(t *testing.T) {
	narrow := volume("rwo", "", "10Gi", corev1.ReadWriteOnce)
	wide := volume("rwo-rwx", "", "1Gi", corev1.ReadWriteMany, corev1.ReadWriteOnce)
	wrong := volume("rox", "", "1Gi", corev1.ReadOnlyMany)
	got, err := findBestMatch(claim("c", ptr.To(""), "1Gi"), []*corev1.PersistentVolume{wide, narrow, wrong}, false)
	if err != nil || got == nil || got.Name != "rwo" {
		t.Fatalf("match = %v, %v; want rwo", got, err)
	}
	got, _ = findBestMatch(claim("c", ptr.To(""), "1Gi", corev1.ReadWriteMany), []*corev1.PersistentVolume{wide, narrow, wrong}, false)
	if got == nil || got.Name != "rwo-rwx" {
		t.Fatalf("RWX claim matched %v", got)
	}
	pvc := claim("c", ptr.To(""), "1Gi")
	pvc.Spec.Selector = &metav1.LabelSelector{MatchLabels: map[string]string{"disk": "ssd"}}
	if got, _ := findBestMatch(pvc, []*corev1.PersistentVolume{narrow, wide}, false); got != nil {
		t.Fatalf("selector ignored: %v", got.Name)
	}
	// Delayed binding takes only a volume pre-bound to the claim.
	if got, _ := findBestMatch(claim("c", ptr.To(""), "1Gi"), []*corev1.PersistentVolume{narrow}, true); got != nil {
		t.Fatalf("delayed claim bound to %v", got.Name)
	}
}

func TestWaitForFirstConsumerThenExternalProvisioning(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
	}
	h := start(t, class("local", "orca.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer), claim("data", ptr.To("local"), "1Gi"))
	h.eventually("WaitForFirstConsumer", func() bool {
		return h.sawEvent("Normal WaitForFirstConsumer waiting for first consumer to be created before binding")
	})
	ctx := context.Background()
	if _, err := h.client.CoreV1().Pods("default").Create(ctx, pod, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The scheduler picks a node.
	pvc := h.claim("data")
	metav1.SetMetaDataAnnotation(&pvc.ObjectMeta, storagehelpers.AnnSelectedNode, "node-1")
	if _, err := h.client.CoreV1().PersistentVolumeClaims("default").Update(ctx, pvc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually("claim handed to its provisioner", func() bool {
		return h.claim("data").Annotations[storagehelpers.AnnStorageProvisioner] == "orca.io/local-path" &&
			h.sawEvent("Normal ExternalProvisioning Waiting for a volume to be created either by the external provisioner 'orca.io/local-path'")
	})
	// The provisioner saves a volume pre-bound to the claim.
	pv := volume("pvc-1", "local", "1Gi")
	pv.Status.Phase = ""
	pv.Spec.ClaimRef = &corev1.ObjectReference{Kind: "PersistentVolumeClaim", Namespace: "default", Name: "data", UID: pvc.UID}
	pv.Annotations = map[string]string{storagehelpers.AnnDynamicallyProvisioned: "orca.io/local-path"}
	if _, err := h.client.CoreV1().PersistentVolumes().Create(ctx, pv, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually("claim bound to the provisioned volume", func() bool {
		c := h.claim("data")
		return c.Status.Phase == corev1.ClaimBound && c.Spec.VolumeName == "pvc-1" && h.volume("pvc-1").Status.Phase == corev1.VolumeBound
	})
}

func TestWaitForPodScheduledNamesThePods(t *testing.T) {
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db-0"},
		Spec: corev1.PodSpec{Volumes: []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
	}
	h := start(t, class("local", "orca.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer), claim("data", ptr.To("local"), "1Gi"), pod)
	h.eventually("WaitForPodScheduled", func() bool { return h.sawEvent("Normal WaitForPodScheduled waiting for pod db-0 to be scheduled") })
}

func TestClaimDeletionAppliesTheReclaimPolicy(t *testing.T) {
	retained, deleted, provisioned := volume("retained", "manual", "1Gi"), volume("deleted", "manual", "1Gi"), volume("provisioned", "manual", "1Gi")
	deleted.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
	provisioned.Spec.PersistentVolumeReclaimPolicy = corev1.PersistentVolumeReclaimDelete
	provisioned.Annotations = map[string]string{storagehelpers.AnnDynamicallyProvisioned: "orca.io/local-path"}
	for _, pv := range []*corev1.PersistentVolume{retained, deleted, provisioned} {
		pv.Spec.ClaimRef = &corev1.ObjectReference{Namespace: "default", Name: "gone-" + pv.Name, UID: "old-uid"}
		pv.Status.Phase = corev1.VolumeBound
	}
	h := start(t, retained, deleted, provisioned)
	h.eventually("volumes released", func() bool {
		return h.volume("retained").Status.Phase == corev1.VolumeReleased &&
			h.volume("provisioned").Status.Phase == corev1.VolumeReleased &&
			h.volume("deleted").Status.Phase == corev1.VolumeFailed
	})
	if msg := h.volume("deleted").Status.Message; msg != `error getting deleter volume plugin for volume "deleted": no deletable volume plugin matched` {
		t.Fatalf("failed volume message = %q", msg)
	}
	if !h.sawEvent("Warning VolumeFailedDelete") {
		t.Fatalf("no VolumeFailedDelete event: %q", h.events)
	}
}

func TestMissingClassAndRetroactiveDefault(t *testing.T) {
	h := start(t, claim("classless", nil, "1Gi"), claim("missing", ptr.To("nope"), "1Gi"))
	h.eventually("ProvisioningFailed", func() bool {
		return h.sawEvent(`Warning ProvisioningFailed storageclass.storage.k8s.io "nope" not found`)
	})
	def := class("standard", "example.com/disk", storagev1.VolumeBindingImmediate)
	def.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	if _, err := h.client.StorageV1().StorageClasses().Create(context.Background(), def, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually("default class assigned", func() bool {
		sc := h.claim("classless").Spec.StorageClassName
		return sc != nil && *sc == "standard"
	})
}

func TestPreBoundClaimToAVolumeThatDoesNotFit(t *testing.T) {
	pvc := claim("wants-small", ptr.To("manual"), "5Gi")
	pvc.Spec.VolumeName = "small"
	h := start(t, volume("small", "manual", "1Gi"), pvc)
	h.eventually("FailedBinding", func() bool {
		return h.sawEvent(`Warning FailedBinding Cannot bind to requested volume "small": requested PV is too small`)
	})
	if h.volume("small").Spec.ClaimRef != nil {
		t.Fatal("volume taken by a claim it does not fit")
	}
}
