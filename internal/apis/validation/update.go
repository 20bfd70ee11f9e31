package validation

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// updatablePodSpecFields is listed in the error for a forbidden pod update;
// the text (and its "," joining) is upstream's, which users search for.
var updatablePodSpecFields = []string{
	"`spec.containers[*].image`",
	"`spec.initContainers[*].image`",
	"`spec.activeDeadlineSeconds`",
	"`spec.tolerations` (only additions to existing tolerations)",
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)",
}

// ValidatePodUpdate validates a user update of a pod. The new pod must be
// valid on its own, and the spec is immutable except for images,
// activeDeadlineSeconds (set or shortened), added tolerations, removed
// scheduling gates and, while gated, additions to node selection.
func ValidatePodUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	metaPath := field.NewPath("metadata")
	allErrs := validateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta, metaPath)
	allErrs = append(allErrs, validatePodMetadataAndSpec(newPod)...)
	allErrs = append(allErrs, validatePodSpecificAnnotationChanges(newPod, oldPod, metaPath.Child("annotations"))...)
	specPath := field.NewPath("spec")

	containerErrs, stop := validateContainerUpdates(newPod.Spec.Containers, oldPod.Spec.Containers, specPath.Child("containers"))
	allErrs = append(allErrs, containerErrs...)
	if stop {
		return allErrs
	}
	containerErrs, stop = validateContainerUpdates(newPod.Spec.InitContainers, oldPod.Spec.InitContainers, specPath.Child("initContainers"))
	allErrs = append(allErrs, containerErrs...)
	if stop {
		return allErrs
	}

	// activeDeadlineSeconds may go from unset to set, or shrink; a deadline
	// can be tightened but never relaxed.
	adsPath := specPath.Child("activeDeadlineSeconds")
	if newADS := newPod.Spec.ActiveDeadlineSeconds; newADS != nil {
		if *newADS < 0 || *newADS > math.MaxInt32 {
			return append(allErrs, field.Invalid(adsPath, *newADS, inclusiveRange(0, math.MaxInt32)))
		}
		if oldADS := oldPod.Spec.ActiveDeadlineSeconds; oldADS != nil && *oldADS < *newADS {
			return append(allErrs, field.Invalid(adsPath, *newADS, "must be less than or equal to previous value"))
		}
	} else if oldPod.Spec.ActiveDeadlineSeconds != nil {
		allErrs = append(allErrs, field.Invalid(adsPath, newPod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
	}

	allErrs = append(allErrs, validateOnlyAddedTolerations(newPod.Spec.Tolerations, oldPod.Spec.Tolerations, specPath.Child("tolerations"))...)
	allErrs = append(allErrs, validateOnlyDeletedSchedulingGates(newPod.Spec.SchedulingGates, oldPod.Spec.SchedulingGates, specPath.Child("schedulingGates"))...)

	// Equal specs need no munging (and no deep copy).
	if apiequality.Semantic.DeepEqual(newPod.Spec, oldPod.Spec) {
		return allErrs
	}

	// Copy the old values of every mutable field into a copy of the new spec;
	// anything still different is a forbidden change.
	munged := *newPod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = oldPod.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = oldPod.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = nil
	if oldPod.Spec.ActiveDeadlineSeconds != nil {
		ads := *oldPod.Spec.ActiveDeadlineSeconds
		munged.ActiveDeadlineSeconds = &ads
	}
	munged.SchedulingGates = oldPod.Spec.SchedulingGates
	munged.Tolerations = oldPod.Spec.Tolerations
	// A negative grace period (once allowed) may be fixed up to 1.
	if old := oldPod.Spec.TerminationGracePeriodSeconds; old != nil && *old < 0 &&
		munged.TerminationGracePeriodSeconds != nil && *munged.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = old
	}
	// While gated, node selection may be narrowed (additions only): the
	// scheduler has not acted on it yet.
	if len(oldPod.Spec.SchedulingGates) > 0 {
		allErrs = append(allErrs, mungeGatedNodeSelection(&munged, &oldPod.Spec, specPath)...)
	}

	if !apiequality.Semantic.DeepEqual(munged, oldPod.Spec) {
		// The diff is not a precise pointer, but it shows what changed.
		specDiff := cmp.Diff(oldPod.Spec, munged)
		allErrs = append(allErrs, field.Forbidden(specPath, fmt.Sprintf("pod updates may not change fields other than %s\n%v", strings.Join(updatablePodSpecFields, ","), specDiff)))
	}
	return allErrs
}

