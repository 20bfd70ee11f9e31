package pods

import (
	"context"
	"log/slog"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// resyncPeriod is the safety-net sync when no event arrives; container
// exits wake the worker at once through the runtime's events.
const resyncPeriod = 10 * time.Second

// worker drives one pod. Updates coalesce: the worker always syncs against
// the latest pod it was given.
type worker struct {
	m       *Manager
	log     *slog.Logger
	mu      sync.Mutex
	pod     *corev1.Pod
	removed bool
	// eviction is set by the eviction manager and taken by the next sync;
	// evicted stays true afterwards.
	eviction *Eviction
	evicted  bool
	wake     chan struct{}
	state    *podState
}

func newWorker(m *Manager, pod *corev1.Pod) *worker {
	return &worker{
		m:     m,
		log:   m.cfg.Logger.With("pod", pod.Namespace+"/"+pod.Name),
		pod:   pod,
		wake:  make(chan struct{}, 1),
		state: newPodState(),
	}
}

func (w *worker) update(pod *corev1.Pod, removed bool) {
	w.mu.Lock()
	w.pod = pod
	w.removed = w.removed || removed
	w.mu.Unlock()
	w.poke()
}

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) latest() (*corev1.Pod, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.pod, w.removed
}

// run syncs until the pod is terminated and cleaned up, or ctx ends.
func (w *worker) run(ctx context.Context) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-w.wake:
		case <-timer.C:
		}
		pod, removed := w.latest()
		next, done := w.sync(ctx, pod, removed)
		if done {
			return
		}
		if next <= 0 || next > resyncPeriod {
			next = resyncPeriod
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(next)
	}
}
