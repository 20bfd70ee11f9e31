package validation

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	unversionedvalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// ValidatePodCreate validates a pod in the context of its initial create.
func ValidatePodCreate(pod *corev1.Pod) field.ErrorList {
	allErrs := validatePodMetadataAndSpec(pod)

	fldPath := field.NewPath("spec")
	// Ephemeral containers can only be added through the ephemeralcontainers
	// subresource, which validates them against the running pod.
	if len(pod.Spec.EphemeralContainers) > 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("ephemeralContainers"), "cannot be set on create"))
	}
	// A pod cannot be bound to a node while it still has scheduling gates.
	if pod.Spec.NodeName != "" && len(pod.Spec.SchedulingGates) != 0 {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("nodeName"), "cannot be set until all schedulingGates have been cleared"))
	}
	allErrs = append(allErrs, validateSeccompAnnotationsAndFields(pod.ObjectMeta, &pod.Spec, fldPath)...)
	allErrs = append(allErrs, validateAppArmorAnnotationsAndFieldsMatchOnCreate(pod.ObjectMeta, &pod.Spec, fldPath)...)
	return allErrs
}

// validatePodMetadataAndSpec holds the checks shared by create, update and
// the ephemeral containers subresource: the new object must always be valid.
func validatePodMetadataAndSpec(pod *corev1.Pod) field.ErrorList {
	metaPath := field.NewPath("metadata")
	specPath := field.NewPath("spec")

	allErrs := validateObjectMeta(&pod.ObjectMeta, true, validatePodName, metaPath)
	allErrs = append(allErrs, validatePodSpecificAnnotations(pod.Annotations, &pod.Spec, metaPath.Child("annotations"))...)
	allErrs = append(allErrs, validatePodSpec(&pod.Spec, &pod.ObjectMeta, specPath)...)

	// A projected token needs an identity to be issued for.
	if pod.Spec.ServiceAccountName == "" {
		for vi, volume := range pod.Spec.Volumes {
			if volume.Projected == nil {
				continue
			}
			path := specPath.Child("volumes").Index(vi).Child("projected")
			for si, source := range volume.Projected.Sources {
				if source.ServiceAccountToken != nil {
					allErrs = append(allErrs, field.Forbidden(path.Child("sources").Index(si).Child("serviceAccountToken"), "must not be specified when serviceAccountName is not set"))
				}
			}
		}
	}

	// Pod (not template) only: images must not carry stray whitespace.
	allErrs = append(allErrs, validateContainersOnlyForPod(pod.Spec.Containers, specPath.Child("containers"))...)
	allErrs = append(allErrs, validateContainersOnlyForPod(pod.Spec.InitContainers, specPath.Child("initContainers"))...)
	return allErrs
}

