package printers

import (
	"fmt"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// nodeLostReason is the pod status.reason the node lifecycle controller sets
// when a node stops reporting; a pod being deleted with it prints Unknown.
const nodeLostReason = "NodeLost"

// Row conditions let clients (kubectl --watch, dashboards) grey out finished
// pods without re-deriving the phase from the object.
var (
	podSucceededConditions = []metav1.TableRowCondition{{
		Type: metav1.RowCompleted, Status: metav1.ConditionTrue,
		Reason: string(corev1.PodSucceeded), Message: "The pod has completed successfully.",
	}}
	podFailedConditions = []metav1.TableRowCondition{{
		Type: metav1.RowCompleted, Status: metav1.ConditionTrue,
		Reason: string(corev1.PodFailed), Message: "The pod failed.",
	}}
)

func newPodConvertor(now func() time.Time) *convertor {
	statusDoc := corev1.PodStatus{}.SwaggerDoc()
	specDoc := corev1.PodSpec{}.SwaggerDoc()
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Ready", Type: "string", Description: "How many of the pod's containers are ready, out of the total."},
			{Name: "Status", Type: "string", Description: "Summary of the pod's phase and container states."},
			{Name: "Restarts", Type: "string", Description: "Total container restarts in the pod, and how long ago the latest one happened."},
			ageColumn,
			{Name: "IP", Type: "string", Priority: 1, Description: statusDoc["podIP"]},
			{Name: "Node", Type: "string", Priority: 1, Description: specDoc["nodeName"]},
			{Name: "Nominated Node", Type: "string", Priority: 1, Description: statusDoc["nominatedNodeName"]},
			{Name: "Readiness Gates", Type: "string", Priority: 1, Description: specDoc["readinessGates"]},
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			pod, ok := obj.(*corev1.Pod)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.Pod", obj)
			}
			return podRow(pod, now), nil
		},
	}
}

func podRow(pod *corev1.Pod, now time.Time) metav1.TableRow {
	s := summarizePod(pod)
	restarts := strconv.Itoa(s.restarts)
	if s.restarts != 0 && !s.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.restarts, since(metav1.NewTime(s.lastRestart), now))
	}

	row := metav1.TableRow{Cells: []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.status,
		restarts,
		since(pod.CreationTimestamp, now),
		orNone(podIP(pod)),
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		readinessGates(pod),
	}}
	switch pod.Status.Phase {
	case corev1.PodSucceeded:
		row.Conditions = podSucceededConditions
	case corev1.PodFailed:
		row.Conditions = podFailedConditions
	}
	return row
}

// podIP returns the primary pod IP. Upstream reads status.podIPs of the
// internal type, which v1->internal conversion fills from the legacy podIP
// field when podIPs is empty; we mirror that since we never convert.
func podIP(pod *corev1.Pod) string {
	if len(pod.Status.PodIPs) > 0 {
		return pod.Status.PodIPs[0].IP
	}
	return pod.Status.PodIP
}

// readinessGates renders "<true gates>/<gates>", or <none> without gates.
func readinessGates(pod *corev1.Pod) string {
	if len(pod.Spec.ReadinessGates) == 0 {
		return none
	}
	satisfied := 0
	for _, gate := range pod.Spec.ReadinessGates {
		// Only the first condition of the gate's type counts, as upstream.
		for _, cond := range pod.Status.Conditions {
			if cond.Type == gate.ConditionType {
				if cond.Status == corev1.ConditionTrue {
					satisfied++
				}
				break
			}
		}
	}
	return fmt.Sprintf("%d/%d", satisfied, len(pod.Spec.ReadinessGates))
}

// podSummary is what the READY, STATUS and RESTARTS cells are made from.
type podSummary struct {
	ready, total int
	status       string
	restarts     int
	// lastRestart is the newest lastState.terminated.finishedAt among the
	// containers counted in restarts; zero when unknown.
	lastRestart time.Time
}

