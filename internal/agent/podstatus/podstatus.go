// Package podstatus turns what the node agent knows about a pod — the
// runtime's view of each container attempt plus the sync loop's decisions —
// into the corev1.PodStatus the kubelet would report, as pure functions.
//
// The model is the kubelet's status pipeline, flattened into one call:
// generateAPIPodStatus converts container statuses (convertToAPIContainerStatuses),
// derives the phase (getPhase), lets the probe manager set ready/started,
// builds the kubelet-owned conditions (pkg/kubelet/status/generate.go), and the
// status manager then pins lastTransitionTime and startTime and normalizes
// timestamps to seconds. The previous status is always Input.Pod.Status (the
// kubelet uses its status-manager cache, which converges to the same value).
//
// Generate does no I/O and reads no clock: Input.Now is the only time source.
package podstatus

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/apis/qos"
	"github.com/orca-pods/orca/internal/runtime"
)

// ContainerRecord is what the agent knows about one container of the pod.
type ContainerRecord struct {
	// Current is the latest attempt; nil if the container was never created.
	Current *runtime.ContainerStatus
	// Previous is the attempt before Current, reported as lastState; nil if
	// none is known any more.
	Previous     *runtime.ContainerStatus
	RestartCount int
	// Waiting, when set, is why the sync loop could not (re)start the
	// container (ErrImagePull, CrashLoopBackOff, CreateContainerConfigError,
	// ...). Like the kubelet's reason cache it replaces the reported state
	// only while the container is due to be (re)started: never while
	// Current runs, and not once the restart policy says it is done.
	Waiting *corev1.ContainerStateWaiting
	// ImageID is the resolved image, e.g. docker.io/library/busybox@sha256:...
	ImageID string
	// Message and PreviousMessage are the termination messages of Current
	// and Previous (terminationMessagePath, or the log tail for
	// FallbackToLogsOnError), already read and capped by the agent.
	Message, PreviousMessage string
	// Ready comes from the readiness probe (true if none and running);
	// Started from the startup probe (true if none and running).
	Ready   bool
	Started bool
}

// Input is everything Generate needs about one pod.
type Input struct {
	// Pod is the API object: spec plus the status last reported.
	Pod *corev1.Pod
	// SandboxReady: namespaces and network are set up
	// (PodReadyToStartContainers).
	SandboxReady bool
	// PodIPs, HostIP and HostIPs are reported as given; when empty the
	// pod's current values are kept (the kubelet keeps a terminated pod's
	// IPs). Host-network pods inherit the host IPs as pod IPs.
	PodIPs  []string
	HostIP  string
	HostIPs []string
	// Init, Containers and Ephemeral are keyed by container name; a missing
	// entry means the container was never seen.
	Init, Containers, Ephemeral map[string]*ContainerRecord
	// Reason and Message, when Reason is set, force phase Failed with that
	// pod-level reason (DeadlineExceeded, Evicted, ...), as the kubelet's
	// pod sync handlers do.
	Reason, Message string
	// Terminal says the pod worker has finished with the pod: its
	// containers will not be restarted whatever the restart policy.
	Terminal bool
	Now      time.Time
}

