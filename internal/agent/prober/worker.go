package prober

import (
	"context"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Defaults the API server applies; repeated here so that a pod object that
// skipped defaulting (tests, static manifests) still probes sanely.
const (
	defaultPeriod           = 10 * time.Second
	defaultTimeout          = time.Second
	defaultSuccessThreshold = 1
	defaultFailureThreshold = 3
)

// worker probes one container attempt with one of its probes.
type worker struct {
	m           *Manager
	podUID      types.UID
	container   *corev1.Container
	fieldPath   string
	containerID string
	probeType   ProbeType
	spec        *corev1.Probe
	startedAt   time.Time
	ctx         context.Context
	cancel      context.CancelFunc
	log         *slog.Logger

	// Only the worker's goroutine touches these: the current run of equal
	// raw results, compared against the thresholds.
	lastResult Result
	resultRun  int
}

// startWorker starts probing; the caller holds m.mu and records the worker
// in c.workers[t] (which is how a worker knows it is still current).
func (m *Manager) startWorker(podUID types.UID, c *containerProbes, t ProbeType, p *corev1.Probe, startedAt time.Time) *worker {
	ctx, cancel := context.WithCancel(m.ctx)
	w := &worker{
		m:           m,
		podUID:      podUID,
		container:   &c.spec,
		fieldPath:   c.fieldPath(),
		containerID: c.id,
		probeType:   t,
		spec:        p,
		startedAt:   startedAt,
		ctx:         ctx,
		cancel:      cancel,
		log:         m.log.With("pod", podUID, "container", c.spec.Name, "containerID", c.id, "probe", t.String()),
	}
	m.workers.Add(1)
	m.wg.Go(w.run)
	return w
}

func (w *worker) run() {
	defer w.m.workers.Add(-1)
	defer w.cancel()
	// Nothing runs before initialDelaySeconds have passed since the
	// container started (counted from its start, so an agent restart does
	// not delay probes of old containers again).
	delay := time.Duration(w.spec.InitialDelaySeconds)*time.Second - w.m.clock.Since(w.startedAt)
	if !w.sleep(delay) {
		return
	}
	period := seconds(w.spec.PeriodSeconds, defaultPeriod)
	next := w.m.clock.Now()
	for {
		if !w.doProbe() {
			return
		}
		// Like a ticker: periods count from probe start to probe start,
		// and ticks missed during a slow probe are dropped.
		now := w.m.clock.Now()
		next = next.Add(period)
		if !next.After(now) {
			next = next.Add((now.Sub(next)/period + 1) * period)
		}
		if !w.sleep(next.Sub(now)) {
			return
		}
	}
}

// sleep waits d on the manager's clock; false if the worker was stopped.
func (w *worker) sleep(d time.Duration) bool {
	if d <= 0 {
		return w.ctx.Err() == nil
	}
	t := w.m.clock.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return true
	case <-w.ctx.Done():
		return false
	}
}

// doProbe runs the probe once and records the outcome; false ends the
// worker.
func (w *worker) doProbe() bool {
	tgt, ok := w.m.current(w)
	if !ok || w.ctx.Err() != nil {
		return false
	}
	if w.probeType != StartupProbe && !tgt.started {
		return true // readiness and liveness wait for the startup probe
	}
	result, err := w.m.probe(w.ctx, w.probeType, tgt.pod, tgt.podIP, w.container, w.fieldPath, w.containerID, w.spec)
	if w.ctx.Err() != nil {
		return false // stopped mid-probe: the outcome is meaningless
	}
	if err != nil {
		// A probe that could not run decides nothing (the event is
		// recorded); it neither counts toward nor resets a threshold.
		return true
	}
	if result == w.lastResult {
		w.resultRun++
	} else {
		w.lastResult, w.resultRun = result, 1
	}
	if (result == Failure && w.resultRun < threshold(w.spec.FailureThreshold, defaultFailureThreshold)) ||
		(result == Success && w.resultRun < threshold(w.spec.SuccessThreshold, defaultSuccessThreshold)) {
		return true
	}
	w.m.setResult(w, result)
	switch {
	case w.probeType == StartupProbe && result == Success:
		return false // started; nothing left to check for this attempt
	case (w.probeType == LivenessProbe || w.probeType == StartupProbe) && result == Failure:
		// The container will be killed: probing it further (say, exec
		// while it stops) is pointless until a new attempt replaces it.
		return false
	}
	return true
}

func seconds(s int32, def time.Duration) time.Duration {
	if s <= 0 {
		return def
	}
	return time.Duration(s) * time.Second
}

func threshold(n int32, def int) int {
	if n <= 0 {
		return def
	}
	return int(n)
}
