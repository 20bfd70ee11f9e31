package storage

import (
	"context"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

func defaultClassPlugin(t *testing.T, objs ...runtime.Object) *DefaultClass {
	t.Helper()
	factory := informers.NewSharedInformerFactory(fake.NewClientset(objs...), 0)
	p := NewDefaultClass()
	p.SetExternalKubeInformerFactory(factory)
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	factory.Start(t.Context().Done())
	factory.WaitForCacheSync(t.Context().Done())
	t.Cleanup(factory.Shutdown)
	return p
}

func class(name string, isDefault bool, created time.Time) *storagev1.StorageClass {
	sc := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created)}, Provisioner: "x.io/y"}
	if isDefault {
		sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	}
	return sc
}

func attrs(obj runtime.Object, resource string) admission.Attributes {
	m := obj.(metav1.Object)
	return admission.NewAttributesRecord(obj, nil, corev1.SchemeGroupVersion.WithKind(""), m.GetNamespace(), m.GetName(),
		corev1.SchemeGroupVersion.WithResource(resource), "", admission.Create, &metav1.CreateOptions{}, false, nil)
}

func TestDefaultClassGoesToClaimsWithoutOne(t *testing.T) {
	now := time.Now()
	p := defaultClassPlugin(t, class("old-default", true, now.Add(-time.Hour)), class("new-default", true, now), class("plain", false, now))
	for _, tc := range []struct {
		name  string
		class *string
		ann   bool
		want  *string
	}{
		{"unset", nil, false, ptr.To("new-default")},
		{"explicitly none", ptr.To(""), false, ptr.To("")},
		{"named", ptr.To("plain"), false, ptr.To("plain")},
		{"beta annotation", nil, true, nil},
	} {
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c"}, Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: tc.class}}
		if tc.ann {
			pvc.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-class": "legacy"}
		}
		if err := p.Admit(context.Background(), attrs(pvc, "persistentvolumeclaims"), nil); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := pvc.Spec.StorageClassName; (got == nil) != (tc.want == nil) || (got != nil && *got != *tc.want) {
			t.Errorf("%s: class = %v, want %v", tc.name, ptr.Deref(got, "<nil>"), ptr.Deref(tc.want, "<nil>"))
		}
	}
}

func TestInUseProtectionAddsFinalizersOnce(t *testing.T) {
	p := NewInUseProtection()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "c", Finalizers: []string{"kubernetes.io/pvc-protection"}}}
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "v"}}
	for _, a := range []admission.Attributes{attrs(pvc, "persistentvolumeclaims"), attrs(pv, "persistentvolumes")} {
		if err := p.Admit(context.Background(), a, nil); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(pvc.Finalizers, []string{"kubernetes.io/pvc-protection"}) || !slices.Equal(pv.Finalizers, []string{"kubernetes.io/pv-protection"}) {
		t.Fatalf("finalizers: claim %v, volume %v", pvc.Finalizers, pv.Finalizers)
	}
}
