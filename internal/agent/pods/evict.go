package pods

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/runtime"
)

// Eviction is what the node-pressure eviction manager decided for a pod:
// the status the kubelet writes and the grace period to stop it with.
type Eviction struct {
	Message     string
	GracePeriod time.Duration
	// Condition (DisruptionTarget) is added to the pod's conditions; nil
	// for local-storage limit evictions.
	Condition *corev1.PodCondition
}

// Evict stops a pod for the eviction manager and reports it Failed with
// reason Evicted; it returns once the pod's containers are stopped (or
// the grace period and some slack have passed).
func (m *Manager) Evict(ctx context.Context, uid types.UID, ev Eviction) error {
	m.mu.Lock()
	w, ok := m.workers[uid]
	m.mu.Unlock()
	if !ok {
		return nil // already gone
	}
	w.mu.Lock()
	w.eviction = &ev
	w.mu.Unlock()
	w.poke()
	deadline := time.Now().Add(ev.GracePeriod + 10*time.Second)
	for time.Now().Before(deadline) {
		if !m.hasRunningContainers(ctx, uid) {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}

func (m *Manager) hasRunningContainers(ctx context.Context, uid types.UID) bool {
	list, err := m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return true
	}
	for _, c := range list {
		if c.Labels[containers.LabelPodUID] == string(uid) && c.State == runtime.StateRunning {
			return true
		}
	}
	return false
}

// ActivePods lists the pods this node runs that are neither finished nor
// being evicted: the candidates for eviction.
func (m *Manager) ActivePods() []*corev1.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*corev1.Pod
	for _, w := range m.workers {
		w.mu.Lock()
		pod, evicting := w.pod, w.eviction != nil || w.evicted
		w.mu.Unlock()
		if evicting || pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		out = append(out, pod)
	}
	return out
}

// takeEviction moves a pending eviction into the worker's state: the pod
// becomes terminal with the kubelet's reason and message.
func (w *worker) takeEviction(pod *corev1.Pod) {
	w.mu.Lock()
	ev := w.eviction
	w.eviction = nil
	if ev != nil {
		w.evicted = true
	}
	w.mu.Unlock()
	if ev == nil {
		return
	}
	w.state.terminal = true
	w.state.reason, w.state.message = "Evicted", ev.Message
	w.state.condition = ev.Condition
	grace := ev.GracePeriod
	w.state.graceOverride = &grace
}

// admit runs the node's admission check once, before the pod gets a
// sandbox; a refused pod fails with the check's reason and message, as
// the kubelet rejects pods.
func (w *worker) admit(pod *corev1.Pod) {
	if w.state.admitted || w.m.cfg.Admit == nil {
		return
	}
	w.state.admitted = true
	if pod.Status.Phase == corev1.PodRunning || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
		return // already admitted by an earlier run of the agent
	}
	if ok, reason, message := w.m.cfg.Admit(pod); !ok {
		w.state.terminal = true
		w.state.reason, w.state.message = reason, message
		w.event(pod, "", corev1.EventTypeWarning, reason, message)
	}
}

// grace is the pod's termination grace period, or the eviction's.
func (w *worker) grace(pod *corev1.Pod) time.Duration {
	if g := w.state.graceOverride; g != nil {
		return *g
	}
	return gracePeriod(pod)
}

// withCondition adds the eviction's condition to a status being reported.
func (w *worker) withCondition(status *corev1.PodStatus) {
	c := w.state.condition
	if c == nil {
		return
	}
	for i := range status.Conditions {
		if status.Conditions[i].Type == c.Type {
			status.Conditions[i] = *c
			return
		}
	}
	status.Conditions = append(status.Conditions, *c)
}