// validatePodSpec checks a pod spec. podMeta may be nil for templates; it is
// used to derive the names of PVCs created for generic ephemeral volumes.
func validatePodSpec(spec *corev1.PodSpec, podMeta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList

	if spec.TerminationGracePeriodSeconds == nil {
		allErrs = append(allErrs, field.Required(fldPath.Child("terminationGracePeriodSeconds"), ""))
	} else {
		// Upstream never rejects negatives: since 1.27 defaulting turns them
		// into 1. One reaching here means defaulting did not run.
		allErrs = append(allErrs, validateNonnegativeField(*spec.TerminationGracePeriodSeconds, fldPath.Child("terminationGracePeriodSeconds"))...)
	}
	gracePeriod := spec.TerminationGracePeriodSeconds
	// hostUsers defaults to true: only an explicit false enables user namespaces.
	hostUsers := spec.HostUsers == nil || *spec.HostUsers

	vols, vErrs := validateVolumes(spec.Volumes, podMeta, fldPath.Child("volumes"))
	allErrs = append(allErrs, vErrs...)
	podClaimNames := gatherPodResourceClaimNames(spec.ResourceClaims)
	allErrs = append(allErrs, validatePodResourceClaims(spec.ResourceClaims, fldPath.Child("resourceClaims"))...)
	ctx := containerContext{volumes: vols, podClaimNames: podClaimNames, gracePeriod: gracePeriod, restartPolicy: spec.RestartPolicy, hostUsers: hostUsers}
	allErrs = append(allErrs, validateContainers(spec.Containers, ctx, fldPath.Child("containers"))...)
	allErrs = append(allErrs, validateInitContainers(spec.InitContainers, spec.Containers, ctx, fldPath.Child("initContainers"))...)
	allErrs = append(allErrs, validateEphemeralContainers(spec.EphemeralContainers, spec.Containers, spec.InitContainers, ctx, fldPath.Child("ephemeralContainers"))...)
	allErrs = append(allErrs, validatePodResources(spec, podClaimNames, fldPath.Child("resources"))...)

	allErrs = append(allErrs, validatePodHostNetworkDeps(spec, fldPath)...)
	allErrs = append(allErrs, validateRestartPolicy(spec.RestartPolicy, fldPath.Child("restartPolicy"))...)
	allErrs = append(allErrs, validateDNSPolicy(spec.DNSPolicy, fldPath.Child("dnsPolicy"))...)
	allErrs = append(allErrs, unversionedvalidation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	allErrs = append(allErrs, validatePodSpecSecurityContext(spec, fldPath, fldPath.Child("securityContext"))...)
	allErrs = append(allErrs, validateImagePullSecrets(spec.ImagePullSecrets, fldPath.Child("imagePullSecrets"))...)
	allErrs = append(allErrs, validateAffinity(spec.Affinity, fldPath.Child("affinity"))...)
	allErrs = append(allErrs, validatePodDNSConfig(spec.DNSConfig, spec.DNSPolicy, fldPath.Child("dnsConfig"))...)
	allErrs = append(allErrs, validateReadinessGates(spec.ReadinessGates, fldPath.Child("readinessGates"))...)
	allErrs = append(allErrs, validateSchedulingGates(spec.SchedulingGates, fldPath.Child("schedulingGates"))...)
	allErrs = append(allErrs, validateTopologySpreadConstraints(spec.TopologySpreadConstraints, fldPath.Child("topologySpreadConstraints"))...)
	allErrs = append(allErrs, validateWindowsHostProcessPod(spec, fldPath)...)
	allErrs = append(allErrs, validateHostUsers(spec, fldPath)...)

	if len(spec.ServiceAccountName) > 0 {
		allErrs = append(allErrs, nameErrors(validateServiceAccountName, spec.ServiceAccountName, false, fldPath.Child("serviceAccountName"))...)
	}
	if len(spec.NodeName) > 0 {
		allErrs = append(allErrs, nameErrors(validateNodeName, spec.NodeName, false, fldPath.Child("nodeName"))...)
	}
	if spec.ActiveDeadlineSeconds != nil {
		if value := *spec.ActiveDeadlineSeconds; value < 1 || value > math.MaxInt32 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), value, inclusiveRange(1, math.MaxInt32)))
		}
	}
	if len(spec.Hostname) > 0 {
		allErrs = append(allErrs, validateDNS1123Label(spec.Hostname, fldPath.Child("hostname"))...)
	}
	if len(spec.Subdomain) > 0 {
		allErrs = append(allErrs, validateDNS1123Label(spec.Subdomain, fldPath.Child("subdomain"))...)
	}
	if len(spec.Tolerations) > 0 {
		allErrs = append(allErrs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	}
	if len(spec.HostAliases) > 0 {
		allErrs = append(allErrs, validateHostAliases(spec.HostAliases, fldPath.Child("hostAliases"))...)
	}
	if len(spec.PriorityClassName) > 0 {
		allErrs = append(allErrs, nameErrors(validatePriorityClassName, spec.PriorityClassName, false, fldPath.Child("priorityClassName"))...)
	}
	if spec.RuntimeClassName != nil {
		allErrs = append(allErrs, nameErrors(validateClassName, *spec.RuntimeClassName, false, fldPath.Child("runtimeClassName"))...)
	}
	if spec.PreemptionPolicy != nil {
		allErrs = append(allErrs, validatePreemptionPolicy(spec.PreemptionPolicy, fldPath.Child("preemptionPolicy"))...)
	}
	if spec.Overhead != nil {
		// Overhead reuses the container rules, as if it were a set of limits.
		allErrs = append(allErrs, validateContainerResourceRequirements(&corev1.ResourceRequirements{Limits: spec.Overhead}, nil, fldPath.Child("overhead"))...)
	}
	if spec.OS != nil {
		allErrs = append(allErrs, validateOS(spec, fldPath)...)
	}
	return allErrs
}

