package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Resource name classification, as in upstream core/helper.

func isHugePageResourceName(name corev1.ResourceName) bool {
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

// isNativeResource: unprefixed names and *kubernetes.io/ names belong to
// Kubernetes itself.
func isNativeResource(name corev1.ResourceName) bool {
	return !strings.Contains(string(name), "/") || strings.Contains(string(name), corev1.ResourceDefaultNamespacePrefix)
}

// isExtendedResourceName: vendor resources (e.g. nvidia.com/gpu), which must
// still form a valid quota name once "requests." is prepended.
func isExtendedResourceName(name corev1.ResourceName) bool {
	if isNativeResource(name) || strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix) {
		return false
	}
	return len(validation.IsQualifiedName(corev1.DefaultResourceRequestsPrefix+string(name))) == 0
}

// isOvercommitAllowed: extended resources and hugepages are allocated whole,
// so their requests must equal their limits.
func isOvercommitAllowed(name corev1.ResourceName) bool {
	return isNativeResource(name) && !isHugePageResourceName(name)
}

var standardContainerResources = sets.New(corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage)

var standardResources = sets.New[corev1.ResourceName](
	corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage,
	corev1.ResourceRequestsCPU, corev1.ResourceRequestsMemory, corev1.ResourceRequestsEphemeralStorage,
	corev1.ResourceLimitsCPU, corev1.ResourceLimitsMemory, corev1.ResourceLimitsEphemeralStorage,
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceStorage, corev1.ResourceRequestsStorage, corev1.ResourceServicesNodePorts,
	corev1.ResourceServicesLoadBalancers,
)

var integerResources = sets.New[corev1.ResourceName](
	corev1.ResourcePods, corev1.ResourceQuotas, corev1.ResourceServices, corev1.ResourceReplicationControllers,
	corev1.ResourceSecrets, corev1.ResourceConfigMaps, corev1.ResourcePersistentVolumeClaims,
	corev1.ResourceServicesNodePorts, corev1.ResourceServicesLoadBalancers,
)

func isStandardResourceName(name corev1.ResourceName) bool {
	return standardResources.Has(name) || isHugePageResourceName(name) ||
		strings.HasPrefix(string(name), corev1.DefaultResourceRequestsPrefix+corev1.ResourceHugePagesPrefix)
}

func isIntegerResourceName(name corev1.ResourceName) bool {
	return integerResources.Has(name) || isExtendedResourceName(name)
}

// validateResourceName: qualified, and if unprefixed one we know about.
func validateResourceName(value corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsQualifiedName(string(value)) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	if len(allErrs) != 0 {
		return allErrs
	}
	if !strings.Contains(string(value), "/") && !isStandardResourceName(value) {
		return field.ErrorList{field.Invalid(fldPath, value, "must be a standard resource type or fully qualified")}
	}
	return nil
}

// validateContainerResourceName narrows resource names to what a container
// can request: cpu, memory, ephemeral-storage, hugepages or extended ones.
func validateContainerResourceName(value corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	allErrs := validateResourceName(value, fldPath)
	if !strings.Contains(string(value), "/") {
		if !standardContainerResources.Has(value) && !isHugePageResourceName(value) {
			return append(allErrs, field.Invalid(fldPath, value, "must be a standard resource for containers"))
		}
	} else if !isNativeResource(value) && !isExtendedResourceName(value) {
		return append(allErrs, field.Invalid(fldPath, value, "doesn't follow extended resource name standard"))
	}
	return allErrs
}

// validatePodResourceName limits pod-level resources to what the
// PodLevelResources feature manages.
func validatePodResourceName(name corev1.ResourceName, fldPath *field.Path) field.ErrorList {
	if allErrs := validateResourceName(name, fldPath); len(allErrs) != 0 {
		return allErrs
	}
	if !resourcehelper.IsSupportedPodLevelResource(name) {
		return field.ErrorList{field.NotSupported(fldPath, name, sets.List(resourcehelper.SupportedPodLevelResources()))}
	}
	return nil
}

// validateResourceQuantityValue: never negative, whole numbers for counted
// resources.
func validateResourceQuantityValue(name corev1.ResourceName, value resource.Quantity, fldPath *field.Path) field.ErrorList {
	allErrs := validateNonnegativeQuantity(value, fldPath)
	if isIntegerResourceName(name) && value.MilliValue()%1000 != 0 {
		allErrs = append(allErrs, field.Invalid(fldPath, value, isNotIntegerErrorMsg))
	}
	return allErrs
}

