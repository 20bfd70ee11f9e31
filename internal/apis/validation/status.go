package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	netutils "k8s.io/utils/net"
)

// ValidatePodStatusUpdate checks a pods/status update, normally from the
// kubelet: metadata rules, conditions, IPs, and transitions that would make
// the history of the pod inconsistent.
func ValidatePodStatusUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	metaPath := field.NewPath("metadata")
	allErrs := validateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta, metaPath)
	allErrs = append(allErrs, validatePodSpecificAnnotationChanges(newPod, oldPod, metaPath.Child("annotations"))...)
	allErrs = append(allErrs, validatePodSpecificAnnotations(newPod.Annotations, &newPod.Spec, metaPath.Child("annotations"))...)
	// Upstream reports conditions under metadata; kept for fidelity.
	allErrs = append(allErrs, validatePodConditions(newPod.Status.Conditions, metaPath.Child("conditions"))...)

	fldPath := field.NewPath("status")
	if newPod.Spec.NodeName != oldPod.Spec.NodeName {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("nodeName"), "may not be changed directly"))
	}
	if newPod.Status.NominatedNodeName != oldPod.Status.NominatedNodeName && len(newPod.Status.NominatedNodeName) > 0 {
		allErrs = append(allErrs, nameErrors(validateNodeName, newPod.Status.NominatedNodeName, false, fldPath.Child("nominatedNodeName"))...)
	}
	// QoS is computed at creation and drives cgroup placement.
	allErrs = append(allErrs, validateImmutableField(newPod.Status.QOSClass, oldPod.Status.QOSClass, fldPath.Child("qosClass"))...)
	allErrs = append(allErrs, validatePodPhaseTransition(newPod.Status.Phase, oldPod.Status.Phase, fldPath.Child("phase"))...)

	// Terminated containers of a pod that will not restart them stay so.
	allErrs = append(allErrs, validateContainerStateTransition(newPod.Status.ContainerStatuses, oldPod.Status.ContainerStatuses, fldPath.Child("containerStatuses"), oldPod.Spec.RestartPolicy, nil)...)
	allErrs = append(allErrs, validateContainerStateTransition(newPod.Status.InitContainerStatuses, oldPod.Status.InitContainerStatuses, fldPath.Child("initContainerStatuses"), oldPod.Spec.RestartPolicy, oldPod.Spec.InitContainers)...)
	// The kubelet never restarts ephemeral containers.
	allErrs = append(allErrs, validateContainerStateTransition(newPod.Status.EphemeralContainerStatuses, oldPod.Status.EphemeralContainerStatuses, fldPath.Child("ephemeralContainerStatuses"), corev1.RestartPolicyNever, nil)...)
	allErrs = append(allErrs, validatePodResourceClaimStatuses(newPod.Status.ResourceClaimStatuses, newPod.Spec.ResourceClaims, fldPath.Child("resourceClaimStatuses"))...)
	allErrs = append(allErrs, validateStatusIPs(newPod.Status.PodIPs, fldPath.Child("podIPs"))...)
	if len(newPod.Status.HostIPs) > 0 {
		if newPod.Status.HostIP != newPod.Status.HostIPs[0].IP {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("hostIPs").Index(0).Child("ip"), newPod.Status.HostIPs[0].IP, "must be equal to `hostIP`"))
		}
		hostIPs := make([]corev1.PodIP, len(newPod.Status.HostIPs))
		for i, ip := range newPod.Status.HostIPs {
			hostIPs[i] = corev1.PodIP(ip)
		}
		allErrs = append(allErrs, validateStatusIPs(hostIPs, fldPath.Child("hostIPs"))...)
	}
	for _, l := range []struct {
		statuses []corev1.ContainerStatus
		name     string
	}{
		{newPod.Status.ContainerStatuses, "containerStatuses"},
		{newPod.Status.InitContainerStatuses, "initContainerStatuses"},
		{newPod.Status.EphemeralContainerStatuses, "ephemeralContainerStatuses"},
	} {
		allErrs = append(allErrs, validateContainerStatusUsers(l.statuses, fldPath.Child(l.name), newPod.Spec.OS)...)
	}
	allErrs = append(allErrs, validateAllocatedResourcesStatus(newPod.Status.ContainerStatuses, fldPath.Child("containerStatuses"), newPod.Spec.Containers)...)
	allErrs = append(allErrs, validateAllocatedResourcesStatus(newPod.Status.InitContainerStatuses, fldPath.Child("initContainerStatuses"), newPod.Spec.InitContainers)...)
	// Ephemeral containers get no resources, hence no resource health.
	for i, s := range newPod.Status.EphemeralContainerStatuses {
		if len(s.AllocatedResourcesStatus) != 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child("ephemeralContainerStatuses").Index(i).Child("allocatedResourcesStatus"), "must not be specified in container status"))
		}
	}
	return allErrs
}