// validatePodSpecificAnnotations checks annotations the system interprets.
func validatePodSpecificAnnotations(annotations map[string]string, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if value, isMirror := annotations[corev1.MirrorPodAnnotationKey]; isMirror && len(spec.NodeName) == 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Key(corev1.MirrorPodAnnotationKey), value, "must set spec.nodeName if mirror pod annotation is set"))
	}
	if annotations[corev1.TolerationsAnnotationKey] != "" {
		var tolerations []corev1.Toleration
		if err := json.Unmarshal([]byte(annotations[corev1.TolerationsAnnotationKey]), &tolerations); err != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, corev1.TolerationsAnnotationKey, err.Error()))
		} else if len(tolerations) > 0 {
			allErrs = append(allErrs, validateTolerations(tolerations, fldPath.Child(corev1.TolerationsAnnotationKey))...)
		}
	}
	if value, ok := annotations[corev1.PodDeletionCost]; ok && !isValidDeletionCost(value) {
		allErrs = append(allErrs, field.Invalid(fldPath.Key(corev1.PodDeletionCost), value, "must be a 32bit integer"))
	}
	allErrs = append(allErrs, validateSeccompPodAnnotations(annotations, fldPath)...)
	allErrs = append(allErrs, validateAppArmorPodAnnotations(annotations, spec, fldPath)...)
	return allErrs
}

// isValidDeletionCost accepts canonical int32 decimals only: no "+", no
// leading zeros, matching the controller that reads it.
func isValidDeletionCost(value string) bool {
	if value == "" || !(value[0] == '-' || value == "0" || (value[0] >= '1' && value[0] <= '9')) {
		return false
	}
	_, err := strconv.ParseInt(value, 10, 32)
	return err == nil
}

// validatePodSpecificAnnotationChanges protects annotations that are set
// once by the system (mirror pods, legacy AppArmor profiles). Upstream also
// re-validates the annotations here; callers do that once themselves so
// errors are not reported twice.
func validatePodSpecificAnnotationChanges(newPod, oldPod *corev1.Pod, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	newAnnotations, oldAnnotations := newPod.Annotations, oldPod.Annotations
	for _, k := range sets.List(sets.KeySet(oldAnnotations)) {
		if newVal, exists := newAnnotations[k]; exists && newVal == oldAnnotations[k] {
			continue
		}
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			allErrs = append(allErrs, field.Forbidden(fldPath.Key(k), "may not remove or update AppArmor annotations"))
		}
		if k == corev1.MirrorPodAnnotationKey {
			allErrs = append(allErrs, field.Forbidden(fldPath.Key(k), "may not remove or update mirror pod annotation"))
		}
	}
	for _, k := range sets.List(sets.KeySet(newAnnotations)) {
		if _, ok := oldAnnotations[k]; ok {
			continue
		}
		if strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			allErrs = append(allErrs, field.Forbidden(fldPath.Key(k), "may not add AppArmor annotations"))
		}
		if k == corev1.MirrorPodAnnotationKey {
			allErrs = append(allErrs, field.Forbidden(fldPath.Key(k), "may not add mirror pod annotation"))
		}
	}
	return allErrs
}

func validateRestartPolicy(policy corev1.RestartPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyOnFailure, corev1.RestartPolicyNever})}
	}
}

func validateDNSPolicy(policy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	switch policy {
	case corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		// Upstream passes a pointer as the bad value; it renders the same.
		return field.ErrorList{field.NotSupported(fldPath, policy, []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone})}
	}
}

func validatePreemptionPolicy(policy *corev1.PreemptionPolicy, fldPath *field.Path) field.ErrorList {
	switch *policy {
	case corev1.PreemptLowerPriority, corev1.PreemptNever:
		return nil
	case "":
		return field.ErrorList{field.Required(fldPath, "")}
	default:
		return field.ErrorList{field.NotSupported(fldPath, *policy, []corev1.PreemptionPolicy{corev1.PreemptLowerPriority, corev1.PreemptNever})}
	}
}

// Limits from libc's resolver, which is what ends up reading resolv.conf.
const (
	maxDNSNameservers     = 3
	maxDNSSearchPaths     = 32
	maxDNSSearchListChars = 2048
)

