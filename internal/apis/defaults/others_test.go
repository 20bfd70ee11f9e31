package defaults

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestNamespace(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{"x": "y"}}}
	Namespace(ns)
	if want := map[string]string{"x": "y", "kubernetes.io/metadata.name": "team-a"}; !reflect.DeepEqual(ns.Labels, want) {
		t.Errorf("labels = %v, want %v", ns.Labels, want)
	}
	if ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("phase = %q, want Active", ns.Status.Phase)
	}
	if ns.Spec.Finalizers != nil {
		t.Errorf("finalizers set by defaulting: %v", ns.Spec.Finalizers)
	}

	// generateName: no name yet, so no label.
	ns = &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{GenerateName: "tmp-"}}
	Namespace(ns)
	if ns.Labels != nil {
		t.Errorf("label set without a name: %v", ns.Labels)
	}

	ns = &corev1.Namespace{}
	NamespaceFinalizers(ns)
	NamespaceFinalizers(ns)
	if want := []corev1.FinalizerName{"kubernetes"}; !reflect.DeepEqual(ns.Spec.Finalizers, want) {
		t.Errorf("finalizers = %v, want %v", ns.Spec.Finalizers, want)
	}
	ns.Spec.Finalizers = []corev1.FinalizerName{"example.com/x"}
	NamespaceFinalizers(ns)
	if want := []corev1.FinalizerName{"example.com/x", "kubernetes"}; !reflect.DeepEqual(ns.Spec.Finalizers, want) {
		t.Errorf("finalizers = %v, want %v", ns.Spec.Finalizers, want)
	}
}

func TestNode(t *testing.T) {
	n := &corev1.Node{
		Spec: corev1.NodeSpec{PodCIDR: "10.244.0.0/24"},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{
			"cpu": resource.MustParse("4"), "memory": resource.MustParse("8Gi"),
		}},
	}
	Node(n)
	if !equalResourceLists(n.Status.Allocatable, n.Status.Capacity) {
		t.Errorf("allocatable = %v, want capacity %v", n.Status.Allocatable, n.Status.Capacity)
	}
	n.Status.Allocatable["cpu"] = resource.MustParse("3")
	if c := n.Status.Capacity["cpu"]; c.String() != "4" {
		t.Errorf("allocatable aliases capacity")
	}
	if want := []string{"10.244.0.0/24"}; !reflect.DeepEqual(n.Spec.PodCIDRs, want) {
		t.Errorf("podCIDRs = %v, want %v", n.Spec.PodCIDRs, want)
	}

	n = &corev1.Node{Status: corev1.NodeStatus{
		Capacity:    corev1.ResourceList{"cpu": resource.MustParse("4")},
		Allocatable: corev1.ResourceList{"cpu": resource.MustParse("3500m")},
	}}
	Node(n)
	if a := n.Status.Allocatable["cpu"]; a.String() != "3500m" {
		t.Errorf("explicit allocatable replaced: %s", a.String())
	}
}

func TestSecret(t *testing.T) {
	s := &corev1.Secret{
		Data:       map[string][]byte{"a": []byte("old"), "b": []byte("keep")},
		StringData: map[string]string{"a": "new", "c": "added"},
	}
	Secret(s)
	if s.Type != corev1.SecretTypeOpaque {
		t.Errorf("type = %q, want Opaque", s.Type)
	}
	want := map[string][]byte{"a": []byte("new"), "b": []byte("keep"), "c": []byte("added")}
	if !reflect.DeepEqual(s.Data, want) || s.StringData != nil {
		t.Errorf("data = %q stringData = %v, want %q and nil", s.Data, s.StringData, want)
	}

	s = &corev1.Secret{Type: corev1.SecretTypeTLS}
	Secret(s)
	if s.Type != corev1.SecretTypeTLS || s.Data != nil {
		t.Errorf("explicit type changed or data invented: %q %v", s.Type, s.Data)
	}
}

func TestSmallTypes(t *testing.T) {
	cm := &corev1.ConfigMap{}
	ConfigMap(cm)
	if cm.Data == nil {
		t.Errorf("configMap data nil")
	}

	pc := &schedulingv1.PriorityClass{}
	PriorityClass(pc)
	if pc.PreemptionPolicy == nil || *pc.PreemptionPolicy != corev1.PreemptLowerPriority {
		t.Errorf("preemptionPolicy = %v", pc.PreemptionPolicy)
	}
	never := corev1.PreemptNever
	pc = &schedulingv1.PriorityClass{PreemptionPolicy: &never}
	PriorityClass(pc)
	if *pc.PreemptionPolicy != never {
		t.Errorf("explicit preemptionPolicy changed")
	}

	sc := &storagev1.StorageClass{}
	StorageClass(sc)
	if sc.ReclaimPolicy == nil || *sc.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete {
		t.Errorf("reclaimPolicy = %v", sc.ReclaimPolicy)
	}
	if sc.VolumeBindingMode == nil || *sc.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Errorf("volumeBindingMode = %v", sc.VolumeBindingMode)
	}

	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{Port: 80}}}}}
	Endpoints(ep)
	if ep.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpoint port protocol = %q", ep.Subsets[0].Ports[0].Protocol)
	}

	q := resource.MustParse
	lr := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{
		Type: corev1.LimitTypeContainer,
		Max:  corev1.ResourceList{"cpu": q("2"), "memory": q("1Gi")},
		Min:  corev1.ResourceList{"cpu": q("100m"), "ephemeral-storage": q("1Gi")},
	}}}}
	LimitRange(lr)
	item := lr.Spec.Limits[0]
	if want := (corev1.ResourceList{"cpu": q("2"), "memory": q("1Gi")}); !equalResourceLists(item.Default, want) {
		t.Errorf("limitRange default = %v, want %v", item.Default, want)
	}
	if want := (corev1.ResourceList{"cpu": q("2"), "memory": q("1Gi"), "ephemeral-storage": q("1Gi")}); !equalResourceLists(item.DefaultRequest, want) {
		t.Errorf("limitRange defaultRequest = %v, want %v", item.DefaultRequest, want)
	}

	rc := &corev1.ReplicationController{Spec: corev1.ReplicationControllerSpec{
		Template: &corev1.PodTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "x"}},
			Spec:       minimalPod().Spec,
		},
	}}
	ReplicationController(rc)
	if *rc.Spec.Replicas != 1 || rc.Spec.Selector["app"] != "x" || rc.Labels["app"] != "x" {
		t.Errorf("rc defaults: replicas=%d selector=%v labels=%v", *rc.Spec.Replicas, rc.Spec.Selector, rc.Labels)
	}
	if rc.Spec.Template.Spec.RestartPolicy != corev1.RestartPolicyAlways {
		t.Errorf("rc template not defaulted")
	}

	opts := &corev1.PodLogOptions{}
	PodLogOptions(opts)
	if opts.Stream == nil || *opts.Stream != corev1.LogStreamAll {
		t.Errorf("log stream = %v", opts.Stream)
	}
}
