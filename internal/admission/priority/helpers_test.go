package priority

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// newPlugin wires a plugin to a fake clientset holding objs and waits for
// its informer, the way the server's factory would be started.
func newPlugin(t *testing.T, objs ...runtime.Object) *Plugin {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	p := NewPlugin()
	p.SetExternalKubeClientSet(client)
	p.SetExternalKubeInformerFactory(factory)
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	factory.Start(ctx.Done())
	t.Cleanup(factory.Shutdown)
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("informer for %v did not sync", typ)
		}
	}
	return p
}

func class(name string, value int32, globalDefault bool, policy *corev1.PreemptionPolicy) *schedulingv1.PriorityClass {
	return &schedulingv1.PriorityClass{
		ObjectMeta:       metav1.ObjectMeta{Name: name},
		Value:            value,
		GlobalDefault:    globalDefault,
		PreemptionPolicy: policy,
	}
}

func pod(mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func attrs(obj, old runtime.Object, resource, subresource string, op admission.Operation) admission.Attributes {
	var gvr = corev1.SchemeGroupVersion.WithResource(resource)
	var gvk = corev1.SchemeGroupVersion.WithKind("Pod")
	if resource == "priorityclasses" {
		gvr = schedulingv1.SchemeGroupVersion.WithResource(resource)
		gvk = schedulingv1.SchemeGroupVersion.WithKind("PriorityClass")
	}
	var ns, name string
	if m, ok := obj.(metav1.Object); ok {
		ns, name = m.GetNamespace(), m.GetName()
	}
	return admission.NewAttributesRecord(obj, old, gvk, ns, name, gvr, subresource, op, nil, false, nil)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

var (
	lower = corev1.PreemptLowerPriority
	never = corev1.PreemptNever
)
