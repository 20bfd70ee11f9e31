package pods

import (
	"context"
	"fmt"
	"net"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/agent/podstatus"
	"github.com/orca-pods/orca/internal/agent/prober"
	"github.com/orca-pods/orca/internal/runtime"
)

// sync moves the pod one step toward its spec and reports its status. It
// returns when to look again, and whether the worker is finished.
func (w *worker) sync(ctx context.Context, pod *corev1.Pod, removed bool) (time.Duration, bool) {
	if removed || pod.DeletionTimestamp != nil {
		return w.terminate(ctx, pod, removed)
	}
	w.takeEviction(pod)
	w.admit(pod)
	now := w.m.cfg.Clock.Now()
	if w.deadlineExceeded(pod, now) && !w.state.terminal {
		w.state.terminal = true
		w.state.reason, w.state.message = "DeadlineExceeded", "Pod was active on the node longer than the specified deadline"
		w.event(pod, "", corev1.EventTypeNormal, "DeadlineExceeded", w.state.message)
	}
	terminal := w.state.terminal || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
	// Like the kubelet, report what is true now before acting, so that
	// transitions such as PodInitializing are visible; then report again.
	if w.state.sandbox != nil {
		w.reportCurrent(ctx, pod, now)
	}
	var next time.Duration
	if terminal {
		w.stopRunning(ctx, pod, "")
	} else {
		next = w.syncContainers(ctx, pod)
	}
	if !w.reportCurrent(ctx, pod, w.m.cfg.Clock.Now()) {
		return time.Second, false
	}
	if next == 0 && pod.Spec.ActiveDeadlineSeconds != nil && pod.Status.StartTime != nil {
		next = pod.Status.StartTime.Add(time.Duration(*pod.Spec.ActiveDeadlineSeconds)*time.Second).Sub(now) + 10*time.Millisecond
	}
	return next, false
}

// reportCurrent generates the pod's status from the runtime and reports it.
func (w *worker) reportCurrent(ctx context.Context, pod *corev1.Pod, now time.Time) bool {
	list, err := w.m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		w.log.Warn("list containers", "err", err)
		return false
	}
	recs := w.collect(list, pod)
	w.markReadiness(pod, recs)
	status := podstatus.Generate(podstatus.Input{
		Pod:          pod,
		SandboxReady: w.state.sandbox != nil,
		PodIPs:       w.podIPs(),
		HostIP:       w.m.cfg.NodeIP,
		HostIPs:      []string{w.m.cfg.NodeIP},
		Init:         recs.init,
		Containers:   recs.app,
		Ephemeral:    recs.ephemeral,
		Reason:       w.state.reason,
		Message:      w.state.message,
		Terminal:     w.state.terminal,
		Now:          now,
	})
	w.withCondition(&status)
	w.report(ctx, pod, status)
	return true
}

func (w *worker) deadlineExceeded(pod *corev1.Pod, now time.Time) bool {
	if pod.Spec.ActiveDeadlineSeconds == nil || pod.Status.StartTime == nil {
		return false
	}
	return now.Sub(pod.Status.StartTime.Time) >= time.Duration(*pod.Spec.ActiveDeadlineSeconds)*time.Second
}

// markReadiness tells the prober which attempt of each container runs
// (its probes follow the attempt) and takes ready and started from it.
func (w *worker) markReadiness(pod *corev1.Pod, recs *records) {
	pr := w.m.prober
	pr.AddPod(pod)
	if ip := w.state.podIP; ip != nil {
		pr.SetPodIP(pod.UID, ip.String())
	}
	for _, group := range []struct {
		specs []corev1.Container
		recs  map[string]*podstatus.ContainerRecord
	}{{pod.Spec.InitContainers, recs.init}, {pod.Spec.Containers, recs.app}} {
		for _, c := range group.specs {
			rec, ok := group.recs[c.Name]
			if !ok || rec.Current == nil {
				continue
			}
			cur := rec.Current
			running := cur.State == runtime.StateRunning
			pr.SetContainer(pod.UID, c.Name, cur.ID, cur.StartedAt, running)
			if running {
				rec.Started = pr.Startup(pod.UID, c.Name, cur.ID)
				rec.Ready = pr.Readiness(pod.UID, c.Name, cur.ID)
			}
		}
	}
}

