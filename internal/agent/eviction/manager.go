package eviction

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/record"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
	"k8s.io/klog/v2"
	"k8s.io/utils/clock"
)

const (
	// DefaultInterval is the kubelet's housekeeping (eviction) interval.
	DefaultInterval = 10 * time.Second
	// DefaultPressureTransitionPeriod is --eviction-pressure-transition-period's default.
	DefaultPressureTransitionPeriod = 5 * time.Minute

	// The kubelet waits this long, polling at this rate, for an evicted
	// pod's resources to be released before judging pressure again, so
	// the same pressure does not evict a second pod.
	podCleanupTimeout  = 30 * time.Second
	podCleanupPollFreq = time.Second
)

// Config wires the manager to the agent.
type Config struct {
	// Thresholds, hard and soft; see ParseThresholds and
	// ParseThresholdConfig. Without any, only local-storage limits are
	// enforced.
	Thresholds []Threshold
	// PressureTransitionPeriod is how long a pressure condition stays
	// reported after its threshold was last met, so it does not flap.
	// Default DefaultPressureTransitionPeriod.
	PressureTransitionPeriod time.Duration
	// Interval between cycles. Default DefaultInterval.
	Interval time.Duration
	// MaxPodGracePeriodSeconds caps the grace period of pods evicted for
	// a soft threshold (--eviction-max-pod-grace-period); 0 means the
	// pod's own terminationGracePeriodSeconds.
	MaxPodGracePeriodSeconds int64

	// Observe measures the node. Required.
	Observe func(ctx context.Context) (Observations, error)
	// Pods returns the node's active pods and their usage. Pods already
	// evicted or otherwise terminal must be left out, or a pod still being
	// killed would be picked again. Required.
	Pods func(ctx context.Context) ([]PodUsage, error)
	// Evict kills the pod with status.GracePeriodSeconds and reports it
	// Failed with status.Apply. It should return once the containers are
	// stopped. Required.
	Evict func(ctx context.Context, pod *corev1.Pod, status EvictionStatus) error
	// ReclaimDisk, when set, frees node-level disk (unused images, dead
	// containers); it is tried before evicting a pod for disk pressure.
	ReclaimDisk func(ctx context.Context) error
	// PodCleanedUp, when set, reports whether an evicted pod's resources
	// are released; Run waits for it (up to 30s) before the next cycle.
	PodCleanedUp func(pod *corev1.Pod) bool
	// Recorder, when set, receives the Warning Evicted event.
	Recorder record.EventRecorder

	Clock  clock.Clock
	Logger *slog.Logger
}

// Manager runs eviction cycles and holds the node's pressure state.
type Manager struct {
	cfg   Config
	clock clock.Clock
	log   *slog.Logger

	// syncMu serialises cycles; the fields after it belong to the cycle.
	syncMu                   sync.Mutex
	met                      []Threshold
	firstObservedAt          map[thresholdKey]time.Time
	conditionsLastObservedAt map[corev1.NodeConditionType]time.Time
	lastObservationTime      time.Time

	// mu guards conditions, read by the node status reporter and admission.
	mu         sync.RWMutex
	conditions []corev1.NodeConditionType
}

// New validates cfg and fills its defaults.
func New(cfg Config) (*Manager, error) {
	if cfg.Observe == nil || cfg.Pods == nil || cfg.Evict == nil {
		return nil, errors.New("eviction: Observe, Pods and Evict are required")
	}
	for _, t := range cfg.Thresholds {
		if !validSignal(t.Signal) {
			return nil, fmt.Errorf("eviction: unsupported eviction signal %v", t.Signal)
		}
		if t.Value.Quantity == nil && (t.Value.Percentage <= 0 || t.Value.Percentage > 1) {
			return nil, fmt.Errorf("eviction: threshold %v has no value", t.Signal)
		}
	}
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.PressureTransitionPeriod <= 0 {
		cfg.PressureTransitionPeriod = DefaultPressureTransitionPeriod
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &Manager{
		cfg:                      cfg,
		clock:                    cfg.Clock,
		log:                      cfg.Logger.With("component", "eviction"),
		firstObservedAt:          map[thresholdKey]time.Time{},
		conditionsLastObservedAt: map[corev1.NodeConditionType]time.Time{},
	}, nil
}

// Conditions reports the pressure conditions for the node status.
func (m *Manager) Conditions() (memoryPressure, diskPressure, pidPressure bool) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return slices.Contains(m.conditions, corev1.NodeMemoryPressure),
		slices.Contains(m.conditions, corev1.NodeDiskPressure),
		slices.Contains(m.conditions, corev1.NodePIDPressure)
}

