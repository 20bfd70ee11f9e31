package validation

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Liveness and startup probes act on the first failure/success, so more than
// one required success would only delay a restart: successThreshold is 1.
func validateLivenessProbe(probe *corev1.Probe, gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	allErrs := validateProbe(probe, gracePeriod, fldPath)
	if probe.SuccessThreshold != 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("successThreshold"), probe.SuccessThreshold, "must be 1"))
	}
	return allErrs
}

// A readiness failure never kills the container, so a probe-level grace
// period would mean nothing.
func validateReadinessProbe(probe *corev1.Probe, gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	allErrs := validateProbe(probe, gracePeriod, fldPath)
	if probe.TerminationGracePeriodSeconds != nil {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), probe.TerminationGracePeriodSeconds, "must not be set for readinessProbes"))
	}
	return allErrs
}

func validateStartupProbe(probe *corev1.Probe, gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	if probe == nil {
		return nil
	}
	allErrs := validateProbe(probe, gracePeriod, fldPath)
	if probe.SuccessThreshold != 1 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("successThreshold"), probe.SuccessThreshold, "must be 1"))
	}
	return allErrs
}

// validateProbe checks the handler and timings. Defaulting has already
// replaced zero periods/thresholds, so only negatives are caught here.
func validateProbe(probe *corev1.Probe, gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	h := probe.ProbeHandler
	allErrs := validateHandler(commonHandler{Exec: h.Exec, HTTPGet: h.HTTPGet, TCPSocket: h.TCPSocket, GRPC: h.GRPC}, gracePeriod, fldPath)
	allErrs = append(allErrs, validateNonnegativeField(int64(probe.InitialDelaySeconds), fldPath.Child("initialDelaySeconds"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(probe.TimeoutSeconds), fldPath.Child("timeoutSeconds"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(probe.PeriodSeconds), fldPath.Child("periodSeconds"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(probe.SuccessThreshold), fldPath.Child("successThreshold"))...)
	allErrs = append(allErrs, validateNonnegativeField(int64(probe.FailureThreshold), fldPath.Child("failureThreshold"))...)
	if probe.TerminationGracePeriodSeconds != nil && *probe.TerminationGracePeriodSeconds <= 0 {
		allErrs = append(allErrs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), *probe.TerminationGracePeriodSeconds, "must be greater than 0"))
	}
	return allErrs
}

// commonHandler unifies probe and lifecycle handlers: each kind allows a
// different subset (grpc for probes, sleep for hooks).
type commonHandler struct {
	Exec      *corev1.ExecAction
	HTTPGet   *corev1.HTTPGetAction
	TCPSocket *corev1.TCPSocketAction
	GRPC      *corev1.GRPCAction
	Sleep     *corev1.SleepAction
}

// validateHandler requires exactly one action; extra ones are Forbidden on
// their own path so users see which one to remove.
func validateHandler(h commonHandler, gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	numHandlers := 0
	check := func(set bool, name string, validate func() field.ErrorList) {
		if !set {
			return
		}
		if numHandlers > 0 {
			allErrs = append(allErrs, field.Forbidden(fldPath.Child(name), "may not specify more than 1 handler type"))
			return
		}
		numHandlers++
		allErrs = append(allErrs, validate()...)
	}
	check(h.Exec != nil, "exec", func() field.ErrorList {
		if len(h.Exec.Command) == 0 {
			return field.ErrorList{field.Required(fldPath.Child("exec", "command"), "")}
		}
		return nil
	})
	check(h.HTTPGet != nil, "httpGet", func() field.ErrorList { return validateHTTPGetAction(h.HTTPGet, fldPath.Child("httpGet")) })
	check(h.TCPSocket != nil, "tcpSocket", func() field.ErrorList {
		return validatePortNumOrName(h.TCPSocket.Port, fldPath.Child("tcpSocket", "port"))
	})
	check(h.GRPC != nil, "grpc", func() field.ErrorList {
		return validatePortNumOrName(intstr.FromInt32(h.GRPC.Port), fldPath.Child("grpc", "port"))
	})
	check(h.Sleep != nil, "sleep", func() field.ErrorList { return validateSleepAction(h.Sleep, gracePeriod, fldPath.Child("sleep")) })
	if numHandlers == 0 {
		allErrs = append(allErrs, field.Required(fldPath, "must specify a handler type"))
	}
	return allErrs
}

var supportedHTTPSchemes = []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}

func validateHTTPGetAction(http *corev1.HTTPGetAction, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if len(http.Path) == 0 {
		allErrs = append(allErrs, field.Required(fldPath.Child("path"), ""))
	}
	allErrs = append(allErrs, validatePortNumOrName(http.Port, fldPath.Child("port"))...)
	if http.Scheme != corev1.URISchemeHTTP && http.Scheme != corev1.URISchemeHTTPS {
		allErrs = append(allErrs, field.NotSupported(fldPath.Child("scheme"), http.Scheme, supportedHTTPSchemes))
	}
	for _, header := range http.HTTPHeaders {
		for _, msg := range validation.IsHTTPHeaderName(header.Name) {
			allErrs = append(allErrs, field.Invalid(fldPath.Child("httpHeaders"), header.Name, msg))
		}
	}
	return allErrs
}

// validatePortNumOrName accepts a port number or an IANA service name
// referring to a named container port.
func validatePortNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	switch port.Type {
	case intstr.Int:
		for _, msg := range validation.IsValidPortNum(port.IntValue()) {
			allErrs = append(allErrs, field.Invalid(fldPath, port.IntValue(), msg))
		}
	case intstr.String:
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			allErrs = append(allErrs, field.Invalid(fldPath, port.StrVal, msg))
		}
	default:
		allErrs = append(allErrs, field.InternalError(fldPath, fmt.Errorf("unknown type: %v", port.Type)))
	}
	return allErrs
}

// validateSleepAction: a preStop sleep longer than the grace period would be
// cut short by SIGKILL. Zero is allowed (PodLifecycleSleepActionAllowZero).
// A nil grace period is already reported elsewhere, so it is not repeated.
func validateSleepAction(sleep *corev1.SleepAction, gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	if gracePeriod != nil && (sleep.Seconds < 0 || sleep.Seconds > *gracePeriod) {
		msg := fmt.Sprintf("must be non-negative and less than terminationGracePeriodSeconds (%d)", *gracePeriod)
		return field.ErrorList{field.Invalid(fldPath, sleep.Seconds, msg)}
	}
	return nil
}

func validateLifecycle(lifecycle *corev1.Lifecycle, gracePeriod *int64, fldPath *field.Path) field.ErrorList {
	var allErrs field.ErrorList
	if h := lifecycle.PostStart; h != nil {
		allErrs = append(allErrs, validateHandler(commonHandler{Exec: h.Exec, HTTPGet: h.HTTPGet, TCPSocket: h.TCPSocket, Sleep: h.Sleep}, gracePeriod, fldPath.Child("postStart"))...)
	}
	if h := lifecycle.PreStop; h != nil {
		allErrs = append(allErrs, validateHandler(commonHandler{Exec: h.Exec, HTTPGet: h.HTTPGet, TCPSocket: h.TCPSocket, Sleep: h.Sleep}, gracePeriod, fldPath.Child("preStop"))...)
	}
	return allErrs
}
