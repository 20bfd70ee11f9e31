package validation

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// visitContainersWithPath calls visit for init, regular and ephemeral
// containers (in that order) with their field paths.
func visitContainersWithPath(spec *corev1.PodSpec, specPath *field.Path, visit func(c *corev1.Container, path *field.Path)) {
	for i := range spec.InitContainers {
		visit(&spec.InitContainers[i], specPath.Child("initContainers").Index(i))
	}
	for i := range spec.Containers {
		visit(&spec.Containers[i], specPath.Child("containers").Index(i))
	}
	for i := range spec.EphemeralContainers {
		c := corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon)
		visit(&c, specPath.Child("ephemeralContainers").Index(i))
	}
}

// validateLinux: Windows-only options make no sense on a Linux pod.
func validateLinux(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	const msg = "windows options cannot be set for a linux pod"
	if spec.SecurityContext != nil && spec.SecurityContext.WindowsOptions != nil {
		allErrs = append(allErrs, field.Forbidden(fldPath.Child("securityContext").Child("windowsOptions"), msg))
	}
	visitContainersWithPath(spec, fldPath, func(c *corev1.Container, p *field.Path) {
		if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
			allErrs = append(allErrs, field.Forbidden(p.Child("securityContext").Child("windowsOptions"), msg))
		}
	})
	return allErrs
}

// validateWindows: Linux-only security settings are rejected on Windows pods
// instead of being silently ignored by the Windows kubelet.
func validateWindows(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	const msg = "cannot be set for a windows pod"
	forbid := func(set bool, p *field.Path) {
		if set {
			allErrs = append(allErrs, field.Forbidden(p, msg))
		}
	}
	scPath := fldPath.Child("securityContext")
	sc := spec.SecurityContext
	if sc == nil {
		// Host namespace flags belong to the pod security context upstream,
		// so they are checked even without one.
		sc = &corev1.PodSecurityContext{}
	}
	forbid(sc.AppArmorProfile != nil, scPath.Child("appArmorProfile"))
	forbid(sc.SELinuxOptions != nil, scPath.Child("seLinuxOptions"))
	forbid(spec.HostUsers != nil, fldPath.Child("hostUsers"))
	forbid(spec.HostPID, fldPath.Child("hostPID"))
	forbid(spec.HostIPC, fldPath.Child("hostIPC"))
	forbid(sc.SeccompProfile != nil, scPath.Child("seccompProfile"))
	forbid(sc.FSGroup != nil, scPath.Child("fsGroup"))
	forbid(sc.FSGroupChangePolicy != nil, scPath.Child("fsGroupChangePolicy"))
	forbid(len(sc.Sysctls) > 0, scPath.Child("sysctls"))
	forbid(spec.ShareProcessNamespace != nil, fldPath.Child("shareProcessNamespace"))
	forbid(sc.RunAsUser != nil, scPath.Child("runAsUser"))
	forbid(sc.RunAsGroup != nil, scPath.Child("runAsGroup"))
	forbid(sc.SupplementalGroups != nil, scPath.Child("supplementalGroups"))
	forbid(sc.SupplementalGroupsPolicy != nil, scPath.Child("supplementalGroupsPolicy"))
	forbid(sc.SELinuxChangePolicy != nil, scPath.Child("seLinuxChangePolicy"))
	visitContainersWithPath(spec, fldPath, func(c *corev1.Container, p *field.Path) {
		sc := c.SecurityContext
		if sc == nil {
			return
		}
		cp := p.Child("securityContext")
		forbid(sc.AppArmorProfile != nil, cp.Child("appArmorProfile"))
		forbid(sc.SELinuxOptions != nil, cp.Child("seLinuxOptions"))
		forbid(sc.SeccompProfile != nil, cp.Child("seccompProfile"))
		forbid(sc.Capabilities != nil, cp.Child("capabilities"))
		forbid(sc.ReadOnlyRootFilesystem != nil, cp.Child("readOnlyRootFilesystem"))
		forbid(sc.Privileged != nil, cp.Child("privileged"))
		forbid(sc.AllowPrivilegeEscalation != nil, cp.Child("allowPrivilegeEscalation"))
		forbid(sc.ProcMount != nil, cp.Child("procMount"))
		forbid(sc.RunAsUser != nil, cp.Child("runAsUser"))
		forbid(sc.RunAsGroup != nil, cp.Child("runAsGroup"))
	})
	return allErrs
}