// Admit decides, as the kubelet's eviction admission handler, whether a
// new pod may start: under memory pressure only, BestEffort pods are
// refused unless they tolerate the memory-pressure taint; under any other
// pressure every pod is refused. Critical pods are always admitted.
func (m *Manager) Admit(pod *corev1.Pod) (admit bool, reason, message string) {
	m.mu.RLock()
	conds := slices.Clone(m.conditions)
	m.mu.RUnlock()
	if len(conds) == 0 || IsCritical(pod) {
		return true, "", ""
	}
	if len(conds) == 1 && conds[0] == corev1.NodeMemoryPressure {
		if !isBestEffort(pod) {
			return true, "", ""
		}
		taint := &corev1.Taint{Key: corev1.TaintNodeMemoryPressure, Effect: corev1.TaintEffectNoSchedule}
		if corev1helpers.TolerationsTolerateTaint(klog.Background(), pod.Spec.Tolerations, taint, false) {
			return true, "", ""
		}
	}
	return false, Reason, fmt.Sprintf(nodeConditionMessageFmt, conds)
}

// Run executes cycles until ctx ends. After an eviction it waits for the
// pod to be cleaned up instead of the interval, then checks again.
func (m *Manager) Run(ctx context.Context) {
	m.log.Info("eviction manager started", "thresholds", fmt.Sprint(m.cfg.Thresholds), "interval", m.cfg.Interval)
	for ctx.Err() == nil {
		evicted, err := m.Synchronize(ctx)
		if err != nil {
			m.log.Error("eviction cycle failed", "err", err)
		}
		if err == nil && len(evicted) > 0 && m.cfg.PodCleanedUp != nil {
			m.waitForCleanup(ctx, evicted)
			continue
		}
		select {
		case <-ctx.Done():
		case <-m.clock.After(m.cfg.Interval):
		}
	}
}

func (m *Manager) waitForCleanup(ctx context.Context, pods []*corev1.Pod) {
	deadline := m.clock.Now().Add(podCleanupTimeout)
	for {
		if !slices.ContainsFunc(pods, func(p *corev1.Pod) bool { return !m.cfg.PodCleanedUp(p) }) {
			return
		}
		if !m.clock.Now().Before(deadline) {
			m.log.Warn("timed out waiting for evicted pods to be cleaned up", "pods", podNames(pods))
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-m.clock.After(podCleanupPollFreq):
		}
	}
}

// Synchronize runs one cycle: it evicts every pod breaking a local-storage
// limit, or else updates the pressure state and, if a threshold is met,
// evicts the single pod ranked first for it. It returns the pods evicted.
func (m *Manager) Synchronize(ctx context.Context) ([]*corev1.Pod, error) {
	m.syncMu.Lock()
	defer m.syncMu.Unlock()

	obs, obsErr := m.cfg.Observe(ctx)
	pods, podsErr := m.cfg.Pods(ctx)
	if podsErr != nil {
		podsErr = fmt.Errorf("eviction: list pods: %w", podsErr)
	} else if evicted := m.localStorageEviction(ctx, pods, obsErr == nil && obs.DedicatedImageFs()); len(evicted) > 0 {
		// Limits are per pod and need no node observation, so they are
		// enforced even when observing the node failed.
		return evicted, nil
	}
	if obsErr != nil {
		return nil, errors.Join(fmt.Errorf("eviction: observe node: %w", obsErr), podsErr)
	}

	// Pressure conditions stay current even when pods cannot be listed.
	ready := m.updatePressure(obs)
	if podsErr != nil {
		return nil, podsErr
	}
	if len(ready) == 0 {
		return nil, nil
	}
	sortByEvictionPriority(ready)
	t := ready[0]
	available, _, _ := obs.observed(t.Signal)
	m.log.Info("eviction threshold met", "threshold", t.String(), "available", available.String())
	if m.reclaimNodeLevel(ctx, t) {
		return nil, nil
	}

	var errs []error
	for _, u := range rankPods(pods, t.Signal, obs.DedicatedImageFs()) {
		if IsCritical(u.Pod) {
			m.log.Debug("not evicting critical pod", "pod", podName(u.Pod))
			continue
		}
		status := pressureEviction(u, t, obs, m.cfg.MaxPodGracePeriodSeconds)
		if err := m.evict(ctx, u.Pod, status); err != nil {
			// The kubelet moves on to the next candidate rather than
			// leaving the pressure unrelieved.
			errs = append(errs, err)
			continue
		}
		return []*corev1.Pod{u.Pod}, nil
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("eviction: no pod evicted for %s: %w", t, errors.Join(errs...))
	}
	m.log.Warn("eviction threshold met but no pod can be evicted", "threshold", t.String())
	return nil, nil
}

