package scheduler

import (
	"context"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

// volumeBindingWith returns the plugin reading objs through real listers of
// a fake API, and that API.
func volumeBindingWith(t *testing.T, objs ...runtime.Object) (*VolumeBinding, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	pl := newVolumeBinding()
	pl.pollInterval = 10 * time.Millisecond
	pl.claims = factory.Core().V1().PersistentVolumeClaims().Lister()
	pl.volumes = factory.Core().V1().PersistentVolumes().Lister()
	pl.classes = factory.Storage().V1().StorageClasses().Lister()
	pl.client = client
	factory.Start(t.Context().Done())
	factory.WaitForCacheSync(t.Context().Done())
	t.Cleanup(factory.Shutdown)
	return pl, client
}

func withClaim(volume, claim string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, v1.Volume{Name: volume, VolumeSource: v1.VolumeSource{
			PersistentVolumeClaim: &v1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
	}
}

func pvc(name, class, volume string) *v1.PersistentVolumeClaim {
	c := &v1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.PersistentVolumeClaimSpec{
			StorageClassName: &class,
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Resources:        v1.VolumeResourceRequirements{Requests: v1.ResourceList{v1.ResourceStorage: resource.MustParse("1Gi")}},
			VolumeName:       volume,
		},
	}
	if volume != "" {
		c.Annotations = map[string]string{storagehelpers.AnnBindCompleted: "yes"}
		c.Status.Phase = v1.ClaimBound
	}
	return c
}

func pvOn(name, class, node string) *v1.PersistentVolume {
	pv := &v1.PersistentVolume{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.PersistentVolumeSpec{
			StorageClassName: class,
			AccessModes:      []v1.PersistentVolumeAccessMode{v1.ReadWriteOnce},
			Capacity:         v1.ResourceList{v1.ResourceStorage: resource.MustParse("2Gi")},
		},
		Status: v1.PersistentVolumeStatus{Phase: v1.VolumeAvailable},
	}
	if node != "" {
		pv.Spec.NodeAffinity = &v1.VolumeNodeAffinity{Required: &v1.NodeSelector{NodeSelectorTerms: []v1.NodeSelectorTerm{{
			MatchExpressions: []v1.NodeSelectorRequirement{{Key: "kubernetes.io/hostname", Operator: v1.NodeSelectorOpIn, Values: []string{node}}},
		}}}}
	}
	return pv
}

func storageClass(name, provisioner string, mode storagev1.VolumeBindingMode) *storagev1.StorageClass {
	return &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name}, Provisioner: provisioner, VolumeBindingMode: &mode}
}