// validateWindowsHostProcessPod: HostProcess containers run on the host, so
// a pod is either entirely HostProcess (with hostNetwork) or not at all.
func validateWindowsHostProcessPod(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	var podHostProcess *bool
	if spec.SecurityContext != nil && spec.SecurityContext.WindowsOptions != nil {
		podHostProcess = spec.SecurityContext.WindowsOptions.HostProcess
	}
	containerCount, hostProcessCount := 0, 0
	visitContainersWithPath(spec, fldPath, func(c *corev1.Container, p *field.Path) {
		containerCount++
		var ctrHostProcess *bool
		if c.SecurityContext != nil && c.SecurityContext.WindowsOptions != nil {
			ctrHostProcess = c.SecurityContext.WindowsOptions.HostProcess
		}
		if podHostProcess != nil && ctrHostProcess != nil && *podHostProcess != *ctrHostProcess {
			allErrs = append(allErrs, field.Invalid(p.Child("securityContext", "windowsOptions", "hostProcess"), *ctrHostProcess,
				fmt.Sprintf("pod hostProcess value must be identical if both are specified, was %v", *podHostProcess)))
		}
		if (ctrHostProcess != nil && *ctrHostProcess) || (ctrHostProcess == nil && podHostProcess != nil && *podHostProcess) {
			hostProcessCount++
		}
	})
	if hostProcessCount > 0 {
		if hostProcessCount != containerCount {
			allErrs = append(allErrs, field.Invalid(fldPath, "", "If pod contains any hostProcess containers then all containers must be HostProcess containers"))
		}
		if !spec.HostNetwork {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("hostNetwork"), spec.HostNetwork, "hostNetwork must be true if pod contains any hostProcess containers"))
		}
	}
	return allErrs
}

// validateSeccompProfileAnnotation checks a legacy seccomp annotation value.
func validateSeccompProfileAnnotation(p string, fldPath *field.Path) field.ErrorList {
	switch {
	case p == corev1.SeccompProfileRuntimeDefault, p == corev1.DeprecatedSeccompProfileDockerDefault, p == corev1.SeccompProfileNameUnconfined:
		return nil
	case strings.HasPrefix(p, corev1.SeccompLocalhostProfileNamePrefix):
		return validateLocalDescendingPath(strings.TrimPrefix(p, corev1.SeccompLocalhostProfileNamePrefix), fldPath)
	default:
		return field.ErrorList{field.Invalid(fldPath, p, "must be a valid seccomp profile")}
	}
}

// validateSeccompPodAnnotations: upstream addresses these with Child, not
// Key, so the path reads "metadata.annotations.seccomp...".
func validateSeccompPodAnnotations(annotations map[string]string, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if p, ok := annotations[corev1.SeccompPodAnnotationKey]; ok {
		allErrs = append(allErrs, validateSeccompProfileAnnotation(p, fldPath.Child(corev1.SeccompPodAnnotationKey))...)
	}
	for _, k := range sets.List(sets.KeySet(annotations)) {
		if strings.HasPrefix(k, corev1.SeccompContainerAnnotationKeyPrefix) {
			allErrs = append(allErrs, validateSeccompProfileAnnotation(annotations[k], fldPath.Child(k))...)
		}
	}
	return allErrs
}

// validateAppArmorPodAnnotations checks the deprecated per-container
// AppArmor annotations: the container must exist, the profile be known.
func validateAppArmorPodAnnotations(annotations map[string]string, spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	for _, k := range sets.List(sets.KeySet(annotations)) {
		if !strings.HasPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix) {
			continue
		}
		name := strings.TrimPrefix(k, corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix)
		found := false
		visitContainersWithPath(spec, field.NewPath("spec"), func(c *corev1.Container, _ *field.Path) { found = found || c.Name == name })
		if !found {
			allErrs = append(allErrs, field.Invalid(fldPath.Key(k), name, "container not found"))
		}
		p := annotations[k]
		if p != "" && p != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault && p != corev1.DeprecatedAppArmorBetaProfileNameUnconfined &&
			!strings.HasPrefix(p, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
			allErrs = append(allErrs, field.Invalid(fldPath.Key(k), p, fmt.Sprintf("invalid AppArmor profile name: %q", p)))
		}
	}
	return allErrs
}

