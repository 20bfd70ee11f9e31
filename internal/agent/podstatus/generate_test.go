package podstatus

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/orca-pods/orca/internal/runtime"
)

// TestGenerateMatchesTheKubeletsPodStatus checks containers, phase, pod
// reason and conditions field by field for the situations users see in
// kubectl get/describe.
func TestGenerateMatchesTheKubeletsPodStatus(t *testing.T) {
	type want struct {
		phase           corev1.PodPhase
		reason, message string
		init            []corev1.ContainerStatus
		containers      []corev1.ContainerStatus
		conditions      []corev1.PodCondition
	}
	cases := []struct {
		name string
		pod  *corev1.Pod
		in   Input
		want want
	}{
		{
			name: "new pod without sandbox waits in ContainerCreating",
			pod:  newPod(corev1.RestartPolicyAlways, "app"),
			in:   Input{},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				return want{
					phase:      corev1.PodPending,
					containers: []corev1.ContainerStatus{waitingStatus("app", "ContainerCreating")},
					conditions: kubeletConds(corev1.ConditionFalse, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "image pull failure replaces the default waiting reason",
			pod:  newPod(corev1.RestartPolicyAlways, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": {Waiting: &corev1.ContainerStateWaiting{
					Reason:  "ErrImagePull",
					Message: `failed to pull and unpack image "busybox:1.37": not found`,
				}},
			}},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				st := waitingStatus("app", "ErrImagePull")
				st.State.Waiting.Message = `failed to pull and unpack image "busybox:1.37": not found`
				return want{
					phase:      corev1.PodPending,
					containers: []corev1.ContainerStatus{st},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "two running containers are reported by name and the pod is Ready",
			pod:  newPod(corev1.RestartPolicyAlways, "web", "log"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"web": up("c-web", 0), "log": up("c-log", 0),
			}},
			want: func() want {
				r, cr := readyTrue()
				return want{
					phase: corev1.PodRunning,
					containers: []corev1.ContainerStatus{
						runningStatus("log", "c-log", 0, true),
						runningStatus("web", "c-web", 0, true),
					},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "running but not yet passing readiness is not ready",
			pod:  newPod(corev1.RestartPolicyAlways, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": {Current: running("c1"), ImageID: sha, Started: true},
			}},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				return want{
					phase:      corev1.PodRunning,
					containers: []corev1.ContainerStatus{runningStatus("app", "c1", 0, false)},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "CrashLoopBackOff shows the last exit as lastState and stays Running",
			pod:  newPod(corev1.RestartPolicyAlways, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": func() *ContainerRecord {
					r := crashLooping("c4", 1, 3)
					r.Previous = exited("c3", 1)
					return r
				}(),
			}},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				return want{
					phase: corev1.PodRunning,
					containers: []corev1.ContainerStatus{{
						Name: "app", Image: image, ImageID: sha, ContainerID: "orca://c4",
						RestartCount: 3, Started: ptr.To(false),
						State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
							Reason:  "CrashLoopBackOff",
							Message: "back-off 40s restarting failed container=app pod=web_default(uid-1)",
						}},
						LastTerminationState: corev1.ContainerState{Terminated: terminated("c4", 1, "Error")},
						Resources:            &corev1.ResourceRequirements{},
					}},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "a restart after an OOM kill keeps OOMKilled 137 as lastState",
			pod:  newPod(corev1.RestartPolicyAlways, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": func() *ContainerRecord {
					r := up("c2", 1)
					r.Previous = oomKilled("c1")
					return r
				}(),
			}},
			want: func() want {
				r, cr := readyTrue()
				st := runningStatus("app", "c2", 1, true)
				st.LastTerminationState.Terminated = terminated("c1", 137, "OOMKilled")
				return want{
					phase:      corev1.PodRunning,
					containers: []corev1.ContainerStatus{st},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "Init:0/2 runs the first init container, everything else waits in PodInitializing",
			pod:  withInit(newPod(corev1.RestartPolicyAlways, "app"), false, "init1", "init2"),
			in: Input{SandboxReady: true, Init: map[string]*ContainerRecord{
				"init1": {Current: running("i1"), ImageID: sha},
			}},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				return want{
					phase: corev1.PodPending,
					init: []corev1.ContainerStatus{
						runningStatus("init1", "i1", 0, false),
						waitingStatus("init2", "PodInitializing"),
					},
					containers: []corev1.ContainerStatus{waitingStatus("app", "PodInitializing")},
					conditions: kubeletConds(corev1.ConditionTrue,
						cond(corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized",
							"containers with incomplete status: [init1 init2]", now),
						r, cr),
				}
			}(),
		},
		{
			name: "a failed init container with restartPolicy Never fails the pod",
			pod:  withInit(newPod(corev1.RestartPolicyNever, "app"), false, "init1"),
			in: Input{SandboxReady: true, Init: map[string]*ContainerRecord{
				"init1": done("i1", 2, 0),
			}},
			want: func() want {
				r, cr := terminalReady("PodFailed")
				return want{
					phase:      corev1.PodFailed,
					init:       []corev1.ContainerStatus{terminatedStatus("init1", "i1", 2, "Error", 0)},
					containers: []corev1.ContainerStatus{waitingStatus("app", "PodInitializing")},
					conditions: kubeletConds(corev1.ConditionTrue,
						cond(corev1.PodInitialized, corev1.ConditionFalse, "ContainersNotInitialized",
							"containers with incomplete status: [init1]", now),
						r, cr),
				}
			}(),
		},
		{
			name: "a running sidecar keeps a pod whose app completed Running",
			pod:  withInit(newPod(corev1.RestartPolicyNever, "app"), true, "proxy"),
			in: Input{SandboxReady: true,
				Init:       map[string]*ContainerRecord{"proxy": up("s1", 0)},
				Containers: map[string]*ContainerRecord{"app": done("a1", 0, 0)},
			},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				return want{
					phase:      corev1.PodRunning,
					init:       []corev1.ContainerStatus{runningStatus("proxy", "s1", 0, true)},
					containers: []corev1.ContainerStatus{terminatedStatus("app", "a1", 0, "Completed", 0)},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "once the sidecar is stopped the completed pod Succeeded, whatever the sidecar's exit code",
			pod:  withInit(newPod(corev1.RestartPolicyNever, "app"), true, "proxy"),
			in: Input{SandboxReady: true,
				Init:       map[string]*ContainerRecord{"proxy": done("s1", 137, 0)},
				Containers: map[string]*ContainerRecord{"app": done("a1", 0, 0)},
			},
			want: func() want {
				r, cr := terminalReady("PodCompleted")
				return want{
					phase:      corev1.PodSucceeded,
					init:       []corev1.ContainerStatus{terminatedStatus("proxy", "s1", 137, "Error", 0)},
					containers: []corev1.ContainerStatus{terminatedStatus("app", "a1", 0, "Completed", 0)},
					conditions: kubeletConds(corev1.ConditionTrue,
						cond(corev1.PodInitialized, corev1.ConditionTrue, "PodCompleted", "", now), r, cr),
				}
			}(),
		},
		{
			name: "restartPolicy Never and exit 1 is Failed",
			pod:  newPod(corev1.RestartPolicyNever, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				// A reason cached before the exit does not apply: it will
				// not be restarted.
				"app": crashLooping("c1", 1, 0),
			}},
			want: func() want {
				r, cr := terminalReady("PodFailed")
				return want{
					phase:      corev1.PodFailed,
					containers: []corev1.ContainerStatus{terminatedStatus("app", "c1", 1, "Error", 0)},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "restartPolicy OnFailure and exit 0 is Succeeded",
			pod:  newPod(corev1.RestartPolicyOnFailure, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": done("c1", 0, 0),
			}},
			want: func() want {
				r, cr := terminalReady("PodCompleted")
				return want{
					phase:      corev1.PodSucceeded,
					containers: []corev1.ContainerStatus{terminatedStatus("app", "c1", 0, "Completed", 0)},
					conditions: kubeletConds(corev1.ConditionTrue,
						cond(corev1.PodInitialized, corev1.ConditionTrue, "PodCompleted", "", now), r, cr),
				}
			}(),
		},
		{
			name: "restartPolicy OnFailure and exit 1 waits to restart and stays Running",
			pod:  newPod(corev1.RestartPolicyOnFailure, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": crashLooping("c1", 1, 0),
			}},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				return want{
					phase: corev1.PodRunning,
					containers: []corev1.ContainerStatus{{
						Name: "app", Image: image, ImageID: sha, ContainerID: "orca://c1", Started: ptr.To(false),
						State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
							Reason:  "CrashLoopBackOff",
							Message: "back-off 40s restarting failed container=app pod=web_default(uid-1)",
						}},
						LastTerminationState: corev1.ContainerState{Terminated: terminated("c1", 1, "Error")},
						Resources:            &corev1.ResourceRequirements{},
					}},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "restartPolicy Always and exit 0 is Running, shown Completed until the back-off",
			pod:  newPod(corev1.RestartPolicyAlways, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": done("c1", 0, 0),
			}},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				return want{
					phase:      corev1.PodRunning,
					containers: []corev1.ContainerStatus{terminatedStatus("app", "c1", 0, "Completed", 0)},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "restartPolicy Always and exit 0 in back-off shows CrashLoopBackOff over Completed",
			pod:  newPod(corev1.RestartPolicyAlways, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": crashLooping("c1", 0, 0),
			}},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				return want{
					phase: corev1.PodRunning,
					containers: []corev1.ContainerStatus{{
						Name: "app", Image: image, ImageID: sha, ContainerID: "orca://c1", Started: ptr.To(false),
						State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
							Reason:  "CrashLoopBackOff",
							Message: "back-off 40s restarting failed container=app pod=web_default(uid-1)",
						}},
						LastTerminationState: corev1.ContainerState{Terminated: terminated("c1", 0, "Completed")},
						Resources:            &corev1.ResourceRequirements{},
					}},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "a container that failed to start reports StartError, the runtime's message and epoch startedAt",
			pod:  newPod(corev1.RestartPolicyNever, "app"),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{
				"app": {ImageID: sha, Current: &runtime.ContainerStatus{
					ID: "c1", State: runtime.StateExited, ExitCode: 128, FinishedAt: t2,
					Reason: "StartError", Message: `exec: "nope": executable file not found in $PATH`,
				}},
			}},
			want: func() want {
				r, cr := terminalReady("PodFailed")
				st := terminatedStatus("app", "c1", 128, "StartError", 0)
				st.State.Terminated.StartedAt = metav1.NewTime(metav1.Unix(0, 0).UTC())
				st.State.Terminated.Message = `exec: "nope": executable file not found in $PATH`
				return want{
					phase:      corev1.PodFailed,
					containers: []corev1.ContainerStatus{st},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "active deadline exceeded fails the pod with the kubelet's reason",
			pod:  newPod(corev1.RestartPolicyAlways, "app"),
			in: Input{SandboxReady: true, Terminal: true,
				Reason: "DeadlineExceeded", Message: "Pod was active on the node longer than the specified deadline",
				Containers: map[string]*ContainerRecord{"app": up("c1", 0)},
			},
			want: func() want {
				r, cr := terminalReady("PodFailed")
				return want{
					phase:      corev1.PodFailed,
					reason:     "DeadlineExceeded",
					message:    "Pod was active on the node longer than the specified deadline",
					containers: []corev1.ContainerStatus{runningStatus("app", "c1", 0, true)},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "a container that was running and vanished is stopped with ContainerStatusUnknown",
			pod: func() *corev1.Pod {
				p := newPod(corev1.RestartPolicyAlways, "app")
				p.Status.Phase = corev1.PodRunning
				p.Status.ContainerStatuses = []corev1.ContainerStatus{runningStatus("app", "c1", 2, true)}
				return p
			}(),
			in: Input{SandboxReady: true},
			want: func() want {
				r, cr := notReady("containers with unready status: [app]")
				st := waitingStatus("app", "ContainerCreating")
				st.RestartCount = 3
				st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
					ExitCode: 137, Reason: "ContainerStatusUnknown",
					Message: "The container could not be located when the pod was deleted.  The container used to be Running",
				}
				return want{
					phase:      corev1.PodRunning,
					containers: []corev1.ContainerStatus{st},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
		{
			name: "a terminal phase and its reason stick even if containers look alive",
			pod: func() *corev1.Pod {
				p := newPod(corev1.RestartPolicyAlways, "app")
				p.Status.Phase = corev1.PodFailed
				p.Status.Reason = "DeadlineExceeded"
				p.Status.Message = "Pod was active on the node longer than the specified deadline"
				return p
			}(),
			in: Input{SandboxReady: true, Containers: map[string]*ContainerRecord{"app": up("c1", 0)}},
			want: func() want {
				r, cr := terminalReady("PodFailed")
				return want{
					phase:      corev1.PodFailed,
					reason:     "DeadlineExceeded",
					message:    "Pod was active on the node longer than the specified deadline",
					containers: []corev1.ContainerStatus{runningStatus("app", "c1", 0, true)},
					conditions: kubeletConds(corev1.ConditionTrue, initializedTrue(), r, cr),
				}
			}(),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			in.Pod, in.Now = tc.pod, now
			got := Generate(in)
			mustNotDiff(t, "phase", tc.want.phase, got.Phase)
			mustNotDiff(t, "reason", tc.want.reason, got.Reason)
			mustNotDiff(t, "message", tc.want.message, got.Message)
			mustNotDiff(t, "initContainerStatuses", tc.want.init, got.InitContainerStatuses)
			mustNotDiff(t, "containerStatuses", tc.want.containers, got.ContainerStatuses)
			mustNotDiff(t, "conditions", tc.want.conditions, got.Conditions)
			if got.EphemeralContainerStatuses != nil {
				t.Errorf("ephemeralContainerStatuses = %v, want none", got.EphemeralContainerStatuses)
			}
		})
	}
}

func TestPodLevelFieldsFollowTheKubelet(t *testing.T) {
	pod := newPod(corev1.RestartPolicyAlways, "app")
	pod.Status.QOSClass = corev1.PodQOSBurstable // preserved, not recomputed
	pod.Status.NominatedNodeName = "node-1"

	got := Generate(Input{Pod: pod, Now: now.Add(250 * 1e6), SandboxReady: true,
		PodIPs: []string{"10.88.0.7", "fd00::7"}, HostIP: "192.168.1.10", HostIPs: []string{"192.168.1.10", "2001:db8::10"},
		Containers: map[string]*ContainerRecord{"app": up("c1", 0)},
	})
	got.Conditions, got.ContainerStatuses = nil, nil
	mustNotDiff(t, "pod status", corev1.PodStatus{
		ObservedGeneration: gen,
		Phase:              corev1.PodRunning,
		QOSClass:           corev1.PodQOSBurstable,
		NominatedNodeName:  "node-1",
		HostIP:             "192.168.1.10",
		HostIPs:            []corev1.HostIP{{IP: "192.168.1.10"}, {IP: "2001:db8::10"}},
		PodIP:              "10.88.0.7",
		PodIPs:             []corev1.PodIP{{IP: "10.88.0.7"}, {IP: "fd00::7"}},
		StartTime:          ptr.To(metav1.NewTime(now)), // truncated to seconds
	}, got)

	// Later: startTime is kept; IPs are kept once the sandbox is gone.
	pod.Status.StartTime = ptr.To(metav1.NewTime(t0))
	pod.Status.PodIP, pod.Status.PodIPs = "10.88.0.7", []corev1.PodIP{{IP: "10.88.0.7"}}
	pod.Status.HostIP, pod.Status.HostIPs = "192.168.1.10", []corev1.HostIP{{IP: "192.168.1.10"}}
	later := Generate(Input{Pod: pod, Now: now})
	mustNotDiff(t, "startTime", ptr.To(metav1.NewTime(t0)), later.StartTime)
	mustNotDiff(t, "podIPs", pod.Status.PodIPs, later.PodIPs)
	mustNotDiff(t, "hostIP", "192.168.1.10", later.HostIP)
}

func TestHostNetworkPodsTakeTheHostIPs(t *testing.T) {
	pod := newPod(corev1.RestartPolicyAlways, "app")
	pod.Spec.HostNetwork = true
	got := Generate(Input{Pod: pod, Now: now, HostIPs: []string{"192.168.1.10"}})
	mustNotDiff(t, "podIPs", []corev1.PodIP{{IP: "192.168.1.10"}}, got.PodIPs)
	mustNotDiff(t, "podIP", "192.168.1.10", got.PodIP)
	mustNotDiff(t, "hostIP", "192.168.1.10", got.HostIP)
}

func TestEphemeralContainersAreReportedButNeverReadyOrStarted(t *testing.T) {
	pod := newPod(corev1.RestartPolicyAlways, "app")
	pod.Spec.EphemeralContainers = []corev1.EphemeralContainer{
		{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger", Image: image}, TargetContainerName: "app"},
		{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debugger-2", Image: image}},
	}
	got := Generate(Input{Pod: pod, Now: now, SandboxReady: true,
		Containers: map[string]*ContainerRecord{"app": up("c1", 0)},
		Ephemeral: map[string]*ContainerRecord{
			"debugger": {Current: running("e1"), ImageID: sha, Ready: true, Started: true},
		},
	})
	dbg := runningStatus("debugger", "e1", 0, false)
	dbg.Started = nil
	mustNotDiff(t, "ephemeralContainerStatuses", []corev1.ContainerStatus{dbg, {
		Name: "debugger-2", Image: image,
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}},
	}}, got.EphemeralContainerStatuses)
	// Ephemeral containers do not count towards readiness.
	if c := findCondition(got.Conditions, corev1.PodReady); c == nil || c.Status != corev1.ConditionTrue {
		t.Errorf("Ready = %+v, want True", c)
	}
}

func TestReadOnlyMountsReportRecursiveReadOnlyDisabled(t *testing.T) {
	pod := newPod(corev1.RestartPolicyAlways, "app")
	pod.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{
		{Name: "data", MountPath: "/data"},
		{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true},
	}
	got := Generate(Input{Pod: pod, Now: now})
	mustNotDiff(t, "volumeMounts", []corev1.VolumeMountStatus{
		{Name: "data", MountPath: "/data"},
		{Name: "kube-api-access-x7k2p", MountPath: "/var/run/secrets/kubernetes.io/serviceaccount", ReadOnly: true,
			RecursiveReadOnly: ptr.To(corev1.RecursiveReadOnlyDisabled)},
	}, got.ContainerStatuses[0].VolumeMounts)
}

func TestTerminationMessageFollowsTheRuntimeMessage(t *testing.T) {
	pod := newPod(corev1.RestartPolicyNever, "app")
	rec := done("c1", 1, 0)
	rec.Message = "panic: config missing\n"
	got := Generate(Input{Pod: pod, Now: now, Containers: map[string]*ContainerRecord{"app": rec}})
	mustNotDiff(t, "message", "panic: config missing\n", got.ContainerStatuses[0].State.Terminated.Message)

	rec.Current.Message = "runtime said"
	got = Generate(Input{Pod: pod, Now: now, Containers: map[string]*ContainerRecord{"app": rec}})
	mustNotDiff(t, "message", "runtime said: panic: config missing\n", got.ContainerStatuses[0].State.Terminated.Message)
}

func TestLastStateIsRecoveredFromTheAPIWhenThePreviousAttemptIsGone(t *testing.T) {
	pod := newPod(corev1.RestartPolicyAlways, "app")
	// Reported while crash looping: waiting, with attempt c1's exit.
	prev := terminatedStatus("app", "c1", 1, "Error", 1).State
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "app", ContainerID: "orca://c1", RestartCount: 1,
		State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: prev,
	}}
	// Attempt c2 runs; the agent no longer knows c1.
	got := Generate(Input{Pod: pod, Now: now, Containers: map[string]*ContainerRecord{"app": up("c2", 2)}})
	mustNotDiff(t, "lastState", prev, got.ContainerStatuses[0].LastTerminationState)

	// Reported again with c2 running: its lastState is still c1's exit.
	pod.Status.ContainerStatuses = got.ContainerStatuses
	again := Generate(Input{Pod: pod, Now: now, Containers: map[string]*ContainerRecord{"app": up("c2", 2)}})
	mustNotDiff(t, "lastState", prev, again.ContainerStatuses[0].LastTerminationState)
}

