package podstatus

import (
	corev1 "k8s.io/api/core/v1"
)

// Phase returns the pod phase the kubelet's getPhase derives from container
// statuses (1.35+ semantics, container restart rules included):
//
//   - a regular init container that failed and will not be restarted fails
//     the pod; one still pending (or running) keeps it Pending;
//   - sidecars (init containers with restartPolicy Always) keep the pod
//     Pending only until it has initialized, and never block completion:
//     their terminations do not count;
//   - any waiting container without a previous termination keeps it Pending;
//   - otherwise a running container makes it Running, and once every
//     regular container has stopped it is Succeeded if all exited 0 and none
//     will restart, Running while any will restart, Failed otherwise.
//
// podIsTerminal means the containers will not be restarted whatever the
// policy. The pod counts as initialized once any regular container runs or
// has terminated.
func Phase(spec *corev1.PodSpec, initStatuses, statuses []corev1.ContainerStatus, podIsTerminal bool) corev1.PodPhase {
	initialized := false
	for i := range statuses {
		if statuses[i].State.Running != nil || statuses[i].State.Terminated != nil {
			initialized = true
			break
		}
	}
	return phase(spec, initStatuses, statuses, podIsTerminal, initialized)
}

func phase(spec *corev1.PodSpec, initStatuses, statuses []corev1.ContainerStatus, podIsTerminal, podHasInitialized bool) corev1.PodPhase {
	var pendingInit, pendingSidecars, initFailedForGood int
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if isSidecar(c) {
			continue
		}
		st := findStatus(initStatuses, c.Name)
		switch {
		case st == nil:
			pendingInit++
		case st.State.Running != nil:
			pendingInit++
		case st.State.Terminated != nil:
			if code := st.State.Terminated.ExitCode; code != 0 && !containerShouldRestart(c, spec, code) {
				initFailedForGood++
			}
		case st.State.Waiting != nil && st.LastTerminationState.Terminated != nil:
			if code := st.LastTerminationState.Terminated.ExitCode; code != 0 && !containerShouldRestart(c, spec, code) {
				initFailedForGood++
			}
		default:
			pendingInit++
		}
	}

	var unknown, running, waiting, stopped, stoppedForGood, succeeded int
	for i := range spec.InitContainers {
		c := &spec.InitContainers[i]
		if !isSidecar(c) {
			continue
		}
		st := findStatus(initStatuses, c.Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			if st.Started == nil || !*st.Started {
				pendingSidecars++
			}
			running++
		case st.State.Terminated != nil:
			// A stopped sidecar does not count towards the phase.
		case st.State.Waiting != nil:
			if st.LastTerminationState.Terminated == nil {
				pendingSidecars++
				waiting++
			}
		default:
			pendingSidecars++
			unknown++
		}
	}

	for i := range spec.Containers {
		c := &spec.Containers[i]
		st := findStatus(statuses, c.Name)
		switch {
		case st == nil:
			unknown++
		case st.State.Running != nil:
			running++
		case st.State.Terminated != nil:
			stopped++
			code := st.State.Terminated.ExitCode
			if !containerShouldRestart(c, spec, code) {
				stoppedForGood++
			}
			if code == 0 {
				succeeded++
			}
		case st.State.Waiting != nil:
			if t := st.LastTerminationState.Terminated; t != nil {
				// Waiting to be restarted after a termination: stopped,
				// but never counted as succeeded.
				stopped++
				if !containerShouldRestart(c, spec, t.ExitCode) {
					stoppedForGood++
				}
			} else {
				waiting++
			}
		default:
			unknown++
		}
	}

	if initFailedForGood > 0 {
		return corev1.PodFailed
	}
	switch {
	case pendingInit > 0 || (pendingSidecars > 0 && !podHasInitialized) || waiting > 0:
		return corev1.PodPending
	case running > 0 && unknown == 0:
		return corev1.PodRunning
	case running == 0 && stopped > 0 && unknown == 0:
		if podIsTerminal {
			if stopped == succeeded {
				return corev1.PodSucceeded
			}
			return corev1.PodFailed
		}
		if stopped != stoppedForGood {
			return corev1.PodRunning // some will be restarted
		}
		if stopped == succeeded {
			return corev1.PodSucceeded
		}
		return corev1.PodFailed
	default:
		return corev1.PodPending
	}
}

// containerShouldRestart applies a container's restart rules, then its own
// restart policy, then the pod's (podutil.ContainerShouldRestart).
func containerShouldRestart(c *corev1.Container, spec *corev1.PodSpec, exitCode int32) bool {
	if c.RestartPolicy != nil {
		// Only the first matching rule counts; other actions fall through
		// to the policy.
		for _, rule := range c.RestartPolicyRules {
			if exitCodeMatches(rule.ExitCodes, exitCode) {
				if rule.Action == corev1.ContainerRestartRuleActionRestart {
					return true
				}
				break
			}
		}
		switch *c.RestartPolicy {
		case corev1.ContainerRestartPolicyAlways:
			return true
		case corev1.ContainerRestartPolicyOnFailure:
			return exitCode != 0
		case corev1.ContainerRestartPolicyNever:
			return false
		}
	}
	switch spec.RestartPolicy {
	case corev1.RestartPolicyOnFailure:
		return exitCode != 0
	case corev1.RestartPolicyNever:
		return false
	default: // Always, the default
		return true
	}
}

func exitCodeMatches(r *corev1.ContainerRestartRuleOnExitCodes, exitCode int32) bool {
	if r == nil {
		return false
	}
	in := false
	for _, v := range r.Values {
		if v == exitCode {
			in = true
			break
		}
	}
	switch r.Operator {
	case corev1.ContainerRestartRuleOnExitCodesOpIn:
		return in
	case corev1.ContainerRestartRuleOnExitCodesOpNotIn:
		return !in
	default:
		return false
	}
}

func findStatus(statuses []corev1.ContainerStatus, name string) *corev1.ContainerStatus {
	for i := range statuses {
		if statuses[i].Name == name {
			return &statuses[i]
		}
	}
	return nil
}
