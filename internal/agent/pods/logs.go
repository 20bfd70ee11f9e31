package pods

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/agent/podstatus"
	"github.com/orca-pods/orca/internal/runtime"
)

// ErrBadLogRequest marks requests that are the caller's fault (HTTP 400).
type ErrBadLogRequest struct{ Msg string }

func (e *ErrBadLogRequest) Error() string { return e.Msg }

// LogTarget finds the log file of a pod's container (its previous attempt
// when previous is set) and a func telling whether it is still running,
// with the kubelet's errors for containers that have no log yet.
func (m *Manager) LogTarget(ctx context.Context, namespace, name, container string, previous bool) (string, func() bool, error) {
	m.mu.Lock()
	var w *worker
	for _, cand := range m.workers {
		if p, _ := cand.latest(); p.Namespace == namespace && p.Name == name {
			w = cand
		}
	}
	m.mu.Unlock()
	if w == nil {
		return "", nil, fmt.Errorf("pod %s/%s not found on this node", namespace, name)
	}
	pod, _ := w.latest()
	list, err := m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return "", nil, err
	}
	// Read the runtime's list directly: the worker owns its state, and this
	// runs on an HTTP handler's goroutine.
	rec := &podstatus.ContainerRecord{}
	for _, c := range list {
		if c.Labels[containers.LabelPodUID] != string(pod.UID) || c.Labels[containers.LabelContainer] != container {
			continue
		}
		switch {
		case rec.Current == nil || c.Attempt > rec.Current.Attempt:
			rec.Previous, rec.Current = rec.Current, c
		case rec.Previous == nil || c.Attempt > rec.Previous.Attempt:
			rec.Previous = c
		}
	}
	for _, group := range [][]corev1.ContainerStatus{pod.Status.ContainerStatuses, pod.Status.InitContainerStatuses, pod.Status.EphemeralContainerStatuses} {
		for _, cs := range group {
			if cs.Name == container && cs.State.Waiting != nil {
				rec.Waiting = cs.State.Waiting
			}
		}
	}
	if previous {
		if rec.Previous == nil {
			return "", nil, &ErrBadLogRequest{fmt.Sprintf("previous terminated container %q in pod %q not found", container, name)}
		}
		return rec.Previous.LogPath, func() bool { return false }, nil
	}
	if rec.Current == nil {
		reason := "ContainerCreating"
		if rec.Waiting != nil {
			reason = rec.Waiting.Reason
		}
		return "", nil, &ErrBadLogRequest{fmt.Sprintf("container %q in pod %q is waiting to start: %s", container, name, waitingFor(pod, reason))}
	}
	id := rec.Current.ID
	running := func() bool {
		st, err := m.cfg.Runtime.ContainerStatus(context.Background(), id)
		return err == nil && st.State == runtime.StateRunning
	}
	return rec.Current.LogPath, running, nil
}

func waitingFor(pod *corev1.Pod, reason string) string {
	if reason == "" {
		return "ContainerCreating"
	}
	return reason
}
