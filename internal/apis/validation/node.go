package validation

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
	schedulinghelper "k8s.io/component-helpers/scheduling/corev1"
	netutils "k8s.io/utils/net"
)

// ValidateNode validates a node on creation. Status fields are optional but
// must be valid when given.
func ValidateNode(n *corev1.Node) field.ErrorList {
	metaPath := field.NewPath("metadata")
	allErrs := validateObjectMeta(&n.ObjectMeta, false, validateNodeName, metaPath)
	allErrs = append(allErrs, validateNodeSpecificAnnotations(n.Annotations, metaPath.Child("annotations"))...)
	// Upstream reports spec taints under metadata; kept for fidelity.
	allErrs = append(allErrs, validateNodeTaints(n.Spec.Taints, metaPath.Child("taints"))...)
	allErrs = append(allErrs, validateNodeResources(n)...)

	if len(n.Spec.PodCIDRs) > 0 {
		cidrsPath := field.NewPath("spec", "podCIDRs")
		for i, value := range n.Spec.PodCIDRs {
			allErrs = append(allErrs, validation.IsValidCIDR(cidrsPath.Index(i), value)...)
		}
		if len(n.Spec.PodCIDRs) > 1 {
			dualStack, err := netutils.IsDualStackCIDRStrings(n.Spec.PodCIDRs)
			if err != nil {
				allErrs = append(allErrs, field.InternalError(cidrsPath, fmt.Errorf("invalid PodCIDRs. failed to check with dual stack with error:%v", err)))
			}
			if !dualStack || len(n.Spec.PodCIDRs) > 2 {
				allErrs = append(allErrs, field.Invalid(cidrsPath, n.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
			}
			seen := sets.New[string]()
			for i, value := range n.Spec.PodCIDRs {
				if seen.Has(value) {
					allErrs = append(allErrs, field.Duplicate(cidrsPath.Index(i), value))
				}
				seen.Insert(value)
			}
		}
	}
	return allErrs
}

// ValidateNodeUpdate validates a node update. Most of the spec may change
// (taints, unschedulable); podCIDRs and providerID may only be set once.
func ValidateNodeUpdate(n, old *corev1.Node) field.ErrorList {
	metaPath := field.NewPath("metadata")
	allErrs := validateObjectMetaUpdate(&n.ObjectMeta, &old.ObjectMeta, metaPath)
	allErrs = append(allErrs, validateNodeSpecificAnnotations(n.Annotations, metaPath.Child("annotations"))...)
	allErrs = append(allErrs, validateNodeResources(n)...)

	addresses := map[corev1.NodeAddress]bool{}
	for i, address := range n.Status.Addresses {
		if addresses[address] {
			allErrs = append(allErrs, field.Duplicate(field.NewPath("status", "addresses").Index(i), address))
		}
		addresses[address] = true
	}
	// The controller manager may assign CIDRs and a provider ID once.
	if len(old.Spec.PodCIDRs) > 0 {
		cidrsPath := field.NewPath("spec", "podCIDRs")
		const msg = "node updates may not change podCIDR except from \"\" to valid"
		if len(old.Spec.PodCIDRs) != len(n.Spec.PodCIDRs) {
			allErrs = append(allErrs, field.Forbidden(cidrsPath, msg))
		} else {
			for i, value := range old.Spec.PodCIDRs {
				if value != n.Spec.PodCIDRs[i] {
					allErrs = append(allErrs, field.Forbidden(cidrsPath, msg))
				}
			}
		}
	}
	if len(old.Spec.ProviderID) > 0 && old.Spec.ProviderID != n.Spec.ProviderID {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	if n.Spec.ConfigSource != nil {
		allErrs = append(allErrs, validateNodeConfigSource(n.Spec.ConfigSource, true, field.NewPath("spec", "configSource"))...)
	}
	if c := n.Status.Config; c != nil {
		statusPath := field.NewPath("status", "config")
		for _, s := range []struct {
			src  *corev1.NodeConfigSource
			name string
		}{{c.Assigned, "assigned"}, {c.Active, "active"}, {c.LastKnownGood, "lastKnownGood"}} {
			if s.src != nil {
				allErrs = append(allErrs, validateNodeConfigSource(s.src, false, statusPath.Child(s.name))...)
			}
		}
	}
	allErrs = append(allErrs, validateNodeTaints(n.Spec.Taints, metaPath.Child("taints"))...)
	if n.Spec.DoNotUseExternalID != old.Spec.DoNotUseExternalID {
		allErrs = append(allErrs, field.Forbidden(field.NewPath("spec", "externalID"), "may not be updated"))
	}
	return allErrs
}

// validateNodeResources checks capacity and allocatable quantities. The
// resource name is a path child here, as upstream prints it.
func validateNodeResources(n *corev1.Node) field.ErrorList {
	var allErrs field.ErrorList
	for _, k := range sets.List(sets.KeySet(n.Status.Capacity)) {
		allErrs = append(allErrs, validateResourceQuantityValue(k, n.Status.Capacity[k], field.NewPath("status", "capacity", string(k)))...)
	}
	for _, k := range sets.List(sets.KeySet(n.Status.Allocatable)) {
		allErrs = append(allErrs, validateResourceQuantityValue(k, n.Status.Allocatable[k], field.NewPath("status", "allocatable", string(k)))...)
	}
	return allErrs
}

// validateNodeSpecificAnnotations checks the legacy JSON annotations the
// scheduler still reads (taints and preferAvoidPods).
func validateNodeSpecificAnnotations(annotations map[string]string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if v := annotations[corev1.TaintsAnnotationKey]; v != "" {
		var taints []corev1.Taint
		if err := json.Unmarshal([]byte(v), &taints); err != nil {
			allErrs = append(allErrs, field.Invalid(fldPath, corev1.TaintsAnnotationKey, err.Error()))
		} else {
			allErrs = append(allErrs, validateNodeTaints(taints, fldPath.Child(corev1.TaintsAnnotationKey))...)
		}
	}
	if annotations[corev1.PreferAvoidPodsAnnotationKey] != "" {
		avoids, err := schedulinghelper.GetAvoidPodsFromNodeAnnotations(annotations)
		if err != nil {
			return append(allErrs, field.Invalid(fldPath.Child("AvoidPods"), corev1.PreferAvoidPodsAnnotationKey, err.Error()))
		}
		for i, entry := range avoids.PreferAvoidPods {
			idxPath := fldPath.Child(corev1.PreferAvoidPodsAnnotationKey).Index(i)
			ctrl := entry.PodSignature.PodController
			if ctrl == nil {
				allErrs = append(allErrs, field.Required(idxPath.Child("PodSignature"), ""))
			} else if ctrl.Controller == nil || !*ctrl.Controller {
				// Upstream dereferences without a nil check; a missing value
				// is treated as false instead of crashing.
				allErrs = append(allErrs, field.Invalid(idxPath.Child("PodSignature").Child("PodController").Child("Controller"), ctrl.Controller != nil && *ctrl.Controller, "must point to a controller"))
			}
		}
	}
	return allErrs
}

// validateNodeConfigSource checks the deprecated dynamic kubelet config
// reference; status references must carry uid and resourceVersion, spec
// references must not.
func validateNodeConfigSource(source *corev1.NodeConfigSource, spec bool, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if cm := source.ConfigMap; cm != nil {
		p := fldPath.Child("configMap")
		if spec {
			if cm.UID != "" {
				allErrs = append(allErrs, field.Forbidden(p.Child("uid"), "uid must not be set in spec"))
			}
			if cm.ResourceVersion != "" {
				allErrs = append(allErrs, field.Forbidden(p.Child("resourceVersion"), "resourceVersion must not be set in spec"))
			}
		} else {
			if cm.UID == "" {
				allErrs = append(allErrs, field.Required(p.Child("uid"), "uid must be set in status"))
			}
			if cm.ResourceVersion == "" {
				allErrs = append(allErrs, field.Required(p.Child("resourceVersion"), "resourceVersion must be set in status"))
			}
		}
		if cm.Namespace == "" {
			allErrs = append(allErrs, field.Required(p.Child("namespace"), "namespace must be set"))
		} else {
			allErrs = append(allErrs, nameErrors(validateNamespaceName, cm.Namespace, false, p.Child("namespace"))...)
		}
		if cm.Name == "" {
			allErrs = append(allErrs, field.Required(p.Child("name"), "name must be set"))
		} else {
			allErrs = append(allErrs, nameErrors(validateConfigMapName, cm.Name, false, p.Child("name"))...)
		}
		if cm.KubeletConfigKey == "" {
			allErrs = append(allErrs, field.Required(p.Child("kubeletConfigKey"), "kubeletConfigKey must be set"))
		} else {
			for _, msg := range validation.IsConfigMapKey(cm.KubeletConfigKey) {
				allErrs = append(allErrs, field.Invalid(p.Child("kubeletConfigKey"), cm.KubeletConfigKey, msg))
			}
		}
	} else {
		allErrs = append(allErrs, field.Invalid(fldPath, source, "exactly one reference subfield must be non-nil"))
	}
	return allErrs
}