// summarizePod derives READY/STATUS/RESTARTS the way kube-apiserver's pod
// printer does. The order of the checks matters (later ones override earlier
// ones), so it is kept step for step:
//
//  1. phase, replaced by status.reason (Evicted, NodeLost, ...) when set;
//  2. SchedulingGated when the PodScheduled condition says so;
//  3. init containers in order: the first one that has not succeeded (and is
//     not a started sidecar) decides an Init:... status;
//  4. once initialized, regular containers from last to first, so the
//     first container's state wins; Completed is softened to Running /
//     NotReady while something still runs, or hardened to the error reason
//     of a container that failed;
//  5. deletion: Unknown for lost nodes, Terminating unless already terminal.
func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{total: len(pod.Spec.Containers)}

	phase := pod.Status.Phase
	s.status = string(phase)
	if pod.Status.Reason != "" {
		s.status = pod.Status.Reason
	}
	for _, cond := range pod.Status.Conditions {
		if cond.Type == corev1.PodScheduled && cond.Reason == corev1.PodReasonSchedulingGated {
			s.status = corev1.PodReasonSchedulingGated
		}
	}

	// Sidecars (restartable init containers) keep running next to the app
	// containers, so they count towards READY's denominator.
	specInit := make(map[string]*corev1.Container, len(pod.Spec.InitContainers))
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		specInit[c.Name] = c
		if isSidecar(c) {
			s.total++
		}
	}

	var sidecarRestarts int
	var sidecarLastRestart time.Time
	initializing := false
	for i := range pod.Status.InitContainerStatuses {
		st := &pod.Status.InitContainerStatuses[i]
		s.restarts += int(st.RestartCount)
		s.lastRestart = laterTermination(s.lastRestart, st)
		sidecar := isSidecar(specInit[st.Name])
		if sidecar {
			sidecarRestarts += int(st.RestartCount)
			sidecarLastRestart = laterTermination(sidecarLastRestart, st)
		}

		term, wait := st.State.Terminated, st.State.Waiting
		switch {
		case term != nil && term.ExitCode == 0:
			continue // finished successfully, look at the next one
		case sidecar && st.Started != nil && *st.Started:
			if st.Ready {
				s.ready++
			}
			continue // a running sidecar does not block initialization
		case term != nil:
			s.status = "Init:" + terminationReason(term)
		case wait != nil && wait.Reason != "" && wait.Reason != "PodInitializing":
			s.status = "Init:" + wait.Reason
		default:
			// Running, or waiting without a telling reason: show progress.
			s.status = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}

	if !initializing || podConditionTrue(pod, corev1.PodInitialized) {
		// Init containers that ran to completion are history; only sidecar
		// restarts stay in the count.
		s.restarts = sidecarRestarts
		s.lastRestart = sidecarLastRestart
		hasRunning := false
		errorReason := ""
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			st := &pod.Status.ContainerStatuses[i]
			s.restarts += int(st.RestartCount)
			s.lastRestart = laterTermination(s.lastRestart, st)

			switch term, wait := st.State.Terminated, st.State.Waiting; {
			case wait != nil && wait.Reason != "":
				s.status = wait.Reason
			case term != nil:
				s.status = terminationReason(term)
				if term.ExitCode != 0 {
					errorReason = s.status
				}
			case st.Ready && st.State.Running != nil:
				hasRunning = true
				s.ready++
			}
		}

		if s.status == "Completed" {
			switch {
			case hasRunning && podConditionTrue(pod, corev1.PodReady):
				s.status = "Running"
			case errorReason != "":
				s.status = errorReason
			case hasRunning:
				s.status = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil {
		if pod.Status.Reason == nodeLostReason {
			s.status = "Unknown"
		} else if phase != corev1.PodSucceeded && phase != corev1.PodFailed {
			s.status = "Terminating"
		}
	}
	return s
}

// terminationReason is the runtime's reason, or Signal:<n> / ExitCode:<n>
// when the runtime gave none.
func terminationReason(t *corev1.ContainerStateTerminated) string {
	switch {
	case t.Reason != "":
		return t.Reason
	case t.Signal != 0:
		return fmt.Sprintf("Signal:%d", t.Signal)
	default:
		return fmt.Sprintf("ExitCode:%d", t.ExitCode)
	}
}

// laterTermination returns the later of last and the container's previous
// termination time.
func laterTermination(last time.Time, st *corev1.ContainerStatus) time.Time {
	if t := st.LastTerminationState.Terminated; t != nil && t.FinishedAt.After(last) {
		return t.FinishedAt.Time
	}
	return last
}

func isSidecar(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

func podConditionTrue(pod *corev1.Pod, t corev1.PodConditionType) bool {
	for _, cond := range pod.Status.Conditions {
		if cond.Type == t && cond.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}
