package podstatus

import (
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/runtime"
)

// ContainerIDPrefix is the runtime-type prefix of containerID fields
// (containerd's are "containerd://<id>").
const ContainerIDPrefix = "orca://"

// Waiting and terminated reasons and messages the kubelet writes itself;
// users search for these exact strings.
const (
	reasonContainerCreating = "ContainerCreating"
	reasonPodInitializing   = "PodInitializing"
	reasonStatusUnknown     = "ContainerStatusUnknown"
	reasonCompleted         = "Completed"
	reasonError             = "Error"
	reasonOOMKilled         = "OOMKilled"

	msgGoneWhileTerminated = "The container could not be located when the pod was terminated"
	// Two spaces after "deleted.", as upstream writes it.
	msgGoneWhileDeleted = "The container could not be located when the pod was deleted.  The container used to be Running"
	msgInitAssumedDone  = "Unable to get init container status from container runtime and pod has been initialized, treat it as exited normally"
)

type containerKind int

const (
	kindRegular containerKind = iota
	kindInit
	kindEphemeral
)

// converter builds one pod's container statuses the way the kubelet's
// convertToAPIContainerStatuses followed by the probe manager's
// UpdatePodStatus does.
type converter struct {
	pod               *corev1.Pod
	hasInitContainers bool
	// anyRegularCreated: the runtime has (had) an attempt of a regular
	// container, so the pod has been initialized.
	anyRegularCreated bool
}

// statuses converts one list of containers. Init container statuses keep
// spec order; regular and ephemeral ones are sorted by name, as the kubelet
// sorts them (kubetypes.SortedContainerStatuses).
func (cv *converter) statuses(specs []corev1.Container, records map[string]*ContainerRecord, previous []corev1.ContainerStatus, kind containerKind) []corev1.ContainerStatus {
	if len(specs) == 0 {
		return nil
	}
	old := make(map[string]*corev1.ContainerStatus, len(previous))
	for i := range previous {
		old[previous[i].Name] = &previous[i]
	}
	out := make([]corev1.ContainerStatus, 0, len(specs))
	for i := range specs {
		c := &specs[i]
		out = append(out, cv.status(c, records[c.Name], old[c.Name], kind))
	}
	if kind != kindInit {
		sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	}
	return out
}

func (cv *converter) status(c *corev1.Container, rec *ContainerRecord, old *corev1.ContainerStatus, kind containerKind) corev1.ContainerStatus {
	var cur *runtime.ContainerStatus
	if rec != nil {
		cur = rec.Current
	}
	var st corev1.ContainerStatus
	if cur == nil {
		st = cv.absentStatus(c, old)
	} else {
		st = cv.runtimeStatus(c, rec, old)
	}
	cv.applyWaiting(&st, c, rec, kind)
	applyProbes(&st, c, rec, kind)
	return st
}

// absentStatus is the status of a container the runtime has no attempt of:
// the default waiting state, carrying restartCount and lastState over from
// the previous status; a previously terminated status is kept whole.
func (cv *converter) absentStatus(c *corev1.Container, old *corev1.ContainerStatus) corev1.ContainerStatus {
	defaultReason := reasonContainerCreating
	if cv.hasInitContainers {
		defaultReason = reasonPodInitializing
	}
	if old != nil && old.State.Terminated != nil {
		return *old.DeepCopy()
	}
	st := corev1.ContainerStatus{
		Name:         c.Name,
		Image:        c.Image,
		State:        corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: defaultReason}},
		VolumeMounts: volumeMountStatuses(c),
	}
	if old == nil {
		return st
	}
	st.RestartCount = old.RestartCount
	old.LastTerminationState.DeepCopyInto(&st.LastTerminationState)
	// It used to run and is gone without a trace: report it as stopped,
	// not merely waiting, so the pod does not drop back to Pending.
	if old.State.Running != nil && st.LastTerminationState.Terminated == nil {
		st.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{
			Reason:   reasonStatusUnknown,
			Message:  msgGoneWhileDeleted,
			ExitCode: 137,
		}
		if cv.pod.DeletionTimestamp == nil {
			st.RestartCount++
		}
	}
	return st
}

// runtimeStatus converts the latest attempt, with the one before it as
// lastState.
func (cv *converter) runtimeStatus(c *corev1.Container, rec *ContainerRecord, old *corev1.ContainerStatus) corev1.ContainerStatus {
	cur := rec.Current
	st := corev1.ContainerStatus{
		Name:         c.Name,
		RestartCount: int32(rec.RestartCount),
		Image:        c.Image,
		ImageID:      rec.ImageID,
		ContainerID:  ContainerIDPrefix + cur.ID,
		VolumeMounts: volumeMountStatuses(c),
		// In-place resize is not supported: what runs is what was allocated.
		Resources:          c.Resources.DeepCopy(),
		AllocatedResources: c.Resources.Requests.DeepCopy(),
	}
	var bumped bool
	st.State, bumped = containerState(cur, rec.Message, old)
	if bumped {
		st.RestartCount = old.RestartCount + 1
	}
	switch {
	case rec.Previous != nil:
		st.LastTerminationState, _ = containerState(rec.Previous, rec.PreviousMessage, old)
	case rec.RestartCount > 0 && old != nil:
		// The kubelet's container GC always keeps the previous attempt,
		// so upstream never lacks it; when the agent has lost it, recover
		// it from the status last reported.
		st.LastTerminationState = previousFromStatus(old, st.ContainerID)
	}
	return st
}

