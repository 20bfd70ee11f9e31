package pods

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/images"
	"github.com/orca-pods/orca/internal/runtime"
)

// startContainer (re)starts container c, honouring the crash back-off when
// prev is its last, exited attempt. It returns how long until a back-off
// ends, or 0.
func (w *worker) startContainer(ctx context.Context, pod *corev1.Pod, c *corev1.Container, specPath string, prev *runtime.ContainerStatus) time.Duration {
	ref := fieldPath(specPath, c.Name)
	attempt := 0
	if prev != nil {
		attempt = prev.Attempt + 1
		key := backOffKey(pod, c.Name)
		finished := exitedAt(prev)
		if w.m.crashBackOff.IsInBackOffSince(key, finished) {
			delay := w.m.crashBackOff.Get(key)
			w.state.setWaiting(c.Name, "CrashLoopBackOff",
				fmt.Sprintf("back-off %s restarting failed container=%s pod=%s", delay, c.Name, formatPod(pod)))
			w.event(pod, ref, corev1.EventTypeWarning, "BackOff",
				fmt.Sprintf("Back-off restarting failed container %s in pod %s", c.Name, formatPod(pod)))
			return finished.Add(delay).Sub(w.m.cfg.Clock.Now())
		}
		w.m.crashBackOff.Next(key, finished)
	}

	if err := w.claimsReady(pod, c); err != nil {
		w.state.setWaiting(c.Name, "ContainerCreating", "")
		w.event(pod, "", corev1.EventTypeWarning, "FailedMount", err.Error())
		return 5 * time.Second
	}
	img, wait := w.ensureImage(ctx, pod, c, ref)
	if img == nil {
		return wait
	}
	cfg, err := w.containerConfig(ctx, pod, c, img, attempt)
	var volErr *volumeError
	if errors.As(err, &volErr) {
		w.state.setWaiting(c.Name, "ContainerCreating", "")
		w.event(pod, "", corev1.EventTypeWarning, "FailedMount", err.Error())
		return 5 * time.Second
	}
	if err != nil {
		reason := "CreateContainerConfigError"
		var cce *containerConfigError
		if !errors.As(err, &cce) {
			reason = "CreateContainerError"
		}
		w.state.setWaiting(c.Name, reason, err.Error())
		w.event(pod, ref, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return 2 * time.Second
	}
	if specPath == "spec.ephemeralContainers" {
		cfg.TargetContainerID = w.debugTarget(ctx, pod, c.Name)
	}
	id, err := w.m.cfg.Runtime.CreateContainer(ctx, w.state.sandbox.ID, cfg)
	if err != nil {
		w.state.setWaiting(c.Name, "CreateContainerError", err.Error())
		w.event(pod, ref, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return 2 * time.Second
	}
	delete(w.state.waiting, c.Name)
	for _, m := range cfg.Mounts {
		if c.TerminationMessagePath != "" && m.ContainerPath == c.TerminationMessagePath {
			w.state.termFiles[id] = termFile{path: m.HostPath, fallbackToLogs: c.TerminationMessagePolicy == corev1.TerminationMessageFallbackToLogsOnError}
		}
	}
	w.event(pod, ref, corev1.EventTypeNormal, "Created", "Created container: "+c.Name)
	if err := w.m.cfg.Runtime.StartContainer(ctx, id); err != nil {
		// The runtime reports the attempt as terminated (StartError, 128);
		// the next sync restarts it under the crash back-off.
		w.event(pod, ref, corev1.EventTypeWarning, "Failed", "Error: "+err.Error())
		return 0
	}
	w.event(pod, ref, corev1.EventTypeNormal, "Started", "Started container "+c.Name)
	if c.Lifecycle != nil && c.Lifecycle.PostStart != nil {
		if err := w.runHook(ctx, pod, c, id, c.Lifecycle.PostStart); err != nil {
			// The message stays out of the event: it could carry secrets.
			w.event(pod, ref, corev1.EventTypeWarning, "FailedPostStartHook", "PostStartHook failed")
			w.log.Info("postStart hook failed", "container", c.Name, "err", err)
			_ = w.m.cfg.Runtime.StopContainer(ctx, id, gracePeriod(pod))
		}
	}
	w.pruneAttempts(ctx, pod, c.Name, attempt)
	return 0
}

// pruneAttempts removes a container's attempts older than the previous one:
// Kubernetes keeps one dead container per container for `logs --previous`.
func (w *worker) pruneAttempts(ctx context.Context, pod *corev1.Pod, name string, attempt int) {
	list, err := w.m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return
	}
	for _, c := range w.collect(list, pod).all {
		if c.Labels[containers.LabelContainer] == name && c.Attempt < attempt-1 && c.State != runtime.StateRunning {
			_ = w.m.cfg.Runtime.RemoveContainer(ctx, c.ID)
			delete(w.state.messages, c.ID)
		}
	}
}

// ensureImage applies the pull policy with the kubelet's events and
// back-off. A nil image means the container cannot start yet; the duration
// says when to look again.
func (w *worker) ensureImage(ctx context.Context, pod *corev1.Pod, c *corev1.Container, ref string) (*images.Image, time.Duration) {
	svc := w.m.cfg.Images
	present, err := svc.Get(c.Image)
	if err != nil && !errors.Is(err, images.ErrNotFound) {
		w.state.setWaiting(c.Name, "InvalidImageName", fmt.Sprintf("Failed to apply default image tag %q: %v", c.Image, err))
		w.event(pod, ref, corev1.EventTypeWarning, "InspectFailed", w.state.waiting[c.Name].Message)
		return nil, 10 * time.Second
	}
	pull := c.ImagePullPolicy == corev1.PullAlways || (present == nil && c.ImagePullPolicy != corev1.PullNever)
	if !pull {
		if present == nil {
			msg := fmt.Sprintf("Container image %q is not present with pull policy of Never", c.Image)
			w.state.setWaiting(c.Name, "ErrImageNeverPull", msg)
			w.event(pod, ref, corev1.EventTypeWarning, "ErrImageNeverPull", msg)
			return nil, 10 * time.Second
		}
		w.event(pod, ref, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Container image %q already present on machine", c.Image))
		w.state.imageIDs[c.Name] = imageID(present)
		return present, 0
	}
	key := string(pod.UID) + "/" + c.Image
	now := w.m.cfg.Clock.Now()
	if w.m.pullBackOff.IsInBackOffSinceUpdate(key, now) {
		msg := fmt.Sprintf("Back-off pulling image %q", c.Image)
		w.state.setWaiting(c.Name, "ImagePullBackOff", msg)
		w.event(pod, ref, corev1.EventTypeNormal, "BackOff", msg)
		return nil, w.m.pullBackOff.Get(key)
	}
	w.event(pod, ref, corev1.EventTypeNormal, "Pulling", fmt.Sprintf("Pulling image %q", c.Image))
	creds := w.pullCredentials(ctx, pod)
	img, stats, err := svc.Pull(ctx, c.Image, creds)
	if err != nil {
		w.m.pullBackOff.Next(key, now)
		msg := fmt.Sprintf("Failed to pull image %q: %v", c.Image, err)
		w.state.setWaiting(c.Name, "ErrImagePull", msg)
		w.event(pod, ref, corev1.EventTypeWarning, "Failed", msg)
		w.event(pod, ref, corev1.EventTypeWarning, "Failed", "Error: ErrImagePull")
		return nil, w.m.pullBackOff.Get(key)
	}
	w.m.pullBackOff.Reset(key)
	w.event(pod, ref, corev1.EventTypeNormal, "Pulled", fmt.Sprintf("Successfully pulled image %q in %s (%s including waiting). Image size: %d bytes.",
		c.Image, stats.Duration.Round(time.Millisecond), stats.Duration.Round(time.Millisecond), img.Size))
	w.state.imageIDs[c.Name] = imageID(img)
	return img, 0
}

func imageID(img *images.Image) string {
	if img.RepoDigest != "" {
		return img.RepoDigest
	}
	return img.ID
}

func backOffKey(pod *corev1.Pod, container string) string {
	return string(pod.UID) + "/" + container
}

// formatPod is the kubelet's name_namespace(uid) form used in messages.
func formatPod(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}

func fieldPath(specPath, name string) string {
	return fmt.Sprintf("%s{%s}", specPath, name)
}

// debugTarget is the runtime ID of the running container an ephemeral
// container targets (kubectl debug --target), whose processes it then sees.
func (w *worker) debugTarget(ctx context.Context, pod *corev1.Pod, name string) string {
	target := ""
	for _, ec := range pod.Spec.EphemeralContainers {
		if ec.Name == name {
			target = ec.TargetContainerName
		}
	}
	if target == "" {
		return ""
	}
	list, err := w.m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return ""
	}
	if rec := w.collect(list, pod).app[target]; rec != nil && rec.Current != nil && rec.Current.State == runtime.StateRunning {
		return rec.Current.ID
	}
	return ""
}