// killFailedProbes kills the running containers whose liveness or startup
// probe failed; the sync loop then restarts them as the policy says.
func (w *worker) killFailedProbes(ctx context.Context, pod *corev1.Pod, recs *records) {
	for _, group := range []map[string]*podstatus.ContainerRecord{recs.init, recs.app} {
		for name, rec := range group {
			cur := current(rec)
			if cur == nil || cur.State != runtime.StateRunning {
				continue
			}
			if t, failed := w.m.prober.ProbeFailure(pod.UID, name, cur.ID); failed {
				w.stopContainer(ctx, pod, cur, prober.KillGracePeriod(pod, name, t), prober.KillMessage(pod, name, t))
			}
		}
	}
}

// syncContainers runs init containers in order, then the pod's containers,
// restarting them as the restart policy says. It returns when the next
// back-off ends (0 if none is pending).
func (w *worker) syncContainers(ctx context.Context, pod *corev1.Pod) time.Duration {
	if w.state.sandbox == nil {
		if err := w.createSandbox(ctx, pod); err != nil {
			return 2 * time.Second
		}
	}
	if err := w.setUpNetwork(ctx, pod); err != nil {
		return 2 * time.Second
	}
	list, err := w.m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return time.Second
	}
	recs := w.collect(list, pod)
	w.markReadiness(pod, recs)
	w.killFailedProbes(ctx, pod, recs)
	w.updateVolumes(ctx, pod)
	if list, err = w.m.cfg.Runtime.ListContainers(ctx); err != nil {
		return time.Second
	}
	recs = w.collect(list, pod)
	var next time.Duration
	soonest := func(d time.Duration) {
		if d > 0 && (next == 0 || d < next) {
			next = d
		}
	}
	// Once every regular container has finished for good, sidecars are
	// stopped and not restarted, so the pod can complete.
	if w.appsFinished(pod, recs) {
		for i := range pod.Spec.InitContainers {
			c := &pod.Spec.InitContainers[i]
			if isSidecar(c) {
				if cur := current(recs.init[c.Name]); cur != nil && cur.State == runtime.StateRunning {
					w.killContainer(ctx, pod, cur, gracePeriod(pod))
				}
			}
		}
		return 0
	}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		cur := current(recs.init[c.Name])
		sidecar := isSidecar(c)
		switch {
		case cur != nil && cur.State == runtime.StateRunning:
			if sidecar && w.m.prober.Startup(pod.UID, c.Name, cur.ID) {
				continue
			}
			return next
		case cur != nil && cur.State == runtime.StateExited && cur.ExitCode == 0 && !sidecar:
			continue
		case cur != nil && cur.State == runtime.StateExited && pod.Spec.RestartPolicy == corev1.RestartPolicyNever && !sidecar:
			// A failed init container fails a pod that never restarts.
			return next
		}
		soonest(w.startContainer(ctx, pod, c, "spec.initContainers", cur))
		if !sidecar {
			return next
		}
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		cur := current(recs.app[c.Name])
		if cur != nil && (cur.State == runtime.StateRunning || !shouldRestart(pod.Spec.RestartPolicy, cur)) {
			continue
		}
		soonest(w.startContainer(ctx, pod, c, "spec.containers", cur))
	}
	for i := range pod.Spec.EphemeralContainers {
		ec := &pod.Spec.EphemeralContainers[i]
		if recs.ephemeral[ec.Name] != nil && recs.ephemeral[ec.Name].Current != nil {
			continue // ephemeral containers never restart
		}
		c := corev1.Container(ec.EphemeralContainerCommon)
		w.startContainer(ctx, pod, &c, "spec.ephemeralContainers", nil)
	}
	return next
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// appsFinished: every regular container has exited and will not restart.
func (w *worker) appsFinished(pod *corev1.Pod, recs *records) bool {
	if pod.Spec.RestartPolicy == corev1.RestartPolicyAlways {
		return false
	}
	for i := range pod.Spec.Containers {
		cur := current(recs.app[pod.Spec.Containers[i].Name])
		if cur == nil || cur.State != runtime.StateExited || shouldRestart(pod.Spec.RestartPolicy, cur) {
			return false
		}
	}
	return true
}