var validPodPhases = []corev1.PodPhase{corev1.PodPending, corev1.PodRunning, corev1.PodSucceeded, corev1.PodFailed, corev1.PodUnknown}

// validatePodPhaseTransition is orca's own guard (upstream relies on the
// kubelet): the phase must be a known value and Succeeded/Failed are final,
// which controllers such as Jobs depend on.
func validatePodPhaseTransition(newPhase, oldPhase corev1.PodPhase, fldPath *field.Path) field.ErrorList {
	known := newPhase == ""
	for _, p := range validPodPhases {
		known = known || p == newPhase
	}
	if !known {
		return field.ErrorList{field.NotSupported(fldPath, newPhase, validPodPhases)}
	}
	if (oldPhase == corev1.PodSucceeded || oldPhase == corev1.PodFailed) && newPhase != oldPhase {
		return field.ErrorList{field.Forbidden(fldPath, fmt.Sprintf("may not be changed from terminal phase %q to %q", oldPhase, newPhase))}
	}
	return nil
}

// validatePodConditions: custom condition types (readiness gates) must be
// qualified names; the built-in ones are known to be fine.
func validatePodConditions(conditions []corev1.PodCondition, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, c := range conditions {
		switch c.Type {
		case corev1.PodScheduled, corev1.PodReady, corev1.PodInitialized:
			continue
		}
		allErrs = append(allErrs, validateQualifiedName(string(c.Type), fldPath.Index(i).Child("Type"))...)
	}
	return allErrs
}

// validateContainerStateTransition rejects a terminated container becoming
// non-terminated unless the pod restart policy (or, for init containers, a
// sidecar restartPolicy) allows restarting it.
func validateContainerStateTransition(newStatuses, oldStatuses []corev1.ContainerStatus, fldPath *field.Path, restartPolicy corev1.RestartPolicy, initContainers []corev1.Container) field.ErrorList {
	if restartPolicy == corev1.RestartPolicyAlways {
		return nil
	}
	var allErrs field.ErrorList
	for i, old := range oldStatuses {
		if old.State.Terminated == nil {
			continue
		}
		if old.State.Terminated.ExitCode != 0 && restartPolicy == corev1.RestartPolicyOnFailure {
			continue
		}
		if isRestartableInitContainer(initContainers, old.Name) {
			continue
		}
		for _, s := range newStatuses {
			if old.Name == s.Name && s.State.Terminated == nil {
				allErrs = append(allErrs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return allErrs
}

func isRestartableInitContainer(initContainers []corev1.Container, name string) bool {
	for _, c := range initContainers {
		if c.Name == name {
			return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
		}
	}
	return false
}

// validateStatusIPs: valid, unique, and at most one per IP family.
func validateStatusIPs(ips []corev1.PodIP, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, ip := range ips {
		allErrs = append(allErrs, validation.IsValidIP(fldPath.Index(i), ip.IP)...)
	}
	if len(ips) <= 1 {
		return allErrs
	}
	strs := make([]string, 0, len(ips))
	seen := sets.New[string]()
	for i, ip := range ips {
		strs = append(strs, ip.IP)
		if seen.Has(ip.IP) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), ip))
		}
		seen.Insert(ip.IP)
	}
	dualStack, err := netutils.IsDualStackIPStrings(strs)
	if err != nil {
		allErrs = append(allErrs, field.InternalError(fldPath, fmt.Errorf("failed to check for dual stack with error:%v", err)))
	}
	if !dualStack || len(strs) > 2 {
		allErrs = append(allErrs, field.Invalid(fldPath, ips, "may specify no more than one IP for each IP family"))
	}
	return allErrs
}