// validateSeccompAnnotationsAndFields: when both the legacy annotation and
// the field are set they must agree, or the runtime would get two answers.
func validateSeccompAnnotationsAndFields(meta metav1.ObjectMeta, spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if spec.SecurityContext != nil && spec.SecurityContext.SeccompProfile != nil {
		if a, ok := meta.Annotations[corev1.SeccompPodAnnotationKey]; ok {
			allErrs = append(allErrs, seccompMismatch(a, spec.SecurityContext.SeccompProfile, specPath.Child("securityContext").Child("seccompProfile"))...)
		}
	}
	visitContainersWithPath(spec, specPath, func(c *corev1.Container, p *field.Path) {
		if c.SecurityContext == nil || c.SecurityContext.SeccompProfile == nil {
			return
		}
		if a, ok := meta.Annotations[corev1.SeccompContainerAnnotationKeyPrefix+c.Name]; ok {
			allErrs = append(allErrs, seccompMismatch(a, c.SecurityContext.SeccompProfile, p.Child("securityContext").Child("seccompProfile"))...)
		}
	})
	return allErrs
}

func seccompMismatch(annotation string, sp *corev1.SeccompProfile, fldPath *field.Path) field.ErrorList {
	typeErr := field.ErrorList{field.Forbidden(fldPath.Child("type"), "seccomp type in annotation and field must match")}
	switch sp.Type {
	case corev1.SeccompProfileTypeUnconfined:
		if annotation != corev1.SeccompProfileNameUnconfined {
			return typeErr
		}
	case corev1.SeccompProfileTypeRuntimeDefault:
		if annotation != corev1.SeccompProfileRuntimeDefault && annotation != corev1.DeprecatedSeccompProfileDockerDefault {
			return typeErr
		}
	case corev1.SeccompProfileTypeLocalhost:
		if !strings.HasPrefix(annotation, corev1.SeccompLocalhostProfileNamePrefix) {
			return typeErr
		}
		if sp.LocalhostProfile == nil || strings.TrimPrefix(annotation, corev1.SeccompLocalhostProfileNamePrefix) != *sp.LocalhostProfile {
			return field.ErrorList{field.Forbidden(fldPath.Child("localhostProfile"), "seccomp profile in annotation and field must match")}
		}
	}
	return nil
}

// validateAppArmorAnnotationsAndFieldsMatchOnCreate mirrors the seccomp
// check for AppArmor; Windows pods have no AppArmor and are skipped.
func validateAppArmorAnnotationsAndFieldsMatchOnCreate(meta metav1.ObjectMeta, spec *corev1.PodSpec, specPath *field.Path) field.ErrorList {
	if spec.OS != nil && spec.OS.Name == corev1.Windows {
		return nil
	}
	var allErrs field.ErrorList
	var podProfile *corev1.AppArmorProfile
	if spec.SecurityContext != nil {
		podProfile = spec.SecurityContext.AppArmorProfile
	}
	visitContainersWithPath(spec, specPath, func(c *corev1.Container, p *field.Path) {
		profile := podProfile
		if c.SecurityContext != nil && c.SecurityContext.AppArmorProfile != nil {
			profile = c.SecurityContext.AppArmorProfile
		}
		annotation, found := meta.Annotations[corev1.DeprecatedAppArmorBetaContainerAnnotationKeyPrefix+c.Name]
		if profile == nil || !found {
			return
		}
		aaPath := p.Child("securityContext").Child("appArmorProfile")
		typeErr := field.Forbidden(aaPath.Child("type"), "apparmor type in annotation and field must match")
		switch profile.Type {
		case corev1.AppArmorProfileTypeUnconfined:
			if annotation != corev1.DeprecatedAppArmorBetaProfileNameUnconfined {
				allErrs = append(allErrs, typeErr)
			}
		case corev1.AppArmorProfileTypeRuntimeDefault:
			if annotation != corev1.DeprecatedAppArmorBetaProfileRuntimeDefault {
				allErrs = append(allErrs, typeErr)
			}
		case corev1.AppArmorProfileTypeLocalhost:
			if !strings.HasPrefix(annotation, corev1.DeprecatedAppArmorBetaProfileNamePrefix) {
				allErrs = append(allErrs, typeErr)
			} else if profile.LocalhostProfile == nil || strings.TrimPrefix(annotation, corev1.DeprecatedAppArmorBetaProfileNamePrefix) != *profile.LocalhostProfile {
				allErrs = append(allErrs, field.Forbidden(aaPath.Child("localhostProfile"), "apparmor profile in annotation and field must match"))
			}
		}
	})
	return allErrs
}