// updatePressure records which thresholds are met and the resulting node
// conditions, and returns the thresholds due for eviction: met past their
// grace period, on fresh stats.
func (m *Manager) updatePressure(obs Observations) []Threshold {
	now := m.clock.Now()
	met := thresholdsMet(m.cfg.Thresholds, obs, false)
	if len(m.met) > 0 {
		// Thresholds met last cycle stay met until MinReclaim is freed.
		met = mergeThresholds(met, thresholdsMet(m.met, obs, true))
	}
	first := make(map[thresholdKey]time.Time, len(met))
	for _, t := range met {
		at, ok := m.firstObservedAt[keyOf(t)]
		if !ok {
			at = now
		}
		first[keyOf(t)] = at
	}

	current := conditionsOf(met)
	for _, c := range current {
		m.conditionsLastObservedAt[c] = now
	}
	var conds []corev1.NodeConditionType
	for _, c := range []corev1.NodeConditionType{corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure} {
		at, ok := m.conditionsLastObservedAt[c]
		if !ok {
			continue
		}
		if slices.Contains(current, c) || now.Sub(at) < m.cfg.PressureTransitionPeriod {
			conds = append(conds, c)
		} else {
			delete(m.conditionsLastObservedAt, c)
		}
	}

	m.mu.Lock()
	old := m.conditions
	m.conditions = conds
	m.mu.Unlock()
	for _, c := range conds {
		if !slices.Contains(old, c) {
			m.log.Warn("node under pressure", "condition", c, "thresholds", fmt.Sprint(met))
		}
	}
	for _, c := range old {
		if !slices.Contains(conds, c) {
			m.log.Info("node pressure relieved", "condition", c)
		}
	}

	m.met, m.firstObservedAt = met, first
	var ready []Threshold
	for _, t := range met {
		if now.Sub(first[keyOf(t)]) >= t.GracePeriod {
			ready = append(ready, t)
		}
	}
	// Stats no newer than last cycle's may not reflect the last eviction
	// yet; acting on them could evict a second pod for the same pressure.
	stale := !obs.Time.IsZero() && !obs.Time.After(m.lastObservationTime)
	m.lastObservationTime = obs.Time
	if stale {
		return nil
	}
	return ready
}

// reclaimNodeLevel frees node-level disk for a disk threshold and reports
// whether that relieved every threshold, making an eviction unnecessary.
func (m *Manager) reclaimNodeLevel(ctx context.Context, t Threshold) bool {
	if m.cfg.ReclaimDisk == nil || signalCondition[t.Signal] != corev1.NodeDiskPressure {
		return false
	}
	if err := m.cfg.ReclaimDisk(ctx); err != nil {
		m.log.Warn("node-level disk reclaim failed", "err", err)
	}
	obs, err := m.cfg.Observe(ctx)
	if err != nil {
		m.log.Warn("observe node after disk reclaim", "err", err)
		return false
	}
	if len(thresholdsMet(m.cfg.Thresholds, obs, true)) > 0 {
		return false
	}
	m.log.Info("node-level disk reclaim relieved pressure", "threshold", t.String())
	return true
}

// localStorageEviction evicts every pod over an emptyDir sizeLimit or an
// ephemeral-storage limit; these are the pod's own limits, so unlike
// pressure evictions there is no reason to stop at one.
func (m *Manager) localStorageEviction(ctx context.Context, pods []PodUsage, dedicatedImageFs bool) []*corev1.Pod {
	var evicted []*corev1.Pod
	for i := range pods {
		u := &pods[i]
		status, violated := localStorageViolation(u, dedicatedImageFs)
		if !violated {
			continue
		}
		if IsCritical(u.Pod) {
			m.log.Warn("critical pod exceeds its local storage limit; not evicting", "pod", podName(u.Pod), "reason", status.Message)
			continue
		}
		if err := m.evict(ctx, u.Pod, status); err != nil {
			m.log.Error("evict pod over its local storage limit", "pod", podName(u.Pod), "err", err)
			continue
		}
		evicted = append(evicted, u.Pod)
	}
	return evicted
}

func (m *Manager) evict(ctx context.Context, pod *corev1.Pod, status EvictionStatus) error {
	if m.cfg.Recorder != nil {
		m.cfg.Recorder.AnnotatedEventf(pod, status.Annotations, corev1.EventTypeWarning, Reason, "%s", status.Message)
	}
	m.log.Info("evicting pod", "pod", podName(pod), "signal", status.Signal, "message", status.Message)
	if err := m.cfg.Evict(ctx, pod, status); err != nil {
		return fmt.Errorf("evict pod %s: %w", podName(pod), err)
	}
	return nil
}

func podName(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }

func podNames(pods []*corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = podName(p)
	}
	return out
}
