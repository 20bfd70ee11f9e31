package defaults

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
)

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, schedulingv1.AddToScheme, storagev1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	Register(scheme)
	return scheme
}

func TestRegisterDefaultsPod(t *testing.T) {
	scheme := newScheme(t)
	p := minimalPod()
	scheme.Default(p)
	if p.Spec.RestartPolicy != corev1.RestartPolicyAlways || p.Spec.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("scheme.Default did not default the pod: %+v", p.Spec)
	}

	list := &corev1.PodList{Items: []corev1.Pod{*minimalPod(), *minimalPod()}}
	scheme.Default(list)
	for i, item := range list.Items {
		if item.Spec.SchedulerName != corev1.DefaultSchedulerName {
			t.Errorf("list item %d not defaulted", i)
		}
	}
}

// Every registered type must be defaulted through the scheme; each object
// below has at least one field its defaulter sets.
func TestRegisterCoversTypes(t *testing.T) {
	scheme := newScheme(t)
	tests := []struct {
		obj       runtime.Object
		defaulted func() bool
	}{}
	add := func(obj runtime.Object, defaulted func() bool) {
		tests = append(tests, struct {
			obj       runtime.Object
			defaulted func() bool
		}{obj, defaulted})
	}

	cm := &corev1.ConfigMap{}
	add(cm, func() bool { return cm.Data != nil })
	cml := &corev1.ConfigMapList{Items: []corev1.ConfigMap{{}}}
	add(cml, func() bool { return cml.Items[0].Data != nil })
	ns := &corev1.Namespace{}
	add(ns, func() bool { return ns.Status.Phase == corev1.NamespaceActive })
	nsl := &corev1.NamespaceList{Items: []corev1.Namespace{{}}}
	add(nsl, func() bool { return nsl.Items[0].Status.Phase == corev1.NamespaceActive })
	node := &corev1.Node{Status: corev1.NodeStatus{Capacity: corev1.ResourceList{}}}
	add(node, func() bool { return node.Status.Allocatable != nil })
	pv := &corev1.PersistentVolume{}
	add(pv, func() bool { return pv.Status.Phase == corev1.VolumePending })
	pvc := &corev1.PersistentVolumeClaim{}
	add(pvc, func() bool { return pvc.Status.Phase == corev1.ClaimPending })
	pvcl := &corev1.PersistentVolumeClaimList{Items: []corev1.PersistentVolumeClaim{{}}}
	add(pvcl, func() bool { return pvcl.Items[0].Status.Phase == corev1.ClaimPending })
	pt := &corev1.PodTemplate{}
	add(pt, func() bool { return pt.Template.Spec.RestartPolicy != "" })
	rc := &corev1.ReplicationController{}
	add(rc, func() bool { return rc.Spec.Replicas != nil })
	sec := &corev1.Secret{}
	add(sec, func() bool { return sec.Type == corev1.SecretTypeOpaque })
	secl := &corev1.SecretList{Items: []corev1.Secret{{}}}
	add(secl, func() bool { return secl.Items[0].Type == corev1.SecretTypeOpaque })
	ep := &corev1.Endpoints{Subsets: []corev1.EndpointSubset{{Ports: []corev1.EndpointPort{{}}}}}
	add(ep, func() bool { return ep.Subsets[0].Ports[0].Protocol == corev1.ProtocolTCP })
	lr := &corev1.LimitRange{Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer}}}}
	add(lr, func() bool { return lr.Spec.Limits[0].Default != nil })
	logOpts := &corev1.PodLogOptions{}
	add(logOpts, func() bool { return logOpts.Stream != nil })
	pc := &schedulingv1.PriorityClass{}
	add(pc, func() bool { return pc.PreemptionPolicy != nil })
	sc := &storagev1.StorageClass{}
	add(sc, func() bool { return sc.ReclaimPolicy != nil })
	scl := &storagev1.StorageClassList{Items: []storagev1.StorageClass{{}}}
	add(scl, func() bool { return scl.Items[0].ReclaimPolicy != nil })

	for _, tt := range tests {
		scheme.Default(tt.obj)
		if !tt.defaulted() {
			t.Errorf("%T not defaulted through the scheme", tt.obj)
		}
	}
}

// The apiserver decodes request bodies with a defaulting codec; this is the
// path Register exists for.
func TestDecodeAppliesDefaults(t *testing.T) {
	codecs := serializer.NewCodecFactory(newScheme(t))
	body := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"x"},
		"spec":{"containers":[{"name":"c","image":"nginx:1.27","resources":{"limits":{"cpu":"1"}}}]}}`)
	obj, _, err := codecs.UniversalDecoder(corev1.SchemeGroupVersion).Decode(body, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	p := obj.(*corev1.Pod)
	c := p.Spec.Containers[0]
	if c.ImagePullPolicy != corev1.PullIfNotPresent || c.Resources.Requests.Cpu().String() != "1" ||
		p.Spec.ServiceAccountName != "default" || p.Spec.EnableServiceLinks == nil {
		t.Errorf("decoded pod not defaulted: %+v", p.Spec)
	}

	body = []byte(`{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"stringData":{"k":"v"}}`)
	obj, _, err = codecs.UniversalDecoder(corev1.SchemeGroupVersion).Decode(body, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := obj.(*corev1.Secret)
	if string(s.Data["k"]) != "v" || s.StringData != nil || s.Type != corev1.SecretTypeOpaque {
		t.Errorf("decoded secret not defaulted: %+v", s)
	}
}
