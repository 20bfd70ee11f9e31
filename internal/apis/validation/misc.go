package validation

import (
	"fmt"
	"slices"
	"strings"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Length limits for events.k8s.io-style fields on core events.
const (
	reportingInstanceLengthLimit = 128
	actionLengthLimit            = 128
	reasonLengthLimit            = 128
	noteLengthLimit              = 1024
)

// ValidateEvent validates a core/v1 Event as upstream ValidateEventCreate
// does for the v1 API: only the legacy rules apply, for compatibility with
// old clients. Metadata (name as a path segment) is checked afterwards by
// the generic registry, as in kube-apiserver.
func ValidateEvent(e *corev1.Event) field.ErrorList {
	var allErrs field.ErrorList
	nsPath := field.NewPath("involvedObject", "namespace")
	if e.EventTime.IsZero() {
		// Old-style events: the event lives in the involved object's
		// namespace ("default" is tolerated for cluster-scoped objects).
		if len(e.InvolvedObject.Namespace) == 0 {
			if e.Namespace != metav1.NamespaceNone && e.Namespace != metav1.NamespaceDefault {
				allErrs = append(allErrs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
			}
		} else if e.Namespace != e.InvolvedObject.Namespace {
			allErrs = append(allErrs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
	} else {
		// New-style events (eventTime set) carry reporting information.
		if len(e.InvolvedObject.Namespace) == 0 && e.Namespace != metav1.NamespaceDefault && e.Namespace != metav1.NamespaceSystem {
			allErrs = append(allErrs, field.Invalid(nsPath, e.InvolvedObject.Namespace, "does not match event.namespace"))
		}
		if len(e.ReportingController) == 0 {
			allErrs = append(allErrs, field.Required(field.NewPath("reportingController"), ""))
		}
		for _, msg := range validation.IsQualifiedName(e.ReportingController) {
			allErrs = append(allErrs, field.Invalid(field.NewPath("reportingController"), e.ReportingController, msg))
		}
		allErrs = append(allErrs, validateEventString(e.ReportingInstance, "reportingInstance", reportingInstanceLengthLimit, true)...)
		allErrs = append(allErrs, validateEventString(e.Action, "action", actionLengthLimit, true)...)
		allErrs = append(allErrs, validateEventString(e.Reason, "reason", reasonLengthLimit, true)...)
		allErrs = append(allErrs, validateEventString(e.Message, "message", noteLengthLimit, false)...)
	}
	for _, msg := range validation.IsDNS1123Subdomain(e.Namespace) {
		allErrs = append(allErrs, field.Invalid(field.NewPath("namespace"), e.Namespace, msg))
	}
	return allErrs
}

// validateEventString: upstream reports over-long values with an empty bad
// value, so event contents do not bloat the error.
func validateEventString(value, name string, limit int, required bool) field.ErrorList {
	var allErrs field.ErrorList
	if required && len(value) == 0 {
		allErrs = append(allErrs, field.Required(field.NewPath(name), ""))
	}
	if len(value) > limit {
		allErrs = append(allErrs, field.Invalid(field.NewPath(name), "", fmt.Sprintf("can have at most %v characters", limit)))
	}
	return allErrs
}

// ValidateLease validates a coordination.k8s.io/v1 Lease.
func ValidateLease(l *coordinationv1.Lease) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMeta(&l.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	return append(allErrs, validateLeaseSpec(&l.Spec, field.NewPath("spec"))...)
}

// ValidateLeaseUpdate validates a Lease update; leases are mutable.
func ValidateLeaseUpdate(l, old *coordinationv1.Lease) field.ErrorList {
	allErrs := apimachineryvalidation.ValidateObjectMetaUpdate(&l.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(allErrs, validateLeaseSpec(&l.Spec, field.NewPath("spec"))...)
}

var validLeaseStrategies = []coordinationv1.CoordinatedLeaseStrategy{coordinationv1.OldestEmulationVersion}

func validateLeaseSpec(spec *coordinationv1.LeaseSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.LeaseDurationSeconds != nil && *spec.LeaseDurationSeconds <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("leaseDurationSeconds"), spec.LeaseDurationSeconds, "must be greater than 0"))
	}
	if spec.LeaseTransitions != nil && *spec.LeaseTransitions < 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("leaseTransitions"), spec.LeaseTransitions, "must be greater than or equal to 0"))
	}
	if spec.Strategy != nil {
		// Unprefixed strategies are Kubernetes-defined; others must be
		// qualified names. Upstream nests "strategy" twice in the path.
		strategyPath := fldPath.Child("strategy").Child("strategy")
		if !strings.Contains(string(*spec.Strategy), "/") {
			if !slices.Contains(validLeaseStrategies, *spec.Strategy) {
				allErrs = append(allErrs, field.NotSupported(strategyPath, *spec.Strategy, validLeaseStrategies))
			}
		} else {
			for _, msg := range validation.IsQualifiedName(string(*spec.Strategy)) {
				allErrs = append(allErrs, field.Invalid(strategyPath, *spec.Strategy, msg))
			}
		}
	}
	// A preferred holder only means something to a coordinated election.
	if spec.PreferredHolder != nil && *spec.PreferredHolder != "" && (spec.Strategy == nil || *spec.Strategy == "") {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("preferredHolder"), "may only be specified if `strategy` is defined"))
	}
	return allErrs
}