func TestInitContainerWithoutRecordIsCompletedOnceAppsWereCreated(t *testing.T) {
	pod := withInit(newPod(corev1.RestartPolicyAlways, "app"), false, "migrate")
	got := Generate(Input{Pod: pod, Now: now, SandboxReady: true,
		Containers: map[string]*ContainerRecord{"app": up("c1", 0)},
	})
	mustNotDiff(t, "init status", []corev1.ContainerStatus{{
		Name: "migrate", Image: image, Ready: true, Started: ptr.To(false),
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			Reason:  "Completed",
			Message: "Unable to get init container status from container runtime and pod has been initialized, treat it as exited normally",
		}},
	}}, got.InitContainerStatuses)
	mustNotDiff(t, "phase", corev1.PodRunning, got.Phase)
}

func TestGenerateDoesNotModifyItsInput(t *testing.T) {
	pod := withInit(newPod(corev1.RestartPolicyAlways, "app"), false, "init")
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{runningStatus("app", "c1", 0, true)}
	pod.Status.InitContainerStatuses = []corev1.ContainerStatus{terminatedStatus("init", "i1", 0, "Completed", 0)}
	before := pod.DeepCopy()
	rec := crashLooping("c2", 1, 1)
	Generate(Input{Pod: pod, Now: now, Containers: map[string]*ContainerRecord{"app": rec}})
	mustNotDiff(t, "pod", before, pod)
	mustNotDiff(t, "record", crashLooping("c2", 1, 1), rec)
}