func validatePodDNSConfig(dnsConfig *corev1.PodDNSConfig, dnsPolicy corev1.DNSPolicy, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if dnsPolicy == corev1.DNSNone {
		if dnsConfig == nil {
			return field.ErrorList{field.Required(fldPath, "must provide `dnsConfig` when `dnsPolicy` is None")}
		}
		if len(dnsConfig.Nameservers) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("nameservers"), "must provide at least one DNS nameserver when `dnsPolicy` is None")}
		}
	}
	if dnsConfig == nil {
		return nil
	}
	if len(dnsConfig.Nameservers) > maxDNSNameservers {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("nameservers"), dnsConfig.Nameservers, fmt.Sprintf("must not have more than %v nameservers", maxDNSNameservers)))
	}
	for i, ns := range dnsConfig.Nameservers {
		allErrs = append(allErrs, validation.IsValidIP(fldPath.Child("nameservers").Index(i), ns)...)
	}
	if len(dnsConfig.Searches) > maxDNSSearchPaths {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("searches"), dnsConfig.Searches, fmt.Sprintf("must not have more than %v search paths", maxDNSSearchPaths)))
	}
	// The limit counts the separating spaces too, as resolv.conf does.
	if len(strings.Join(dnsConfig.Searches, " ")) > maxDNSSearchListChars {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("searches"), dnsConfig.Searches, fmt.Sprintf("must not have more than %v characters (including spaces) in the search list", maxDNSSearchListChars)))
	}
	for i, search := range dnsConfig.Searches {
		// Relaxed search validation (GA): "." and underscores are allowed.
		if search != "." {
			allErrs = append(allErrs, validateDNS1123SubdomainWithUnderscore(strings.TrimSuffix(search, "."), fldPath.Child("searches").Index(i))...)
		}
	}
	for i, option := range dnsConfig.Options {
		if len(option.Name) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Child("options").Index(i), "must not be empty"))
		}
	}
	return allErrs
}

// validatePodHostNetworkDeps: with hostNetwork the container port is the
// host port, so a pod must not declare a different one.
func validatePodHostNetworkDeps(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	if !spec.HostNetwork {
		return nil
	}
	var allErrs field.ErrorList
	containersPath := fldPath.Child("containers")
	for i, container := range spec.Containers {
		portsPath := containersPath.Index(i).Child("ports")
		for j, port := range container.Ports {
			if port.HostPort != port.ContainerPort {
				allErrs = append(allErrs, field.Invalid(portsPath.Index(j).Child("hostPort"), port.HostPort, "must match `containerPort` when `hostNetwork` is true"))
			}
		}
	}
	return allErrs
}

// validateImagePullSecrets: a LocalObjectReference only has a name today; if
// more fields appear we want to notice rather than silently accept them.
func validateImagePullSecrets(secrets []corev1.LocalObjectReference, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, s := range secrets {
		if (corev1.LocalObjectReference{Name: s.Name}) != s {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i), s, "only name may be set"))
		}
	}
	return allErrs
}

func validateReadinessGates(gates []corev1.PodReadinessGate, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, g := range gates {
		allErrs = append(allErrs, validateQualifiedName(string(g.ConditionType), fldPath.Index(i).Child("conditionType"))...)
	}
	return allErrs
}

func validateSchedulingGates(gates []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[string]()
	for i, g := range gates {
		allErrs = append(allErrs, validateQualifiedName(g.Name, fldPath.Index(i))...)
		if seen.Has(g.Name) {
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), g.Name))
		}
		seen.Insert(g.Name)
	}
	return allErrs
}

func validateHostAliases(aliases []corev1.HostAlias, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for i, alias := range aliases {
		allErrs = append(allErrs, validation.IsValidIP(fldPath.Index(i).Child("ip"), alias.IP)...)
		for j, hostname := range alias.Hostnames {
			allErrs = append(allErrs, validateDNS1123Subdomain(hostname, fldPath.Index(i).Child("hostnames").Index(j))...)
		}
	}
	return allErrs
}

func validateOS(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	osPath := fldPath.Child("os")
	switch spec.OS.Name {
	case "":
		return field.ErrorList{field.Required(osPath.Child("name"), "cannot be empty")}
	case corev1.Linux:
		return validateLinux(spec, fldPath)
	case corev1.Windows:
		return validateWindows(spec, fldPath)
	default:
		return field.ErrorList{field.NotSupported(osPath, spec.OS.Name, []corev1.OSName{corev1.Linux, corev1.Windows})}
	}
}