func validatePodResourceClaimStatuses(statuses []corev1.PodResourceClaimStatus, podClaims []corev1.PodResourceClaim, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	claimNames := gatherPodResourceClaimNames(podClaims)
	seen := sets.New[string]()
	for i, s := range statuses {
		idxPath := fldPath.Index(i)
		if !claimNames.Has(s.Name) {
			allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), s.Name, "must match the name of an entry in `spec.resourceClaims`"))
		}
		if seen.Has(s.Name) {
			allErrs = append(allErrs, field.Duplicate(idxPath.Child("name"), s.Name))
		}
		seen.Insert(s.Name)
		if s.ResourceClaimName != nil {
			for _, msg := range validateClassName(*s.ResourceClaimName, false) {
				allErrs = append(allErrs, field.Invalid(idxPath.Child("name"), s.ResourceClaimName, msg))
			}
		}
	}
	return allErrs
}

// validateContainerStatusUsers checks the identities the kubelet reports.
func validateContainerStatusUsers(statuses []corev1.ContainerStatus, fldPath *field.Path, podOS *corev1.PodOS) field.ErrorList {
	var allErrs field.ErrorList
	osName := corev1.Linux
	if podOS != nil {
		osName = podOS.Name
	}
	for i, s := range statuses {
		if s.User == nil {
			continue
		}
		linuxPath := fldPath.Index(i).Child("linux")
		switch osName {
		case corev1.Windows:
			if s.User.Linux != nil {
				allErrs = append(allErrs, field.Forbidden(linuxPath, "cannot be set for a windows pod"))
			}
		case corev1.Linux:
			if u := s.User.Linux; u != nil {
				for _, msg := range validation.IsValidUserID(u.UID) {
					allErrs = append(allErrs, field.Invalid(linuxPath.Child("uid"), u.UID, msg))
				}
				for _, msg := range validation.IsValidGroupID(u.GID) {
					allErrs = append(allErrs, field.Invalid(linuxPath.Child("gid"), u.GID, msg))
				}
				for g, gid := range u.SupplementalGroups {
					for _, msg := range validation.IsValidGroupID(gid) {
						allErrs = append(allErrs, field.Invalid(linuxPath.Child("supplementalGroups").Index(g), gid, msg))
					}
				}
			}
		}
	}
	return allErrs
}

var supportedResourceHealth = sets.New(corev1.ResourceHealthStatusHealthy, corev1.ResourceHealthStatusUnhealthy, corev1.ResourceHealthStatusUnknown)

// validateAllocatedResourcesStatus: health may only be reported for
// resources (or claims) the container actually asked for.
func validateAllocatedResourcesStatus(statuses []corev1.ContainerStatus, fldPath *field.Path, containers []corev1.Container) field.ErrorList {
	var allErrs field.ErrorList
	for i, s := range statuses {
		var container *corev1.Container
		for j := range containers {
			if containers[j].Name == s.Name {
				container = &containers[j]
				break
			}
		}
		for j, allocated := range s.AllocatedResourcesStatus {
			arPath := fldPath.Index(i).Child("allocatedResourcesStatus").Index(j)
			// Statuses of unknown containers are ignored (kubernetes#124915).
			if container != nil {
				found, errorStr := false, "must match one of the container's resource requests"
				if strings.HasPrefix(string(allocated.Name), "claim:") {
					errorStr = "must match one of the container's resource claims in a format 'claim:<claimName>/<request>' or 'claim:<claimName>' if request is empty"
					for _, c := range container.Resources.Claims {
						name := "claim:" + c.Name
						if c.Request != "" {
							name += "/" + c.Request
						}
						found = found || name == string(allocated.Name)
					}
				} else {
					_, found = container.Resources.Requests[allocated.Name]
				}
				if !found {
					allErrs = append(allErrs, field.Invalid(arPath.Child("name"), allocated.Name, errorStr))
				}
			}
			ids := sets.New[corev1.ResourceID]()
			for k, r := range allocated.Resources {
				rPath := arPath.Child("resources").Index(k)
				if !supportedResourceHealth.Has(r.Health) {
					allErrs = append(allErrs, field.NotSupported(rPath.Child("health"), r.Health, sets.List(supportedResourceHealth)))
				}
				if ids.Has(r.ResourceID) {
					allErrs = append(allErrs, field.Duplicate(rPath.Child("resourceID"), r.ResourceID))
				}
				ids.Insert(r.ResourceID)
			}
		}
	}
	return allErrs
}
