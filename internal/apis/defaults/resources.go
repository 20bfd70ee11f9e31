package defaults

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// roundResourceList rounds every quantity up to milli precision, as upstream
// does for every ResourceList it decodes (kubernetes#18538): the API cannot
// represent finer values, so "1.0001m" is stored as "2m" rather than
// rejected.
func roundResourceList(rl corev1.ResourceList) {
	for name, q := range rl {
		q.RoundUp(resource.Milli)
		rl[name] = q
	}
}

func roundRequirements(r *corev1.ResourceRequirements) {
	if r != nil {
		roundResourceList(r.Limits)
		roundResourceList(r.Requests)
	}
}

// podLevelResources fills in pod-level requests/limits (spec.resources) the
// way upstream's SetDefaults_Pod does with the PodLevelResources feature,
// which is on by default in the release we track. It only acts when the pod
// already sets some pod-level resources, and must run after container
// requests were defaulted from limits.
//
// Upstream master also defaults pod-level limits from container limits
// (defaultPodLimits); that needs a helper our component-helpers version does
// not have, which suggests it is newer than v0.37, so it is not done here.
func podLevelResources(p *corev1.Pod) {
	hugePagePodLimits(p)
	podRequests(p)
}

// hugePagePodLimits defaults pod-level hugepage limits to the sum of the
// containers' hugepage limits, unless a pod-level request exists for that
// size (the request then stands on its own).
func hugePagePodLimits(p *corev1.Pod) {
	res := p.Spec.Resources
	if res == nil || (len(res.Limits) == 0 && len(res.Requests) == 0) {
		return
	}
	limits := res.Limits
	if limits == nil {
		limits = corev1.ResourceList{}
	}
	for name, sum := range resourcehelper.AggregateContainerLimits(p, resourcehelper.PodResourcesOptions{}) {
		if !resourcehelper.IsSupportedPodLevelResource(name) || !isHugePages(name) {
			continue
		}
		if _, ok := res.Requests[name]; ok {
			continue
		}
		if _, ok := limits[name]; !ok {
			limits[name] = sum.DeepCopy()
		}
	}
	if len(limits) > 0 {
		res.Limits = limits
	}
}

// podRequests defaults pod-level requests when pod-level limits are set:
// first from the containers' aggregate requests (for resources that may be
// overcommitted, i.e. not hugepages), then from the pod-level limits.
func podRequests(p *corev1.Pod) {
	res := p.Spec.Resources
	if res == nil || len(res.Limits) == 0 {
		return
	}
	requests := res.Requests
	if requests == nil {
		requests = corev1.ResourceList{}
	}
	for name, sum := range resourcehelper.AggregateContainerRequests(p, resourcehelper.PodResourcesOptions{}) {
		if _, ok := requests[name]; ok {
			continue
		}
		if resourcehelper.IsSupportedPodLevelResource(name) && overcommitAllowed(name) {
			requests[name] = sum.DeepCopy()
		}
	}
	for name, limit := range res.Limits {
		if _, ok := requests[name]; ok {
			continue
		}
		if resourcehelper.IsSupportedPodLevelResource(name) {
			requests[name] = limit.DeepCopy()
		}
	}
	if len(requests) > 0 {
		res.Requests = requests
	}
}

func isHugePages(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// overcommitAllowed matches upstream's helper.IsOvercommitAllowed: native
// resources (unprefixed or under kubernetes.io/) except hugepages.
func overcommitAllowed(name corev1.ResourceName) bool {
	s := string(name)
	native := !strings.Contains(s, "/") || strings.Contains(s, corev1.ResourceDefaultNamespacePrefix)
	return native && !isHugePages(name)
}