func validateContainerResourceRequirements(req *corev1.ResourceRequirements, podClaimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	return validateResourceRequirements(req, validateContainerResourceName, podClaimNames, fldPath)
}

// validateResourceRequirements checks names, quantities and request <= limit.
// Maps are walked in sorted order so error lists are deterministic.
func validateResourceRequirements(req *corev1.ResourceRequirements, nameFn func(corev1.ResourceName, *field.Path) field.ErrorList, podClaimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	var limCPUOrMem, reqCPUOrMem, limHugePages, reqHugePages bool

	for _, name := range sets.List(sets.KeySet(req.Limits)) {
		quantity := req.Limits[name]
		path := limPath.Key(string(name))
		allErrs = append(allErrs, nameFn(name, path)...)
		allErrs = append(allErrs, validateResourceQuantityValue(name, quantity, path)...)
		if isHugePageResourceName(name) {
			limHugePages = true
			if err := validateHugePageValue(name, quantity); err != nil {
				allErrs = append(allErrs, field.Invalid(path, quantity.String(), err.Error()))
			}
		}
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
			limCPUOrMem = true
		}
	}
	for _, name := range sets.List(sets.KeySet(req.Requests)) {
		quantity := req.Requests[name]
		path := reqPath.Key(string(name))
		allErrs = append(allErrs, nameFn(name, path)...)
		allErrs = append(allErrs, validateResourceQuantityValue(name, quantity, path)...)

		if limit, exists := req.Limits[name]; exists {
			// Whole-unit resources cannot be overcommitted: request == limit.
			if quantity.Cmp(limit) != 0 && !isOvercommitAllowed(name) {
				allErrs = append(allErrs, field.Invalid(reqPath, quantity.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
			} else if quantity.Cmp(limit) > 0 {
				allErrs = append(allErrs, field.Invalid(reqPath, quantity.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
			}
		} else if !isOvercommitAllowed(name) {
			allErrs = append(allErrs, field.Required(limPath, "Limit must be set for non overcommitable resources"))
		}
		if isHugePageResourceName(name) {
			reqHugePages = true
			if err := validateHugePageValue(name, quantity); err != nil {
				allErrs = append(allErrs, field.Invalid(path, quantity.String(), err.Error()))
			}
		}
		if name == corev1.ResourceCPU || name == corev1.ResourceMemory {
			reqCPUOrMem = true
		}
	}
	if !limCPUOrMem && !reqCPUOrMem && (reqHugePages || limHugePages) {
		allErrs = append(allErrs, field.Forbidden(fldPath, "HugePages require cpu or memory"))
	}
	return append(allErrs, validateResourceClaimNames(req.Claims, podClaimNames, fldPath.Child("claims"))...)
}

// validateHugePageValue: hugepages are allocated in whole pages.
func validateHugePageValue(name corev1.ResourceName, quantity resource.Quantity) error {
	pageSize, err := resource.ParseQuantity(strings.TrimPrefix(string(name), corev1.ResourceHugePagesPrefix))
	if err != nil || pageSize.Sign() <= 0 || pageSize.MilliValue()%1000 != 0 || quantity.Value()%pageSize.Value() != 0 {
		return fmt.Errorf("%s is not positive integer multiple of %s", quantity.String(), name)
	}
	return nil
}

// validateResourceClaimNames: containers may only reference claims the pod
// declares, each claim (or claim/request) at most once.
func validateResourceClaimNames(claims []corev1.ResourceClaim, podClaimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	names := sets.New[string]()
	for i, claim := range claims {
		name := claim.Name
		if name == "" {
			allErrs = append(allErrs, field.Required(fldPath.Index(i), ""))
			continue
		}
		if names.Has(name) {
			// Every request of that claim is already referenced.
			allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), name))
		} else {
			key := name
			if claim.Request != "" {
				allErrs = append(allErrs, validateDNS1123Label(claim.Request, fldPath.Index(i).Child("request"))...)
				key += "/" + claim.Request
			}
			if names.Has(key) {
				allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), key))
			} else if claim.Request == "" {
				// The whole claim overlaps any earlier claim/request reference.
				for _, k := range sets.List(names) {
					if before, _, found := strings.Cut(k, "/"); found && before == name {
						allErrs = append(allErrs, field.Duplicate(fldPath.Index(i), name))
					}
				}
			}
			names.Insert(key)
		}
		if !podClaimNames.Has(name) {
			err := field.NotFound(fldPath.Index(i), name)
			err.Detail = "must be one of the names in pod.spec.resourceClaims"
			if len(podClaimNames) == 0 {
				err.Detail += " which is empty"
			} else {
				err.Detail += ": " + strings.Join(sets.List(podClaimNames), ", ")
			}
			allErrs = append(allErrs, err)
		}
	}
	return allErrs
}