// Generate returns the status the kubelet would report for in.Pod.
func Generate(in Input) corev1.PodStatus {
	pod := in.Pod
	old := &pod.Status
	spec := &pod.Spec

	cv := converter{
		pod:               pod,
		hasInitContainers: len(spec.InitContainers) > 0,
		anyRegularCreated: anyCreated(spec.Containers, in.Containers),
	}
	s := corev1.PodStatus{
		ObservedGeneration: pod.Generation,
		QOSClass:           qos.PodQOSClass(pod),
	}
	s.InitContainerStatuses = cv.statuses(spec.InitContainers, in.Init, old.InitContainerStatuses, kindInit)
	s.ContainerStatuses = cv.statuses(spec.Containers, in.Containers, old.ContainerStatuses, kindRegular)
	s.EphemeralContainerStatuses = cv.statuses(ephemeralSpecs(spec), in.Ephemeral, old.EphemeralContainerStatuses, kindEphemeral)

	s.Phase = phase(spec, s.InitContainerStatuses, s.ContainerStatuses, in.Terminal, cv.anyRegularCreated)
	// A terminal phase already reported sticks (the kubelet's three-way
	// merge with the status manager's and the API's phase).
	if !isTerminal(s.Phase) && isTerminal(old.Phase) {
		s.Phase = old.Phase
	}
	// Reason and message belong to the phase: kept while it does not change.
	if s.Phase == old.Phase {
		s.Reason, s.Message = old.Reason, old.Message
	}
	if in.Reason != "" {
		s.Phase = corev1.PodFailed
		s.Reason, s.Message = in.Reason, in.Message
	}
	// Pods never leave a terminal phase, not even for another terminal one.
	if isTerminal(old.Phase) && s.Phase != old.Phase {
		s.Phase = old.Phase
	}

	s.Conditions = conditions(pod, in.SandboxReady, s.InitContainerStatuses, s.ContainerStatuses, s.Phase, in.Now)
	setIPs(&s, pod, in)

	if old.StartTime != nil && !old.StartTime.IsZero() {
		s.StartTime = old.StartTime.DeepCopy()
	} else {
		now := metav1.NewTime(in.Now)
		s.StartTime = &now
	}

	// Fields the kubelet does not own pass through unchanged.
	s.NominatedNodeName = old.NominatedNodeName
	s.ResourceClaimStatuses = deepCopyClaimStatuses(old.ResourceClaimStatuses)
	s.ExtendedResourceClaimStatus = old.ExtendedResourceClaimStatus.DeepCopy()

	normalize(pod, &s)
	return s
}

// setIPs fills host and pod IPs from the input, keeping the pod's current
// values when the input has none.
func setIPs(s *corev1.PodStatus, pod *corev1.Pod, in Input) {
	hostIPs := in.HostIPs
	if len(hostIPs) == 0 && in.HostIP != "" {
		hostIPs = []string{in.HostIP}
	}
	if len(hostIPs) > 0 {
		s.HostIP = in.HostIP
		if s.HostIP == "" {
			s.HostIP = hostIPs[0]
		}
		for _, ip := range hostIPs {
			s.HostIPs = append(s.HostIPs, corev1.HostIP{IP: ip})
		}
	} else {
		s.HostIP = pod.Status.HostIP
		s.HostIPs = append([]corev1.HostIP(nil), pod.Status.HostIPs...)
	}

	podIPs := in.PodIPs
	if len(podIPs) == 0 && pod.Spec.HostNetwork {
		podIPs = hostIPs
	}
	if len(podIPs) == 0 {
		s.PodIP = pod.Status.PodIP
		s.PodIPs = append([]corev1.PodIP(nil), pod.Status.PodIPs...)
		return
	}
	s.PodIP = podIPs[0]
	for _, ip := range podIPs {
		s.PodIPs = append(s.PodIPs, corev1.PodIP{IP: ip})
	}
}

func isTerminal(p corev1.PodPhase) bool {
	return p == corev1.PodSucceeded || p == corev1.PodFailed
}

func anyCreated(specs []corev1.Container, records map[string]*ContainerRecord) bool {
	for i := range specs {
		if r := records[specs[i].Name]; r != nil && r.Current != nil {
			return true
		}
	}
	return false
}

func ephemeralSpecs(spec *corev1.PodSpec) []corev1.Container {
	if len(spec.EphemeralContainers) == 0 {
		return nil
	}
	out := make([]corev1.Container, 0, len(spec.EphemeralContainers))
	for i := range spec.EphemeralContainers {
		out = append(out, corev1.Container(spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
	return out
}

func deepCopyClaimStatuses(in []corev1.PodResourceClaimStatus) []corev1.PodResourceClaimStatus {
	if in == nil {
		return nil
	}
	out := make([]corev1.PodResourceClaimStatus, len(in))
	for i := range in {
		in[i].DeepCopyInto(&out[i])
	}
	return out
}
