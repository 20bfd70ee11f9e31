package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// DefaultServiceAccountName is the service account a pod runs as when it
// names none (upstream: the ServiceAccount admission plugin).
const DefaultServiceAccountName = "default"

// Pod applies everything upstream's generated Pod defaulter does, plus the
// service account default from the ServiceAccount admission plugin.
//
// The Pod-only steps (requests from limits, pod-level resources,
// enableServiceLinks, hostNetwork host ports) run first, as in upstream's
// SetDefaults_Pod. They are deliberately not part of PodSpec: upstream keeps
// them out of pod templates so that changing them never rolls every
// Deployment (kubernetes#69445).
func Pod(p *corev1.Pod) {
	spec := &p.Spec
	requestsFromLimits(spec.InitContainers)
	requestsFromLimits(spec.Containers)
	podLevelResources(p)
	if spec.EnableServiceLinks == nil {
		v := corev1.DefaultEnableServiceLinks
		spec.EnableServiceLinks = &v
	}
	if spec.HostNetwork {
		// A host-network pod binds containerPort on the node itself, so the
		// host port is the container port unless given.
		hostPortsFromContainerPorts(spec.Containers)
		hostPortsFromContainerPorts(spec.InitContainers)
	}

	PodSpec(spec)
	podServiceAccount(p)
	podStatus(&p.Status)
}

// PodSpec applies the defaults every pod spec gets, including those embedded
// in templates (PodTemplate, ReplicationController, and later workloads):
// upstream's SetDefaults_PodSpec plus the nested volume, container and
// resource defaults the generated code walks into.
func PodSpec(spec *corev1.PodSpec) {
	if spec.DNSPolicy == "" {
		spec.DNSPolicy = corev1.DNSClusterFirst
	}
	if spec.RestartPolicy == "" {
		spec.RestartPolicy = corev1.RestartPolicyAlways
	}
	if spec.SecurityContext == nil {
		// Non-nil so clients can patch into it and so it round-trips as {}.
		spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	if spec.TerminationGracePeriodSeconds == nil {
		v := int64(corev1.DefaultTerminationGracePeriodSeconds)
		spec.TerminationGracePeriodSeconds = &v
	}
	if spec.SchedulerName == "" {
		spec.SchedulerName = corev1.DefaultSchedulerName
	}

	for i := range spec.Volumes {
		Volume(&spec.Volumes[i])
	}
	for i := range spec.InitContainers {
		Container(&spec.InitContainers[i])
	}
	for i := range spec.Containers {
		Container(&spec.Containers[i])
	}
	for i := range spec.EphemeralContainers {
		EphemeralContainer(&spec.EphemeralContainers[i])
	}
	roundResourceList(spec.Overhead)
	roundRequirements(spec.Resources)

	serviceAccountAlias(spec)
}

// PodTemplateSpec defaults a pod template embedded in another object.
func PodTemplateSpec(t *corev1.PodTemplateSpec) {
	PodSpec(&t.Spec)
}

// podServiceAccount sets the service account a pod runs as when it names
// none. Upstream this is the ServiceAccount admission plugin (create only);
// orca has no admission chain yet so it happens during defaulting, which also
// covers updates, where the field is immutable and the stored value is
// already "default" anyway.
//
// Mirror pods are left alone exactly as upstream does: the kubelet deletes a
// mirror pod whose spec no longer matches its static manifest.
func podServiceAccount(p *corev1.Pod) {
	if _, mirror := p.Annotations[corev1.MirrorPodAnnotationKey]; mirror {
		return
	}
	if p.Spec.ServiceAccountName == "" {
		p.Spec.ServiceAccountName = DefaultServiceAccountName
	}
	p.Spec.DeprecatedServiceAccount = p.Spec.ServiceAccountName
}

// requestsFromLimits copies each limit into requests when that request is
// unset, so a pod that only sets limits is scheduled for what it may use.
// Upstream does this in SetDefaults_Pod for regular and init containers only.
func requestsFromLimits(containers []corev1.Container) {
	for i := range containers {
		res := &containers[i].Resources
		if res.Limits == nil {
			continue
		}
		if res.Requests == nil {
			res.Requests = make(corev1.ResourceList, len(res.Limits))
		}
		for name, limit := range res.Limits {
			if _, ok := res.Requests[name]; !ok {
				res.Requests[name] = limit.DeepCopy()
			}
		}
	}
}

func hostPortsFromContainerPorts(containers []corev1.Container) {
	for i := range containers {
		ports := containers[i].Ports
		for j := range ports {
			if ports[j].HostPort == 0 {
				ports[j].HostPort = ports[j].ContainerPort
			}
		}
	}
}

// podStatus rounds the resource lists kubelets report, as the generated
// defaulter does for every ResourceList reachable from a Pod, and keeps the
// legacy singular IP fields in step with the lists.
func podStatus(st *corev1.PodStatus) {
	for _, statuses := range [][]corev1.ContainerStatus{
		st.InitContainerStatuses, st.ContainerStatuses, st.EphemeralContainerStatuses,
	} {
		for i := range statuses {
			roundResourceList(statuses[i].AllocatedResources)
			roundRequirements(statuses[i].Resources)
		}
	}
	roundResourceList(st.AllocatedResources)
	roundRequirements(st.Resources)
	podStatusIPs(st)
}
