package pods

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/agent/podstatus"
	"github.com/orca-pods/orca/internal/runtime"
)

// terminate stops a pod being deleted: every running container gets its
// stop signal and the pod's grace period (then SIGKILL), everything the pod
// had on the node is removed, and the API object is finally deleted — the
// kubelet's part of graceful deletion.
func (w *worker) terminate(ctx context.Context, pod *corev1.Pod, removed bool) (time.Duration, bool) {
	list, err := w.m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return time.Second, false
	}
	recs := w.collect(list, pod)
	w.m.prober.StopLivenessAndStartup(pod)
	grace := gracePeriod(pod)
	start := w.m.cfg.Clock.Now()
	var wg sync.WaitGroup
	for _, c := range recs.all {
		if c.State == runtime.StateRunning {
			wg.Add(1)
			go func() { defer wg.Done(); w.killContainer(ctx, pod, c, grace) }()
		}
	}
	wg.Wait()
	// The kubelet warns when stopping took longer than the grace period
	// allowed (plus the 2 s it always leaves after a preStop hook).
	if w.m.cfg.Clock.Since(start) > grace+2*time.Second+time.Second {
		w.event(pod, "", corev1.EventTypeWarning, "ExceededGracePeriod", "Container runtime did not kill the pod within specified grace period.")
	}

	if !removed {
		// Report the final container states before the object goes.
		list, _ = w.m.cfg.Runtime.ListContainers(ctx)
		recs = w.collect(list, pod)
		status := podstatus.Generate(podstatus.Input{
			Pod: pod, SandboxReady: false, HostIP: w.m.cfg.NodeIP, HostIPs: []string{w.m.cfg.NodeIP},
			Init: recs.init, Containers: recs.app, Ephemeral: recs.ephemeral,
			Reason: w.state.reason, Message: w.state.message, Terminal: w.state.terminal,
			Now: w.m.cfg.Clock.Now(),
		})
		w.report(ctx, pod, status)
	}
	if err := w.cleanup(ctx, pod, recs); err != nil {
		w.log.Warn("clean up pod", "err", err)
		return 2 * time.Second, false
	}
	if !removed {
		zero := int64(0)
		err := w.m.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero,
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			w.log.Warn("delete pod", "err", err)
			return time.Second, false
		}
	}
	w.m.crashBackOff.DeleteEntry(string(pod.UID))
	return 0, true
}

// killContainer runs the preStop hook, then stops the container within grace.
func (w *worker) killContainer(ctx context.Context, pod *corev1.Pod, c *runtime.ContainerStatus, grace time.Duration) {
	name := c.Labels[containers.LabelContainer]
	w.stopContainer(ctx, pod, c, grace, "Stopping container "+name)
}

// stopContainer runs the container's preStop hook and stops it within
// grace, announcing why in a Killing event.
func (w *worker) stopContainer(ctx context.Context, pod *corev1.Pod, c *runtime.ContainerStatus, grace time.Duration, why string) {
	name := c.Labels[containers.LabelContainer]
	w.event(pod, containerFieldPath(pod, name), corev1.EventTypeNormal, "Killing", why)
	start := w.m.cfg.Clock.Now()
	if spec := containerSpec(pod, name); spec != nil && spec.Lifecycle != nil && spec.Lifecycle.PreStop != nil {
		hookCtx, cancel := context.WithTimeout(ctx, grace)
		if err := w.runHook(hookCtx, pod, spec, c.ID, spec.Lifecycle.PreStop); err != nil {
			w.event(pod, containerFieldPath(pod, name), corev1.EventTypeWarning, "FailedPreStopHook", "PreStopHook failed")
		}
		cancel()
	}
	remaining := grace - w.m.cfg.Clock.Since(start)
	if remaining < 2*time.Second {
		// The kubelet always leaves a minimum of 2 s after a preStop hook.
		remaining = 2 * time.Second
	}
	if grace == 0 {
		remaining = 0
	}
	if err := w.m.cfg.Runtime.StopContainer(ctx, c.ID, remaining); err != nil {
		w.log.Warn("stop container", "container", name, "err", err)
	}
}

// cleanup removes the pod's containers, sandbox, volumes and directory.
func (w *worker) cleanup(ctx context.Context, pod *corev1.Pod, recs *records) error {
	for _, c := range recs.all {
		if err := w.m.cfg.Runtime.RemoveContainer(ctx, c.ID); err != nil {
			return err
		}
	}
	if w.state.sandbox == nil {
		// A restarted agent has not met this pod's sandbox yet.
		sandboxes, err := w.m.cfg.Runtime.ListSandboxes(ctx)
		if err != nil {
			return err
		}
		for _, sb := range sandboxes {
			if sb.PodUID == string(pod.UID) {
				w.state.sandbox = sb
			}
		}
	}
	if w.state.sandbox != nil {
		if w.m.cfg.Network != nil && !pod.Spec.HostNetwork {
			if err := w.m.cfg.Network.TearDownPod(ctx, w.networkPod(pod)); err != nil {
				return fmt.Errorf("tear down pod network: %w", err)
			}
		}
		w.state.podIP = nil
		if err := w.m.cfg.Runtime.RemoveSandbox(ctx, w.state.sandbox.ID); err != nil {
			return err
		}
		w.state.sandbox = nil
	}
	return w.tearDownVolumes(pod)
}

func containerSpec(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	return nil
}

func containerFieldPath(pod *corev1.Pod, name string) string {
	for _, c := range pod.Spec.InitContainers {
		if c.Name == name {
			return fieldPath("spec.initContainers", name)
		}
	}
	for _, c := range pod.Spec.EphemeralContainers {
		if c.Name == name {
			return fieldPath("spec.ephemeralContainers", name)
		}
	}
	return fieldPath("spec.containers", name)
}
