package defaults

import (
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Register adds a defaulting func for every type that has defaults to the
// scheme, so scheme.Default (and therefore the apiserver's decoding codecs)
// applies them. List types are registered too, as the generated upstream
// defaulters do, so a decoded list gets each item defaulted.
//
// Types with no defaults upstream (ServiceAccount, Event, events.k8s.io
// Event, Lease) need nothing. Service is deliberately left out until orca
// serves it: its defaulting depends on service-specific helpers.
func Register(scheme *runtime.Scheme) {
	// core/v1, in the order of upstream's generated RegisterDefaults.
	add(scheme, ConfigMap)
	add(scheme, listOf(func(l *corev1.ConfigMapList) []corev1.ConfigMap { return l.Items }, ConfigMap))
	add(scheme, Endpoints)
	add(scheme, listOf(func(l *corev1.EndpointsList) []corev1.Endpoints { return l.Items }, Endpoints))
	add(scheme, LimitRange)
	add(scheme, listOf(func(l *corev1.LimitRangeList) []corev1.LimitRange { return l.Items }, LimitRange))
	add(scheme, Namespace)
	add(scheme, listOf(func(l *corev1.NamespaceList) []corev1.Namespace { return l.Items }, Namespace))
	add(scheme, Node)
	add(scheme, listOf(func(l *corev1.NodeList) []corev1.Node { return l.Items }, Node))
	add(scheme, PersistentVolume)
	add(scheme, listOf(func(l *corev1.PersistentVolumeList) []corev1.PersistentVolume { return l.Items }, PersistentVolume))
	add(scheme, PersistentVolumeClaim)
	add(scheme, listOf(func(l *corev1.PersistentVolumeClaimList) []corev1.PersistentVolumeClaim { return l.Items }, PersistentVolumeClaim))
	add(scheme, Pod)
	add(scheme, listOf(func(l *corev1.PodList) []corev1.Pod { return l.Items }, Pod))
	add(scheme, PodTemplate)
	add(scheme, listOf(func(l *corev1.PodTemplateList) []corev1.PodTemplate { return l.Items }, PodTemplate))
	add(scheme, ReplicationController)
	add(scheme, listOf(func(l *corev1.ReplicationControllerList) []corev1.ReplicationController { return l.Items }, ReplicationController))
	add(scheme, ResourceQuota)
	add(scheme, listOf(func(l *corev1.ResourceQuotaList) []corev1.ResourceQuota { return l.Items }, ResourceQuota))
	add(scheme, Secret)
	add(scheme, listOf(func(l *corev1.SecretList) []corev1.Secret { return l.Items }, Secret))
	// PodLogOptions arrives as query parameters; the parameter codec defaults
	// it through the same scheme.
	add(scheme, PodLogOptions)

	// scheduling.k8s.io/v1
	add(scheme, PriorityClass)
	add(scheme, listOf(func(l *schedulingv1.PriorityClassList) []schedulingv1.PriorityClass { return l.Items }, PriorityClass))

	// storage.k8s.io/v1
	add(scheme, StorageClass)
	add(scheme, listOf(func(l *storagev1.StorageClassList) []storagev1.StorageClass { return l.Items }, StorageClass))
}

// add registers fn for the type it accepts. The zero value of T (a typed nil
// pointer) is enough for AddTypeDefaultingFunc, which only reads its type.
func add[T runtime.Object](scheme *runtime.Scheme, fn func(T)) {
	var zero T
	scheme.AddTypeDefaultingFunc(zero, func(obj interface{}) { fn(obj.(T)) })
}

// listOf turns a per-item defaulter into one for the list type L.
func listOf[L any, T any](items func(*L) []T, fn func(*T)) func(*L) {
	return func(l *L) {
		s := items(l)
		for i := range s {
			fn(&s[i])
		}
	}
}