// Priority bands from kubernetes pkg/apis/scheduling: values above
// highestUserDefinablePriority are reserved for the system classes.
const (
	highestUserDefinablePriority = int32(1000000000)
	systemCriticalPriority       = 2 * highestUserDefinablePriority
	systemPriorityClassPrefix    = "system-"
)

var systemPriorityClasses = map[string]int32{
	"system-node-critical":    systemCriticalPriority + 1000,
	"system-cluster-critical": systemCriticalPriority,
}

// ValidatePriorityClass validates a PriorityClass (cluster-scoped).
func ValidatePriorityClass(pc *schedulingv1.PriorityClass) field.ErrorList {
	allErrs := validateObjectMeta(&pc.ObjectMeta, false, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))
	if strings.HasPrefix(pc.Name, systemPriorityClassPrefix) {
		if err := knownSystemPriorityClass(pc); err != nil {
			allErrs = append(allErrs, field.Forbidden(field.NewPath("metadata", "name"), "priority class names with '"+systemPriorityClassPrefix+"' prefix are reserved for system use only. error: "+err.Error()))
		}
	} else if pc.Value > highestUserDefinablePriority {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("value"), fmt.Sprintf("maximum allowed value of a user defined priority is %v", highestUserDefinablePriority)))
	}
	if pc.PreemptionPolicy != nil {
		allErrs = append(allErrs, validatePreemptionPolicy(pc.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
	}
	return allErrs
}

// knownSystemPriorityClass: "system-" classes must be exactly the built-in
// ones (which are never the global default).
func knownSystemPriorityClass(pc *schedulingv1.PriorityClass) error {
	value, ok := systemPriorityClasses[pc.Name]
	switch {
	case !ok:
		return fmt.Errorf("%v is not a known system priority class", pc.Name)
	case value != pc.Value:
		return fmt.Errorf("value of %v PriorityClass must be %v", pc.Name, value)
	case pc.GlobalDefault:
		return fmt.Errorf("globalDefault of %v PriorityClass must be %v", pc.Name, false)
	}
	return nil
}

// ValidatePriorityClassUpdate: value and preemptionPolicy are immutable,
// since running pods have already copied them.
func ValidatePriorityClassUpdate(pc, old *schedulingv1.PriorityClass) field.ErrorList {
	allErrs := validateObjectMetaUpdate(&pc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	if pc.Value != old.Value {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("value"), "may not be changed in an update."))
	}
	return append(allErrs, validateImmutableField(pc.PreemptionPolicy, old.PreemptionPolicy, field.NewPath("preemptionPolicy"))...)
}
