package event

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/orca-pods/orca/internal/apis/validation"
)

// validateEventsV1Create validates an event created through events.k8s.io/v1
// as upstream ValidateEventCreate does for that API: the legacy core rules
// every event passes, and then the strict rules of the new API — a new-style
// event (eventTime set, so reportingController, reportingInstance, action
// and reason are required too) without the deprecated core fields. Field
// paths use the core names, as upstream reports them.
func validateEventsV1Create(e *corev1.Event) field.ErrorList {
	allErrs := validation.ValidateEvent(e)
	allErrs = append(allErrs, apimachineryvalidation.ValidateObjectMeta(&e.ObjectMeta, true, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	allErrs = append(allErrs, validateSeries(e)...)
	if e.EventTime.IsZero() {
		allErrs = append(allErrs, field.Required(field.NewPath("eventTime"), ""))
	}
	if e.Type != corev1.EventTypeNormal && e.Type != corev1.EventTypeWarning {
		allErrs = append(allErrs, field.Invalid(field.NewPath("type"), "", fmt.Sprintf("has invalid value: %v", e.Type)))
	}
	if !e.FirstTimestamp.IsZero() {
		allErrs = append(allErrs, field.Invalid(field.NewPath("firstTimestamp"), "", "needs to be unset"))
	}
	if !e.LastTimestamp.IsZero() {
		allErrs = append(allErrs, field.Invalid(field.NewPath("lastTimestamp"), "", "needs to be unset"))
	}
	if e.Count != 0 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("count"), "", "needs to be unset"))
	}
	if e.Source.Component != "" || e.Source.Host != "" {
		allErrs = append(allErrs, field.Invalid(field.NewPath("source"), "", "needs to be unset"))
	}
	return allErrs
}

// validateEventsV1Update is upstream ValidateEventUpdate for events.k8s.io/v1:
// the legacy rules, and then only the series (and metadata) may change.
// Events written through the core API may be updated here as long as those
// fields stay as they are.
func validateEventsV1Update(e, old *corev1.Event) field.ErrorList {
	allErrs := validation.ValidateEvent(e)
	allErrs = append(allErrs, apimachineryvalidation.ValidateObjectMetaUpdate(&e.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))...)
	if !apiequality.Semantic.DeepEqual(e.Series, old.Series) {
		allErrs = append(allErrs, validateSeries(e)...)
	}
	for _, f := range []struct {
		name     string
		new, old any
	}{
		{"involvedObject", e.InvolvedObject, old.InvolvedObject},
		{"reason", e.Reason, old.Reason},
		{"message", e.Message, old.Message},
		{"source", e.Source, old.Source},
		{"firstTimestamp", e.FirstTimestamp, old.FirstTimestamp},
		{"lastTimestamp", e.LastTimestamp, old.LastTimestamp},
		{"count", e.Count, old.Count},
		{"type", e.Type, old.Type},
		{"eventTime", e.EventTime, old.EventTime},
		{"action", e.Action, old.Action},
		{"related", e.Related, old.Related},
		{"reportingController", e.ReportingController, old.ReportingController},
		{"reportingInstance", e.ReportingInstance, old.ReportingInstance},
	} {
		allErrs = append(allErrs, apimachineryvalidation.ValidateImmutableField(f.new, f.old, field.NewPath(f.name))...)
	}
	return allErrs
}

func validateSeries(e *corev1.Event) field.ErrorList {
	var allErrs field.ErrorList
	if e.Series == nil {
		return nil
	}
	if e.Series.Count < 2 {
		allErrs = append(allErrs, field.Invalid(field.NewPath("series.count"), "", "should be at least 2"))
	}
	if e.Series.LastObservedTime.IsZero() {
		allErrs = append(allErrs, field.Required(field.NewPath("series.lastObservedTime"), ""))
	}
	return allErrs
}