// validateContainerUpdates: containers cannot be added or removed, and an
// updated image must still be a usable one. stop tells the caller that the
// lists no longer line up, so index-based munging is impossible.
func validateContainerUpdates(newContainers, oldContainers []corev1.Container, fldPath *field.Path) (field.ErrorList, bool) {
	if len(newContainers) != len(oldContainers) {
		return field.ErrorList{field.Forbidden(fldPath, "pod updates may not add or remove containers")}, true
	}
	var allErrs field.ErrorList
	for i, ctr := range newContainers {
		if len(ctr.Image) == 0 {
			allErrs = append(allErrs, field.Required(fldPath.Index(i).Child("image"), ""))
		}
		if len(strings.TrimSpace(ctr.Image)) != len(ctr.Image) {
			allErrs = append(allErrs, field.Invalid(fldPath.Index(i).Child("image"), ctr.Image, "must not have leading or trailing whitespace"))
		}
	}
	return allErrs, false
}

// validateOnlyAddedTolerations: existing tolerations must survive unchanged
// apart from tolerationSeconds (the taint manager re-reads it).
func validateOnlyAddedTolerations(newTolerations, oldTolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	for _, old := range oldTolerations {
		found := false
		for _, t := range newTolerations {
			clone := old
			clone.TolerationSeconds = t.TolerationSeconds
			if reflect.DeepEqual(clone, t) {
				found = true
				break
			}
		}
		if !found {
			return field.ErrorList{field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds")}
		}
	}
	return validateTolerations(newTolerations, fldPath)
}

// validateOnlyDeletedSchedulingGates: gates are removed by whoever owns
// them; adding one to a pod that may already be scheduling is racy.
func validateOnlyDeletedSchedulingGates(newGates, oldGates []corev1.PodSchedulingGate, fldPath *field.Path) field.ErrorList {
	oldNames := map[string]bool{}
	for _, g := range oldGates {
		oldNames[g.Name] = true
	}
	// Each new name is reported once, at its last index as upstream does;
	// sorted by index so the output is stable.
	last := map[string]int{}
	for i, g := range newGates {
		last[g.Name] = i
	}
	var indexes []int
	for name, i := range last {
		if !oldNames[name] {
			indexes = append(indexes, i)
		}
	}
	sort.Ints(indexes)
	var allErrs field.ErrorList
	for _, i := range indexes {
		allErrs = append(allErrs, field.Forbidden(fldPath.Index(i).Child("name"), fmt.Sprintf("only deletion is allowed, but found new scheduling gate '%s'", newGates[i].Name)))
	}
	return allErrs
}

// mungeGatedNodeSelection validates node selector and required node affinity
// changes of a gated pod and, when only additions were made, copies the old
// values into munged so the final comparison accepts them.
func mungeGatedNodeSelection(munged, old *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if !apiequality.Semantic.DeepEqual(munged.NodeSelector, old.NodeSelector) {
		for k, v := range old.NodeSelector {
			if nv, ok := munged.NodeSelector[k]; !ok || nv != v {
				allErrs = append(allErrs, field.Invalid(specPath.Child("nodeSelector"), munged.NodeSelector, "only additions to spec.nodeSelector are allowed (no mutations or deletions)"))
				break
			}
		}
		munged.NodeSelector = old.NodeSelector
	}

	var oldNA, newNA *corev1.NodeAffinity
	if old.Affinity != nil {
		oldNA = old.Affinity.NodeAffinity
	}
	if munged.Affinity != nil {
		newNA = munged.Affinity.NodeAffinity
	}
	if apiequality.Semantic.DeepEqual(oldNA, newNA) {
		return allErrs
	}
	allErrs = append(allErrs, validateNodeAffinityMutation(specPath.Child("affinity").Child("nodeAffinity"), newNA, oldNA)...)
	switch {
	case munged.Affinity == nil && oldNA == nil:
	case munged.Affinity == nil:
		munged.Affinity = &corev1.Affinity{NodeAffinity: oldNA}
	case old.Affinity == nil && munged.Affinity.PodAffinity == nil && munged.Affinity.PodAntiAffinity == nil:
		// Only node affinity was added; the rest stays as before (nil).
		munged.Affinity = nil
	default:
		munged.Affinity.NodeAffinity = oldNA
	}
	return allErrs
}

func validateNodeAffinityMutation(path *field.Path, newNA, oldNA *corev1.NodeAffinity) field.ErrorList {
	// Without old required terms anything may be set.
	if oldNA == nil || oldNA.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return nil
	}
	termsPath := path.Child("requiredDuringSchedulingIgnoredDuringExecution").Child("nodeSelectorTerms")
	oldTerms := oldNA.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	var newTerms []corev1.NodeSelectorTerm
	if newNA != nil && newNA.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		newTerms = newNA.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	}
	// Terms are ORed: adding one would widen the selection.
	if len(oldTerms) > 0 && len(oldTerms) != len(newTerms) {
		return field.ErrorList{field.Invalid(termsPath, newTerms, "no additions/deletions to non-empty NodeSelectorTerms list are allowed")}
	}
	var allErrs field.ErrorList
	for i := range oldTerms {
		if !nodeSelectorTermHasOnlyAdditions(newTerms[i], oldTerms[i]) {
			allErrs = append(allErrs, field.Invalid(termsPath.Index(i), newTerms[i], "only additions are allowed (no mutations or deletions)"))
		}
	}
	return allErrs
}