// previousFromStatus finds, in the status last reported, the termination
// of the attempt before the one with containerID.
func previousFromStatus(old *corev1.ContainerStatus, containerID string) corev1.ContainerState {
	candidates := []corev1.ContainerState{old.LastTerminationState}
	if old.ContainerID != containerID {
		candidates = []corev1.ContainerState{old.State, old.LastTerminationState}
	}
	for _, s := range candidates {
		if s.Terminated != nil && s.Terminated.ContainerID != containerID {
			return *s.DeepCopy()
		}
	}
	return corev1.ContainerState{}
}

// containerState converts one runtime attempt. bumped reports the kubelet's
// extra restart for a container that was running and is now unknown.
func containerState(cs *runtime.ContainerStatus, terminationMessage string, old *corev1.ContainerStatus) (state corev1.ContainerState, bumped bool) {
	switch cs.State {
	case runtime.StateRunning:
		return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(cs.StartedAt)}}, false
	case runtime.StateExited:
		return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode:    int32(cs.ExitCode),
			Reason:      terminatedReason(cs),
			Message:     joinMessages(cs.Message, terminationMessage),
			StartedAt:   criTime(cs.StartedAt),
			FinishedAt:  criTime(cs.FinishedAt),
			ContainerID: ContainerIDPrefix + cs.ID,
		}}, false
	case runtime.StateUnknown:
		if old != nil && old.State.Running != nil {
			// Ran, then vanished: say it terminated rather than letting a
			// run-once container look as if it never ran.
			return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				Reason:   reasonStatusUnknown,
				Message:  msgGoneWhileTerminated,
				ExitCode: 137,
			}}, true
		}
	}
	// Created but not started, or unknown: waiting, with no reason.
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{}}, false
}

// terminatedReason is what containerd's CRI reports for an exited
// container; the runtime's own reason (StartError) is kept.
func terminatedReason(cs *runtime.ContainerStatus) string {
	switch {
	case cs.OOMKilled:
		return reasonOOMKilled
	case cs.Reason != "":
		return cs.Reason
	case cs.ExitCode == 0:
		return reasonCompleted
	default:
		return reasonError
	}
}

// joinMessages appends the termination message to the runtime's message
// as kuberuntime does: "<runtime message>: <termination message>".
func joinMessages(runtimeMessage, terminationMessage string) string {
	switch {
	case terminationMessage == "":
		return runtimeMessage
	case runtimeMessage == "":
		return terminationMessage
	default:
		return runtimeMessage + ": " + terminationMessage
	}
}

// criTime converts a runtime timestamp the way the kubelet converts CRI
// nanoseconds: an unset time is the Unix epoch, which is why a container
// that never started reports startedAt 1970-01-01T00:00:00Z.
func criTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.NewTime(time.Unix(0, 0).UTC())
	}
	return metav1.NewTime(t)
}

// applyWaiting lets the sync loop's reason for not (re)starting the
// container replace its state, as the kubelet's reason cache does.
func (cv *converter) applyWaiting(st *corev1.ContainerStatus, c *corev1.Container, rec *ContainerRecord, kind containerKind) {
	var cur *runtime.ContainerStatus
	if rec != nil {
		cur = rec.Current
	}
	if kind == kindInit {
		// An init container that succeeded is never restarted.
		if cur != nil && cur.State == runtime.StateExited && cur.ExitCode == 0 {
			return
		}
		// Its record is gone but regular containers exist: it must have
		// succeeded. Sidecars are restarted instead.
		if cur == nil && cv.anyRegularCreated && !isSidecar(c) && st.State.Waiting != nil {
			st.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				Reason:  reasonCompleted,
				Message: msgInitAssumedDone,
			}}
			return
		}
	}
	if rec == nil || rec.Waiting == nil || !cv.shouldRestart(c, cur) {
		return
	}
	if st.State.Terminated != nil {
		st.LastTerminationState = st.State
	}
	st.State = corev1.ContainerState{Waiting: rec.Waiting.DeepCopy()}
}

// shouldRestart is the kubelet's ShouldContainerBeRestarted.
func (cv *converter) shouldRestart(c *corev1.Container, cur *runtime.ContainerStatus) bool {
	switch {
	case cv.pod.DeletionTimestamp != nil:
		return false
	case cur == nil:
		return true
	case cur.State == runtime.StateRunning:
		return false
	case cur.State == runtime.StateExited:
		return containerShouldRestart(c, &cv.pod.Spec, int32(cur.ExitCode))
	default: // created or unknown
		return true
	}
}

// applyProbes sets ready and started as the probe manager does: only a
// running container is started, and only a started one can be ready.
// Regular init containers are ready once they exited 0. Ephemeral
// containers are neither.
func applyProbes(st *corev1.ContainerStatus, c *corev1.Container, rec *ContainerRecord, kind containerKind) {
	if kind == kindEphemeral {
		return
	}
	running := st.State.Running != nil && rec != nil
	started := running && rec.Started
	if kind == kindInit && !isSidecar(c) {
		started = running // no startup probes on init containers
		st.Started = &started
		if t := st.State.Terminated; t != nil && t.ExitCode == 0 {
			st.Ready = true
		}
		return
	}
	st.Started = &started
	if started {
		st.Ready = rec.Ready
	}
}

// volumeMountStatuses reports the container's mounts. The runtime does not
// do recursive read-only mounts, so read-only ones say Disabled.
func volumeMountStatuses(c *corev1.Container) []corev1.VolumeMountStatus {
	if len(c.VolumeMounts) == 0 {
		return nil
	}
	out := make([]corev1.VolumeMountStatus, 0, len(c.VolumeMounts))
	for _, vm := range c.VolumeMounts {
		s := corev1.VolumeMountStatus{Name: vm.Name, MountPath: vm.MountPath, ReadOnly: vm.ReadOnly}
		if vm.ReadOnly {
			disabled := corev1.RecursiveReadOnlyDisabled
			s.RecursiveReadOnly = &disabled
		}
		out = append(out, s)
	}
	return out
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}
