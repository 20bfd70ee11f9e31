package defaults

import (
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	storagev1 "k8s.io/api/storage/v1"
)

// Namespace labels a namespace with its own name (so namespace selectors
// can match by name) and defaults status.phase to Active.
//
// Nameless namespaces (generateName) cannot be labelled yet; upstream's
// namespace strategy repeats the labelling once the name is generated, so
// the create strategy should call Namespace again after naming. The
// kubernetes finalizer is likewise a strategy concern: see
// NamespaceFinalizers.
func Namespace(ns *corev1.Namespace) {
	if ns.Name != "" {
		if ns.Labels == nil {
			ns.Labels = map[string]string{}
		}
		ns.Labels[corev1.LabelMetadataName] = ns.Name
	}
	if ns.Status.Phase == "" {
		ns.Status.Phase = corev1.NamespaceActive
	}
}

// NamespaceFinalizers appends the "kubernetes" finalizer to spec.finalizers
// if missing. Upstream's namespace strategy does this on create only (the
// namespace controller removes it during deletion), so it is not part of
// Namespace and is not registered; call it from PrepareForCreate.
func NamespaceFinalizers(ns *corev1.Namespace) {
	for _, f := range ns.Spec.Finalizers {
		if f == corev1.FinalizerKubernetes {
			return
		}
	}
	ns.Spec.Finalizers = append(ns.Spec.Finalizers, corev1.FinalizerKubernetes)
}

// Node defaults status.allocatable to capacity when a node reports only its
// capacity, and rounds both lists.
func Node(n *corev1.Node) {
	st := &n.Status
	if st.Allocatable == nil && st.Capacity != nil {
		// Upstream ends up aliasing the capacity map; a deep copy gives the
		// same content without later writes to one changing the other.
		st.Allocatable = st.Capacity.DeepCopy()
	}
	roundResourceList(st.Capacity)
	roundResourceList(st.Allocatable)
	nodePodCIDRs(&n.Spec)
}

// Secret defaults the type to Opaque and folds the write-only stringData
// into data (see secretStringData).
func Secret(s *corev1.Secret) {
	if s.Type == "" {
		s.Type = corev1.SecretTypeOpaque
	}
	secretStringData(s)
}

// ConfigMap makes data a non-nil map, as upstream does.
func ConfigMap(cm *corev1.ConfigMap) {
	if cm.Data == nil {
		cm.Data = map[string]string{}
	}
}

// Endpoints defaults each port's protocol to TCP.
func Endpoints(e *corev1.Endpoints) {
	for i := range e.Subsets {
		ports := e.Subsets[i].Ports
		for j := range ports {
			if ports[j].Protocol == "" {
				ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

// LimitRange fills in container defaults the LimitRanger admission will
// apply: default limit from max, default request from the default limit,
// then from min. Only container-type items get these.
func LimitRange(lr *corev1.LimitRange) {
	for i := range lr.Spec.Limits {
		item := &lr.Spec.Limits[i]
		if item.Type == corev1.LimitTypeContainer {
			if item.Default == nil {
				item.Default = corev1.ResourceList{}
			}
			if item.DefaultRequest == nil {
				item.DefaultRequest = corev1.ResourceList{}
			}
			fillMissing(item.Default, item.Max)
			fillMissing(item.DefaultRequest, item.Default)
			fillMissing(item.DefaultRequest, item.Min)
		}
		roundResourceList(item.Max)
		roundResourceList(item.Min)
		roundResourceList(item.Default)
		roundResourceList(item.DefaultRequest)
		roundResourceList(item.MaxLimitRequestRatio)
	}
}

// ResourceQuota only rounds its resource lists.
func ResourceQuota(q *corev1.ResourceQuota) {
	roundResourceList(q.Spec.Hard)
	roundResourceList(q.Status.Hard)
	roundResourceList(q.Status.Used)
}

// PriorityClass defaults preemptionPolicy to PreemptLowerPriority.
func PriorityClass(pc *schedulingv1.PriorityClass) {
	if pc.PreemptionPolicy == nil {
		p := corev1.PreemptLowerPriority
		pc.PreemptionPolicy = &p
	}
}

// StorageClass defaults reclaimPolicy to Delete (dynamically provisioned
// volumes belong to their claim) and volumeBindingMode to Immediate.
func StorageClass(sc *storagev1.StorageClass) {
	if sc.ReclaimPolicy == nil {
		p := corev1.PersistentVolumeReclaimDelete
		sc.ReclaimPolicy = &p
	}
	if sc.VolumeBindingMode == nil {
		m := storagev1.VolumeBindingImmediate
		sc.VolumeBindingMode = &m
	}
}

// fillMissing copies entries of from that dst lacks.
func fillMissing(dst, from corev1.ResourceList) {
	for name, q := range from {
		if _, ok := dst[name]; !ok {
			dst[name] = q.DeepCopy()
		}
	}
}
