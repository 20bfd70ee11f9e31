// Package validation checks the k8s.io/api v1 objects orca serves the way
// kube-apiserver does (kubernetes pkg/apis/core/validation and friends).
//
// Upstream validates the internal (unversioned) types; orca stores the v1
// types directly, so the rules are re-expressed against k8s.io/api. Error
// types, field paths and detail strings follow upstream exactly where users
// are likely to search for them. Objects are expected to be fully defaulted.
//
// Feature-gated behaviour follows the defaults of a current kube-apiserver:
// GA/beta-on gates (relaxed env var names, relaxed DNS search paths, zero
// second sleep hooks, pod-level resources, sidecars) are on; alpha-only fields
// are left to the registry strategy to drop.
package validation

import (
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

const (
	isNegativeErrorMsg    = apimachineryvalidation.IsNegativeErrorMsg
	isNotIntegerErrorMsg  = `must be an integer`
	isNotPositiveErrorMsg = `must be greater than zero`
	fileModeErrorMsg      = "must be a number between 0 and 0777 (octal), both inclusive"
)

// Name validators, named as upstream so the call sites read the same.
var (
	validatePodName            = apimachineryvalidation.NameIsDNSSubdomain
	validateNodeName           = apimachineryvalidation.NameIsDNSSubdomain
	validateNamespaceName      = apimachineryvalidation.ValidateNamespaceName
	validateSecretName         = apimachineryvalidation.NameIsDNSSubdomain
	validateConfigMapName      = apimachineryvalidation.NameIsDNSSubdomain
	validateServiceAccountName = apimachineryvalidation.ValidateServiceAccountName
	validatePriorityClassName  = apimachineryvalidation.NameIsDNSSubdomain
	validateClassName          = apimachineryvalidation.NameIsDNSSubdomain
)

// validateObjectMeta is upstream core's wrapper: the generic metadata checks
// plus the rule that unqualified finalizer names must be the well-known ones.
func validateObjectMeta(meta *metav1.ObjectMeta, requiresNamespace bool, nameFn apimachineryvalidation.ValidateNameFunc, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(meta, requiresNamespace, nameFn, fldPath)
	for i := range meta.Finalizers {
		allErrs = append(allErrs, validateKubeFinalizerName(meta.Finalizers[i], fldPath.Child("finalizers").Index(i))...)
	}
	return allErrs
}

// validateObjectMetaUpdate mirrors validateObjectMeta for updates.
func validateObjectMetaUpdate(newMeta, oldMeta *metav1.ObjectMeta, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(newMeta, oldMeta, fldPath)
	for i := range newMeta.Finalizers {
		allErrs = append(allErrs, validateKubeFinalizerName(newMeta.Finalizers[i], fldPath.Child("finalizers").Index(i))...)
	}
	return allErrs
}

var standardFinalizers = map[string]bool{
	string(corev1.FinalizerKubernetes): true,
	metav1.FinalizerOrphanDependents:   true,
	metav1.FinalizerDeleteDependents:   true,
}

// validateKubeFinalizerName rejects unqualified finalizers other than the
// built-in ones: anything custom must be domain-qualified ("example.com/x").
func validateKubeFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	if !strings.Contains(name, "/") && !standardFinalizers[name] {
		return field.ErrorList{field.Invalid(fldPath, name, "name is neither a standard finalizer name nor is it fully qualified")}
	}
	return nil
}

// validateFinalizerName is used for namespace spec.finalizers.
func validateFinalizerName(name string, fldPath *field.Path) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateFinalizerName(name, fldPath)
	return append(allErrs, validateKubeFinalizerName(name, fldPath)...)
}

func validateDNS1123Label(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsDNS1123Label(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

func validateDNS1123Subdomain(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsDNS1123Subdomain(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

func validateDNS1123SubdomainWithUnderscore(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsDNS1123SubdomainWithUnderscore(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

func validateQualifiedName(value string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range validation.IsQualifiedName(value) {
		allErrs = append(allErrs, field.Invalid(fldPath, value, msg))
	}
	return allErrs
}

// nameErrors turns the messages of a name function into Invalid errors.
func nameErrors(nameFn apimachineryvalidation.ValidateNameFunc, name string, prefix bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, msg := range nameFn(name, prefix) {
		allErrs = append(allErrs, field.Invalid(fldPath, name, msg))
	}
	return allErrs
}

func validateNonnegativeField(value int64, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateNonnegativeField(value, fldPath)
}

func validateImmutableField(newVal, oldVal any, fldPath *field.Path) field.ErrorList {
	return apimachineryvalidation.ValidateImmutableField(newVal, oldVal, fldPath)
}

func validateNonnegativeQuantity(value resource.Quantity, fldPath *field.Path) field.ErrorList {
	if value.Cmp(resource.Quantity{}) < 0 {
		return field.ErrorList{field.Invalid(fldPath, value.String(), isNegativeErrorMsg)}
	}
	return nil
}

func validatePositiveQuantityValue(value resource.Quantity, fldPath *field.Path) field.ErrorList {
	if value.Cmp(resource.Quantity{}) <= 0 {
		return field.ErrorList{field.Invalid(fldPath, value.String(), isNotPositiveErrorMsg)}
	}
	return nil
}

// validateFileMode checks a volume file mode: the API takes decimal ints but
// users think of them in octal, hence the message.
func validateFileMode(mode *int32, fldPath *field.Path) field.ErrorList {
	if mode != nil && (*mode > 0777 || *mode < 0) {
		return field.ErrorList{field.Invalid(fldPath, *mode, fileModeErrorMsg)}
	}
	return nil
}

// inclusiveRange is upstream's "must be between lo and hi, inclusive".
func inclusiveRange(lo, hi int) string { return validation.InclusiveRangeError(lo, hi) }