func gatherPodResourceClaimNames(claims []corev1.PodResourceClaim) sets.Set[string] {
	names := sets.New[string]()
	for _, c := range claims {
		if c.Name != "" {
			names.Insert(c.Name)
		}
	}
	return names
}

func validatePodResourceClaims(claims []corev1.PodResourceClaim, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	seen := sets.New[string]()
	for i, claim := range claims {
		path := fldPath.Index(i)
		switch {
		case claim.Name == "":
			allErrs = append(allErrs, field.Required(path.Child("name"), ""))
		case seen.Has(claim.Name):
			allErrs = append(allErrs, field.Duplicate(path.Child("name"), claim.Name))
		default:
			allErrs = append(allErrs, validateDNS1123Label(claim.Name, path.Child("name"))...)
			seen.Insert(claim.Name)
		}
		if claim.ResourceClaimName != nil && claim.ResourceClaimTemplateName != nil {
			allErrs = append(allErrs, field.Invalid(path, claim, "at most one of `resourceClaimName` or `resourceClaimTemplateName` may be specified"))
		}
		if claim.ResourceClaimName == nil && claim.ResourceClaimTemplateName == nil {
			allErrs = append(allErrs, field.Invalid(path, claim, "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"))
		}
		if claim.ResourceClaimName != nil {
			allErrs = append(allErrs, nameErrors(validateClassName, *claim.ResourceClaimName, false, path.Child("resourceClaimName"))...)
		}
		if claim.ResourceClaimTemplateName != nil {
			allErrs = append(allErrs, nameErrors(validateClassName, *claim.ResourceClaimTemplateName, false, path.Child("resourceClaimTemplateName"))...)
		}
	}
	return allErrs
}

// validatePodResources checks pod-level resources (PodLevelResources, on by
// default): valid on their own and consistent with the containers.
func validatePodResources(spec *corev1.PodSpec, podClaimNames sets.Set[string], fldPath *field.Path) field.ErrorList {
	if spec.Resources == nil {
		return nil
	}
	var allErrs field.ErrorList
	if spec.Resources.Claims != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("claims"), "claims cannot be set for Resources at pod-level"))
	}
	allErrs = append(allErrs, validateResourceRequirements(spec.Resources, validatePodResourceName, podClaimNames, fldPath)...)

	// Pod-level requests must cover what the containers ask for together.
	// Only resources the pod actually requests are compared: containers may
	// use resources (e.g. ephemeral-storage) the pod level does not manage.
	aggregate := resourcehelper.AggregateContainerRequests(&corev1.Pod{Spec: *spec}, resourcehelper.PodResourcesOptions{})
	for _, name := range sets.List(sets.KeySet(aggregate)) {
		ctrReqs := aggregate[name]
		podReqs, ok := spec.Resources.Requests[name]
		if ok && ctrReqs.Cmp(podReqs) > 0 {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("requests").Key(string(name)), podReqs.String(), fmt.Sprintf("must be greater than or equal to aggregate container requests of %s", ctrReqs.String())))
		}
	}
	// No single container may be allowed more than the whole pod.
	for i, ctr := range spec.Containers {
		for _, name := range sets.List(sets.KeySet(ctr.Resources.Limits)) {
			ctrLimit := ctr.Resources.Limits[name]
			podLimit, exists := spec.Resources.Limits[name]
			if exists && ctrLimit.Cmp(podLimit) > 0 {
				// Upstream builds this odd-looking path; kept for fidelity.
				path := fldPath.Child("containers").Index(i).Key(string(name)).Child("limits")
				allErrs = append(allErrs, field.Invalid(path, ctrLimit.String(), fmt.Sprintf("must be less than or equal to pod limits of %s", podLimit.String())))
			}
		}
	}
	return allErrs
}
