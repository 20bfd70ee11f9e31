// Package qos computes a pod's quality-of-service class the way the
// kubelet and the API server do: only CPU and memory count, and a pod is
// Guaranteed only when every container limits both and requests equal limits.
package qos

import (
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

var computeResources = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

// PodQOSClass returns the class of pod, preferring status.qosClass once set
// (it never changes after creation).
func PodQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	return ComputePodQOS(pod)
}

// ComputePodQOS derives the class from the pod's resources.
func ComputePodQOS(pod *corev1.Pod) corev1.PodQOSClass {
	requests := corev1.ResourceList{}
	limits := corev1.ResourceList{}
	guaranteed := true
	// Pod-level resources, when present, decide for the whole pod.
	if pod.Spec.Resources != nil && (len(pod.Spec.Resources.Requests) > 0 || len(pod.Spec.Resources.Limits) > 0) {
		guaranteed = collect(*pod.Spec.Resources, requests, limits)
	} else {
		for _, containers := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for _, c := range containers {
				if !collect(c.Resources, requests, limits) {
					guaranteed = false
				}
			}
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed && len(requests) == len(limits) {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	} else {
		guaranteed = false
	}
	if guaranteed {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

// collect adds positive CPU and memory quantities of r to the sums and reports
// whether r limits both.
func collect(r corev1.ResourceRequirements, requests, limits corev1.ResourceList) bool {
	var limited int
	for _, name := range computeResources {
		if q, ok := r.Requests[name]; ok && q.Sign() > 0 {
			add(requests, name, q)
		}
		if q, ok := r.Limits[name]; ok && q.Sign() > 0 {
			add(limits, name, q)
			limited++
		}
	}
	return limited == len(computeResources)
}

func add(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	sum := list[name]
	sum.Add(q)
	list[name] = sum
}