// nodeSelectorTermHasOnlyAdditions: requirements within a term are ANDed,
// so appending narrows the selection; an empty old term cannot be narrowed
// without changing its meaning.
func nodeSelectorTermHasOnlyAdditions(newTerm, oldTerm corev1.NodeSelectorTerm) bool {
	if len(oldTerm.MatchExpressions) == 0 && len(oldTerm.MatchFields) == 0 {
		if len(newTerm.MatchExpressions) > 0 || len(newTerm.MatchFields) > 0 {
			return false
		}
	}
	if l := len(oldTerm.MatchExpressions); l > 0 {
		if len(newTerm.MatchExpressions) < l || !apiequality.Semantic.DeepEqual(newTerm.MatchExpressions[:l], oldTerm.MatchExpressions) {
			return false
		}
	}
	if l := len(oldTerm.MatchFields); l > 0 {
		if len(newTerm.MatchFields) < l || !apiequality.Semantic.DeepEqual(newTerm.MatchFields[:l], oldTerm.MatchFields) {
			return false
		}
	}
	return true
}

// ValidatePodEphemeralContainersUpdate validates an update through the
// ephemeralcontainers subresource: ephemeral containers may only be added.
func ValidatePodEphemeralContainersUpdate(newPod, oldPod *corev1.Pod) field.ErrorList {
	metaPath := field.NewPath("metadata")
	allErrs := validateObjectMetaUpdate(&newPod.ObjectMeta, &oldPod.ObjectMeta, metaPath)
	allErrs = append(allErrs, validatePodMetadataAndSpec(newPod)...)
	allErrs = append(allErrs, validatePodSpecificAnnotationChanges(newPod, oldPod, metaPath.Child("annotations"))...)

	// The kubelet does not run ephemeral containers in static pods (#113935).
	if _, ok := oldPod.Annotations[corev1.MirrorPodAnnotationKey]; ok {
		return field.ErrorList{field.Forbidden(field.NewPath(""), "static pods do not support ephemeral containers")}
	}

	// Patches do not keep order, so existing containers are matched by name.
	specPath := field.NewPath("spec").Child("ephemeralContainers")
	byName := make(map[string]*corev1.EphemeralContainer, len(newPod.Spec.EphemeralContainers))
	for i := range newPod.Spec.EphemeralContainers {
		byName[newPod.Spec.EphemeralContainers[i].Name] = &newPod.Spec.EphemeralContainers[i]
	}
	for _, old := range oldPod.Spec.EphemeralContainers {
		if updated, ok := byName[old.Name]; !ok {
			allErrs = append(allErrs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be removed\n", old.Name)))
		} else if !apiequality.Semantic.DeepEqual(old, *updated) {
			allErrs = append(allErrs, field.Forbidden(specPath, fmt.Sprintf("existing ephemeral containers %q may not be changed\n%v", old.Name, cmp.Diff(old, *updated))))
		}
	}

	// Upstream's strategy makes this impossible by copying the old spec;
	// checked here too so a registry bug cannot turn this into a spec update.
	munged := *newPod.Spec.DeepCopy()
	munged.EphemeralContainers = oldPod.Spec.EphemeralContainers
	if !apiequality.Semantic.DeepEqual(munged, oldPod.Spec) {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec"), "may not change fields other than `spec.ephemeralContainers` through the ephemeralcontainers subresource"))
	}
	return allErrs
}

// ValidatePodBinding validates a binding of a pod to a node.
func ValidatePodBinding(b *corev1.Binding) field.ErrorList {
	var allErrs field.ErrorList
	if len(b.Target.Kind) != 0 && b.Target.Kind != "Node" {
		allErrs = append(allErrs, field.NotSupported(field.NewPath("target", "kind"), b.Target.Kind, []string{"Node", "<empty>"}))
	}
	if len(b.Target.Name) == 0 {
		allErrs = append(allErrs, field.Required(field.NewPath("target", "name"), ""))
	}
	return allErrs
}
