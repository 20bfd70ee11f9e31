package scheduler

import (
	"context"
	"encoding/json"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
)

// schedulingGatedMessage is the message of the PodScheduled condition of a
// pod with scheduling gates (set by the API server at creation upstream).
const schedulingGatedMessage = "Scheduling is blocked due to non-empty scheduling gates"

// noteLengthLimit caps event messages (upstream validation.NoteLengthLimit).
const noteLengthLimit = 1024

func truncateMessage(msg string) string {
	if len(msg) <= noteLengthLimit {
		return msg
	}
	const suffix = " ..."
	return msg[:noteLengthLimit-len(suffix)] + suffix
}

// updatePodCondition sets cond in status the way upstream
// podutil.UpdatePodCondition does: lastTransitionTime moves only when the
// condition's status changes; it reports whether anything changed.
func updatePodCondition(status *v1.PodStatus, cond *v1.PodCondition, now metav1.Time) bool {
	cond.LastTransitionTime = now
	for i := range status.Conditions {
		old := &status.Conditions[i]
		if old.Type != cond.Type {
			continue
		}
		if cond.Status == old.Status {
			cond.LastTransitionTime = old.LastTransitionTime
		}
		equal := cond.Status == old.Status && cond.Reason == old.Reason && cond.Message == old.Message &&
			cond.ObservedGeneration == old.ObservedGeneration &&
			cond.LastProbeTime.Equal(&old.LastProbeTime) && cond.LastTransitionTime.Equal(&old.LastTransitionTime)
		status.Conditions[i] = *cond
		return !equal
	}
	status.Conditions = append(status.Conditions, *cond)
	return true
}

// setPodScheduledCondition patches the pod's PodScheduled condition, only
// if it changed. observedGeneration follows upstream (feature
// PodObservedGenerationTracking, on by default).
func (s *Scheduler) setPodScheduledCondition(ctx context.Context, pod *v1.Pod, reason, message string) error {
	newStatus := pod.Status.DeepCopy()
	cond := &v1.PodCondition{
		Type:               v1.PodScheduled,
		Status:             v1.ConditionFalse,
		Reason:             reason,
		Message:            message,
		ObservedGeneration: pod.Generation,
	}
	if !updatePodCondition(newStatus, cond, metav1.NewTime(s.clock.Now())) {
		return nil
	}
	return patchPodStatus(ctx, s.client, pod, newStatus)
}

// patchPodStatus sends a strategic-merge patch of the status subresource
// computed from the old and new status (upstream util.PatchPodStatus), so
// that only the PodScheduled condition entry is touched.
func patchPodStatus(ctx context.Context, client kubernetes.Interface, old *v1.Pod, newStatus *v1.PodStatus) error {
	oldData, err := json.Marshal(v1.Pod{Status: old.Status})
	if err != nil {
		return err
	}
	newData, err := json.Marshal(v1.Pod{Status: *newStatus})
	if err != nil {
		return err
	}
	patch, err := strategicpatch.CreateTwoWayMergePatch(oldData, newData, &v1.Pod{})
	if err != nil {
		return fmt.Errorf("failed to create merge patch for pod %s/%s: %w", old.Namespace, old.Name, err)
	}
	if string(patch) == "{}" {
		return nil
	}
	retriable := func(err error) bool {
		return apierrors.IsInternalError(err) || apierrors.IsServiceUnavailable(err) || apierrors.IsServerTimeout(err) || apierrors.IsTooManyRequests(err)
	}
	return retry.OnError(retry.DefaultBackoff, retriable, func() error {
		_, err := client.CoreV1().Pods(old.Namespace).Patch(ctx, old.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
		return err
	})
}

// ensureSchedulingGatedCondition gives a gated pod its
// PodScheduled=False/SchedulingGated condition when it has no PodScheduled
// condition yet. Upstream the API server adds it on create; this covers an
// API server that does not.
func (s *Scheduler) ensureSchedulingGatedCondition(ctx context.Context, pod *v1.Pod) {
	for _, c := range pod.Status.Conditions {
		if c.Type == v1.PodScheduled {
			return
		}
	}
	newStatus := pod.Status.DeepCopy()
	updatePodCondition(newStatus, &v1.PodCondition{
		Type:               v1.PodScheduled,
		Status:             v1.ConditionFalse,
		Reason:             v1.PodReasonSchedulingGated,
		Message:            schedulingGatedMessage,
		ObservedGeneration: pod.Generation,
	}, metav1.NewTime(s.clock.Now()))
	if err := patchPodStatus(ctx, s.client, pod, newStatus); err != nil && !apierrors.IsNotFound(err) {
		s.logger.Error("Failed to set SchedulingGated condition", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}