func TestVolumeBindingPreFilterRejectsUnusableClaims(t *testing.T) {
	deleting := pvc("deleting", "local", "")
	deleting.DeletionTimestamp = &metav1.Time{Time: time.Now()}
	deleting.Finalizers = []string{"kubernetes.io/pvc-protection"}
	pl, _ := volumeBindingWith(t, deleting, pvc("immediate", "", ""),
		storageClass("local", "orca.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer))
	node := nodeInfoFor(makeNode("n1", rl("cpu", "4")))
	for _, tc := range []struct {
		claim, want string
	}{
		{"data", `persistentvolumeclaim "data" not found`},
		{"deleting", `persistentvolumeclaim "deleting" is being deleted`},
		{"immediate", "pod has unbound immediate PersistentVolumeClaims"},
	} {
		st := runFilter(t, pl, makePod("p", nil, withClaim("v", tc.claim)), node)
		wantStatus(t, st, UnschedulableAndUnresolvable, tc.want)
	}
	// Pods without claims are none of its business.
	if st := runFilter(t, pl, makePod("plain", nil), node); !st.IsSuccess() {
		t.Fatalf("pod without claims: %v", st.Message())
	}
}

func TestVolumeBindingFilterFollowsVolumeNodeAffinity(t *testing.T) {
	pl, _ := volumeBindingWith(t, pvc("data", "local", "pv-n1"), pvOn("pv-n1", "local", "n1"), pvc("dangling", "local", "gone"))
	pod := makePod("p", nil, withClaim("v", "data"))
	if st := runFilter(t, pl, pod, nodeInfoFor(makeNode("n1", rl("cpu", "4")))); !st.IsSuccess() {
		t.Fatalf("node of the volume rejected: %s", st.Message())
	}
	wantStatus(t, runFilter(t, pl, pod, nodeInfoFor(makeNode("n2", rl("cpu", "4")))), UnschedulableAndUnresolvable, ErrReasonNodeConflict)
	wantStatus(t, runFilter(t, pl, makePod("q", nil, withClaim("v", "dangling")), nodeInfoFor(makeNode("n1", rl("cpu", "4")))),
		UnschedulableAndUnresolvable, ErrReasonPVNotExist)
}

func TestVolumeBindingFilterDelayedClaims(t *testing.T) {
	pl, _ := volumeBindingWith(t,
		storageClass("local", "orca.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer),
		storageClass("static", storagehelpers.NotSupportedProvisioner, storagev1.VolumeBindingWaitForFirstConsumer),
		pvc("dyn", "local", ""), pvc("fixed", "static", ""), pvOn("disk-n1", "static", "n1"))
	n1, n2 := nodeInfoFor(makeNode("n1", rl("cpu", "4"))), nodeInfoFor(makeNode("n2", rl("cpu", "4")))
	// A provisioner can make a volume anywhere.
	for _, n := range []*NodeInfo{n1, n2} {
		if st := runFilter(t, pl, makePod("p", nil, withClaim("v", "dyn")), n); !st.IsSuccess() {
			t.Fatalf("provisionable claim on %s: %s", n.Node().Name, st.Message())
		}
	}
	// Without one, only where an Available volume is.
	if st := runFilter(t, pl, makePod("p", nil, withClaim("v", "fixed")), n1); !st.IsSuccess() {
		t.Fatalf("static volume's node: %s", st.Message())
	}
	wantStatus(t, runFilter(t, pl, makePod("p", nil, withClaim("v", "fixed")), n2), UnschedulableAndUnresolvable, ErrReasonBindConflict)
}

func TestVolumeBindingPreBindProvisionsOnTheChosenNodeAndWaits(t *testing.T) {
	pl, client := volumeBindingWith(t, storageClass("local", "orca.io/local-path", storagev1.VolumeBindingWaitForFirstConsumer), pvc("dyn", "local", ""))
	pod := makePod("p", nil, withClaim("v", "dyn"))
	ctx := context.Background()
	state := NewCycleState()
	if _, st := pl.PreFilter(ctx, state, pod, nil); !st.IsSuccess() {
		t.Fatal(st.Message())
	}
	if st := pl.Filter(ctx, state, pod, nodeInfoFor(makeNode("n1", rl("cpu", "4")))); !st.IsSuccess() {
		t.Fatal(st.Message())
	}
	done := make(chan *Status, 1)
	go func() { done <- pl.PreBind(ctx, state, pod, "n1") }()

	// Play the PV controller: once the node is selected, bind the claim.
	var claim *v1.PersistentVolumeClaim
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		c, err := client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "dyn", metav1.GetOptions{})
		if err == nil && c.Annotations[storagehelpers.AnnSelectedNode] == "n1" {
			claim = c
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if claim == nil {
		t.Fatal("selected-node annotation never set")
	}
	select {
	case st := <-done:
		t.Fatalf("PreBind returned before the claim was bound: %v", st.Message())
	case <-time.After(100 * time.Millisecond):
	}
	claim.Spec.VolumeName = "pvc-dyn"
	metav1.SetMetaDataAnnotation(&claim.ObjectMeta, storagehelpers.AnnBindCompleted, "yes")
	if _, err := client.CoreV1().PersistentVolumeClaims("default").Update(ctx, claim, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	select {
	case st := <-done:
		if !st.IsSuccess() {
			t.Fatalf("PreBind: %s", st.Message())
		}
	case <-time.After(5 * time.Second):
		t.Fatal("PreBind still waiting after the claim was bound")
	}
}

func TestVolumeBindingPreBindReservesAStaticVolume(t *testing.T) {
	pl, client := volumeBindingWith(t, storageClass("static", storagehelpers.NotSupportedProvisioner, storagev1.VolumeBindingWaitForFirstConsumer),
		pvc("fixed", "static", ""), pvOn("disk-n1", "static", "n1"))
	pl.bindTimeout = 200 * time.Millisecond
	pod := makePod("p", nil, withClaim("v", "fixed"))
	ctx := context.Background()
	state := NewCycleState()
	pl.PreFilter(ctx, state, pod, nil)
	if st := pl.Filter(ctx, state, pod, nodeInfoFor(makeNode("n1", rl("cpu", "4")))); !st.IsSuccess() {
		t.Fatal(st.Message())
	}
	// Nobody completes the binding here, so PreBind times out.
	st := pl.PreBind(ctx, state, pod, "n1")
	if st.IsSuccess() || !strings.Contains(st.Message(), "binding volumes") {
		t.Fatalf("PreBind = %v", st.Message())
	}
	pv, err := client.CoreV1().PersistentVolumes().Get(ctx, "disk-n1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ref := pv.Spec.ClaimRef; ref == nil || ref.Name != "fixed" || ref.UID != "uid-fixed" || pv.Annotations[storagehelpers.AnnBoundByController] != "yes" {
		t.Fatalf("volume not reserved for the claim: %+v %v", pv.Spec.ClaimRef, pv.Annotations)
	}
}

func TestMatchesTopology(t *testing.T) {
	terms := []v1.TopologySelectorTerm{{MatchLabelExpressions: []v1.TopologySelectorLabelRequirement{
		{Key: "zone", Values: []string{"a", "b"}}, {Key: "disk", Values: []string{"ssd"}},
	}}}
	for labels, want := range map[*map[string]string]bool{
		ptr.To(map[string]string{"zone": "a", "disk": "ssd"}): true,
		ptr.To(map[string]string{"zone": "c", "disk": "ssd"}): false,
		ptr.To(map[string]string{"zone": "a"}):                false,
	} {
		if got := matchesTopology(terms, *labels); got != want {
			t.Errorf("matchesTopology(%v) = %v, want %v", *labels, got, want)
		}
	}
}
