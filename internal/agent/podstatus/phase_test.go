package podstatus

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestPhaseFollowsGetPhase(t *testing.T) {
	run := func(name string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, Started: ptr.To(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	}
	runNotStarted := func(name string) corev1.ContainerStatus {
		s := run(name)
		s.Started = ptr.To(false)
		return s
	}
	exit := func(name string, code int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name,
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}
	}
	wait := func(name string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name,
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}
	}
	backoff := func(name string, lastCode int32) corev1.ContainerStatus {
		s := wait(name)
		s.State.Waiting.Reason = "CrashLoopBackOff"
		s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: lastCode}
		return s
	}
	list := func(s ...corev1.ContainerStatus) []corev1.ContainerStatus { return s }
	spec := func(policy corev1.RestartPolicy, init, sidecars int) *corev1.PodSpec {
		p := withInit(newPod(policy, "a", "b"), false, []string{"i1", "i2"}[:init]...)
		p = withInit(p, true, []string{"s1", "s2"}[:sidecars]...)
		return &p.Spec
	}

	cases := []struct {
		name     string
		spec     *corev1.PodSpec
		init     []corev1.ContainerStatus
		app      []corev1.ContainerStatus
		terminal bool
		want     corev1.PodPhase
	}{
		{"nothing reported yet", spec(corev1.RestartPolicyAlways, 0, 0), nil, nil, false, corev1.PodPending},
		{"one of two waiting", spec(corev1.RestartPolicyAlways, 0, 0), nil, list(run("a"), wait("b")), false, corev1.PodPending},
		{"one of two unknown", spec(corev1.RestartPolicyAlways, 0, 0), nil, list(run("a")), false, corev1.PodPending},
		{"all running", spec(corev1.RestartPolicyAlways, 0, 0), nil, list(run("a"), run("b")), false, corev1.PodRunning},
		{"one running one exited", spec(corev1.RestartPolicyNever, 0, 0), nil, list(run("a"), exit("b", 1)), false, corev1.PodRunning},
		{"Always: all exited 0 restart", spec(corev1.RestartPolicyAlways, 0, 0), nil, list(exit("a", 0), exit("b", 0)), false, corev1.PodRunning},
		{"Always: exited in back-off", spec(corev1.RestartPolicyAlways, 0, 0), nil, list(backoff("a", 0), backoff("b", 2)), false, corev1.PodRunning},
		{"Never: all exited 0", spec(corev1.RestartPolicyNever, 0, 0), nil, list(exit("a", 0), exit("b", 0)), false, corev1.PodSucceeded},
		{"Never: one failed", spec(corev1.RestartPolicyNever, 0, 0), nil, list(exit("a", 0), exit("b", 1)), false, corev1.PodFailed},
		{"OnFailure: all exited 0", spec(corev1.RestartPolicyOnFailure, 0, 0), nil, list(exit("a", 0), exit("b", 0)), false, corev1.PodSucceeded},
		{"OnFailure: a failure restarts", spec(corev1.RestartPolicyOnFailure, 0, 0), nil, list(exit("a", 0), exit("b", 1)), false, corev1.PodRunning},
		{"OnFailure: a failure in back-off restarts", spec(corev1.RestartPolicyOnFailure, 0, 0), nil, list(exit("a", 0), backoff("b", 1)), false, corev1.PodRunning},
		{"terminal: all exited 0 despite Always", spec(corev1.RestartPolicyAlways, 0, 0), nil, list(exit("a", 0), exit("b", 0)), true, corev1.PodSucceeded},
		{"terminal: a failure despite OnFailure", spec(corev1.RestartPolicyOnFailure, 0, 0), nil, list(exit("a", 0), exit("b", 137)), true, corev1.PodFailed},
		{"terminal: a back-off never counts as success", spec(corev1.RestartPolicyAlways, 0, 0), nil, list(exit("a", 0), backoff("b", 0)), true, corev1.PodFailed},
		{"init: first running", spec(corev1.RestartPolicyAlways, 2, 0), list(run("i1"), wait("i2")), list(wait("a"), wait("b")), false, corev1.PodPending},
		{"init: failed, Never", spec(corev1.RestartPolicyNever, 2, 0), list(exit("i1", 1), wait("i2")), list(wait("a"), wait("b")), false, corev1.PodFailed},
		{"init: failed in back-off, Never", spec(corev1.RestartPolicyNever, 2, 0), list(backoff("i1", 1), wait("i2")), list(wait("a"), wait("b")), false, corev1.PodFailed},
		{"init: failed, OnFailure retries", spec(corev1.RestartPolicyOnFailure, 2, 0), list(backoff("i1", 1), wait("i2")), list(wait("a"), wait("b")), false, corev1.PodPending},
		{"init: done", spec(corev1.RestartPolicyAlways, 2, 0), list(exit("i1", 0), exit("i2", 0)), list(run("a"), run("b")), false, corev1.PodRunning},
		{"sidecar not started yet", spec(corev1.RestartPolicyAlways, 0, 1), list(runNotStarted("s1")), list(wait("a"), wait("b")), false, corev1.PodPending},
		{"sidecar started, apps running", spec(corev1.RestartPolicyAlways, 0, 1), list(run("s1")), list(run("a"), run("b")), false, corev1.PodRunning},
		{"sidecar restarting after init", spec(corev1.RestartPolicyAlways, 0, 1), list(runNotStarted("s1")), list(run("a"), run("b")), false, corev1.PodRunning},
		{"sidecar in back-off, apps running", spec(corev1.RestartPolicyAlways, 0, 1), list(backoff("s1", 1)), list(run("a"), run("b")), false, corev1.PodRunning},
		{"sidecar running, apps done, Never", spec(corev1.RestartPolicyNever, 0, 1), list(run("s1")), list(exit("a", 0), exit("b", 0)), false, corev1.PodRunning},
		{"sidecar stopped, apps done, Never", spec(corev1.RestartPolicyNever, 0, 1), list(exit("s1", 143)), list(exit("a", 0), exit("b", 0)), false, corev1.PodSucceeded},
		{"sidecar stopped, app failed, Never", spec(corev1.RestartPolicyNever, 0, 1), list(exit("s1", 0)), list(exit("a", 0), exit("b", 1)), false, corev1.PodFailed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Phase(tc.spec, tc.init, tc.app, tc.terminal); got != tc.want {
				t.Fatalf("Phase = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestContainerRestartRulesDecideWhetherAnExitIsFinal(t *testing.T) {
	never := corev1.ContainerRestartPolicyNever
	pod := newPod(corev1.RestartPolicyAlways, "a")
	// Restart only on exit 42; anything else is final despite the pod's Always.
	pod.Spec.Containers[0].RestartPolicy = &never
	pod.Spec.Containers[0].RestartPolicyRules = []corev1.ContainerRestartRule{{
		Action:    corev1.ContainerRestartRuleActionRestart,
		ExitCodes: &corev1.ContainerRestartRuleOnExitCodes{Operator: corev1.ContainerRestartRuleOnExitCodesOpIn, Values: []int32{42}},
	}}
	exit := func(code int32) []corev1.ContainerStatus {
		return []corev1.ContainerStatus{{Name: "a",
			State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: code}}}}
	}
	for code, want := range map[int32]corev1.PodPhase{42: corev1.PodRunning, 1: corev1.PodFailed, 0: corev1.PodSucceeded} {
		if got := Phase(&pod.Spec, nil, exit(code), false); got != want {
			t.Errorf("exit %d: Phase = %s, want %s", code, got, want)
		}
	}
}
