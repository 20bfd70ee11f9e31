package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Upstream decodes every request into internal types and encodes v1 back out,
// and a few hand-written conversions change the object on that trip. orca
// keeps v1 throughout, so the visible effects are reproduced here, during
// defaulting, which runs at the same point of the decode.

// secretStringData merges stringData into data, stringData winning on
// conflicts, and drops it: stringData is a write-only convenience and the
// internal Secret has no such field, so a real apiserver never returns it.
func secretStringData(s *corev1.Secret) {
	if len(s.StringData) > 0 {
		if s.Data == nil {
			s.Data = make(map[string][]byte, len(s.StringData))
		}
		for k, v := range s.StringData {
			s.Data[k] = []byte(v)
		}
	}
	s.StringData = nil
}

// serviceAccountAlias keeps the deprecated spec.serviceAccount alias equal
// to spec.serviceAccountName; the new field wins when both are set, and the
// alias is only read when the new field is empty.
func serviceAccountAlias(spec *corev1.PodSpec) {
	if spec.ServiceAccountName == "" {
		spec.ServiceAccountName = spec.DeprecatedServiceAccount
	}
	spec.DeprecatedServiceAccount = spec.ServiceAccountName
}

// podStatusIPs keeps the singular podIP/hostIP equal to the first entry of
// the plural lists. Internally only the lists exist; when the singular field
// is set and disagrees with (or lacks) the list, it is authoritative, for
// older kubelets that only write the singular field.
func podStatusIPs(st *corev1.PodStatus) {
	if st.PodIP != "" && (len(st.PodIPs) == 0 || st.PodIPs[0].IP != st.PodIP) {
		st.PodIPs = []corev1.PodIP{{IP: st.PodIP}}
	}
	if len(st.PodIPs) > 0 {
		st.PodIP = st.PodIPs[0].IP
	}
	if st.HostIP != "" && (len(st.HostIPs) == 0 || st.HostIPs[0].IP != st.HostIP) {
		st.HostIPs = []corev1.HostIP{{IP: st.HostIP}}
	}
	if len(st.HostIPs) > 0 {
		st.HostIP = st.HostIPs[0].IP
	}
}

// nodePodCIDRs is the same rule for a node's podCIDR/podCIDRs.
func nodePodCIDRs(spec *corev1.NodeSpec) {
	if spec.PodCIDR != "" && (len(spec.PodCIDRs) == 0 || spec.PodCIDRs[0] != spec.PodCIDR) {
		spec.PodCIDRs = []string{spec.PodCIDR}
	}
	if len(spec.PodCIDRs) > 0 {
		spec.PodCIDR = spec.PodCIDRs[0]
	}
}