func current(rec *podstatus.ContainerRecord) *runtime.ContainerStatus {
	if rec == nil {
		return nil
	}
	return rec.Current
}

func shouldRestart(policy corev1.RestartPolicy, c *runtime.ContainerStatus) bool {
	switch policy {
	case corev1.RestartPolicyNever:
		return false
	case corev1.RestartPolicyOnFailure:
		return c.ExitCode != 0
	default:
		return true
	}
}

func (w *worker) createSandbox(ctx context.Context, pod *corev1.Pod) error {
	sb, err := w.m.cfg.Runtime.CreateSandbox(ctx, w.sandboxConfig(pod))
	if err != nil {
		if w.state.sandboxErr == nil || w.state.sandboxErr.Error() != err.Error() {
			w.event(pod, "", corev1.EventTypeWarning, "FailedCreatePodSandBox", fmt.Sprintf("Failed to create pod sandbox: %v", err))
		}
		w.state.sandboxErr = err
		for _, c := range pod.Spec.Containers {
			w.state.setWaiting(c.Name, "ContainerCreating", "")
		}
		return err
	}
	w.state.sandbox, w.state.sandboxErr = sb, nil
	for _, c := range pod.Spec.Containers {
		delete(w.state.waiting, c.Name)
	}
	return nil
}

func (w *worker) podIPs() []string {
	if w.state.podIP == nil {
		return nil
	}
	return []string{w.state.podIP.String()}
}

// setUpNetwork gives the pod its IP before any container starts, as the
// kubelet has the network plugin do right after the sandbox; the pod's
// /etc/hosts then gains its own name.
func (w *worker) setUpNetwork(ctx context.Context, pod *corev1.Pod) error {
	if w.state.podIP != nil {
		return nil
	}
	if pod.Spec.HostNetwork {
		w.state.podIP = net.ParseIP(w.m.cfg.NodeIP)
		return nil
	}
	if w.m.cfg.Network == nil {
		return nil
	}
	ip, err := w.m.cfg.Network.SetUpPod(ctx, w.networkPod(pod))
	if err != nil {
		msg := fmt.Sprintf("Failed to create pod sandbox: %v", err)
		if w.state.sandboxErr == nil || w.state.sandboxErr.Error() != err.Error() {
			w.event(pod, "", corev1.EventTypeWarning, "FailedCreatePodSandBox", msg)
		}
		w.state.sandboxErr = err
		for _, c := range pod.Spec.Containers {
			w.state.setWaiting(c.Name, "ContainerCreating", "")
		}
		return err
	}
	w.state.podIP, w.state.sandboxErr = ip, nil
	if path := w.state.sandbox.EtcHostsPath; path != "" {
		hostname := w.sandboxConfig(pod).Hostname
		if err := os.WriteFile(path, []byte(etcHosts(pod, hostname, ip.String())), 0o644); err != nil {
			w.log.Warn("write /etc/hosts", "err", err)
		}
	}
	return nil
}

// stopRunning stops every running container of the pod (all when name is "").
func (w *worker) stopRunning(ctx context.Context, pod *corev1.Pod, name string) {
	list, err := w.m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return
	}
	for _, c := range w.collect(list, pod).all {
		if c.State == runtime.StateRunning && (name == "" || c.Name == name) {
			w.killContainer(ctx, pod, c, w.grace(pod))
		}
	}
}

func gracePeriod(pod *corev1.Pod) time.Duration {
	switch {
	case pod.DeletionGracePeriodSeconds != nil:
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	case pod.Spec.TerminationGracePeriodSeconds != nil:
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}
