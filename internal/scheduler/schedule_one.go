package scheduler

import (
	"context"
	"errors"
	"fmt"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// scheduleOne runs one scheduling cycle: pop a pod, find a node, assume the
// pod there and start binding it. Cycles are serialized (one pod at a time);
// the binding runs in the background, as upstream, and the assumed pod
// keeps its resources reserved meanwhile. It returns false once the queue
// is closed.
func (s *Scheduler) scheduleOne(ctx context.Context) bool {
	pi := s.queue.Pop()
	if pi == nil {
		return false
	}
	pod := pi.pod
	if pod.DeletionTimestamp != nil {
		s.recorder.Eventf(pod, v1.EventTypeWarning, "FailedScheduling", "skip schedule deleting pod: %v/%v", pod.Namespace, pod.Name)
		s.queue.Done(pod.UID)
		return true
	}
	if s.cache.IsAssumed(pod.UID) {
		// Requeued by an update while its binding is in flight.
		s.queue.Done(pod.UID)
		return true
	}
	s.logger.Debug("Attempting to schedule pod", "pod", pod.Namespace+"/"+pod.Name)

	state := NewCycleState()
	host, err := s.schedulePod(ctx, state, pod)
	if err != nil {
		s.handleSchedulingFailure(ctx, pi, err)
		return true
	}
	assumed := pod.DeepCopy()
	assumed.Spec.NodeName = host
	if err := s.cache.AssumePod(assumed); err != nil {
		s.handleSchedulingFailure(ctx, pi, err)
		return true
	}
	s.bindings.Add(1)
	go func() {
		defer s.bindings.Done()
		s.bind(ctx, state, pi, assumed)
	}()
	return true
}

// schedulePod filters and scores the nodes for pod and returns the chosen
// node, ErrNoNodesAvailable, a *FitError, or an internal error.
func (s *Scheduler) schedulePod(ctx context.Context, state *CycleState, pod *v1.Pod) (string, error) {
	nodes := s.cache.Snapshot()
	if len(nodes) == 0 {
		return "", ErrNoNodesAvailable
	}
	diagnosis := Diagnosis{NodeToStatus: NewDefaultNodeToStatus()}
	fitErr := func() error {
		fe := &FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: diagnosis}
		fe.Diagnosis.PostFilterMsg = s.preemptionMessage(ctx, state, pod, nodes, diagnosis.NodeToStatus)
		return fe
	}

	preRes, restricting, st := s.profile.runPreFilter(ctx, state, pod, nodes)
	if !st.IsSuccess() {
		if !st.IsRejected() {
			return "", fmt.Errorf("running PreFilter plugin %q: %w", st.Plugin(), st.AsError())
		}
		// Every node shares the PreFilter status.
		diagnosis.NodeToStatus.SetAbsentNodesStatus(st)
		diagnosis.PreFilterMsg = st.Message()
		return "", fitErr()
	}
	candidates := nodes
	if !preRes.AllNodes() {
		candidates = nil
		for _, ni := range nodes {
			if preRes.NodeNames.Has(ni.Node().Name) {
				candidates = append(candidates, ni)
			}
		}
		diagnosis.NodeToStatus.SetAbsentNodesStatus(NewStatus(UnschedulableAndUnresolvable,
			fmt.Sprintf("node(s) didn't satisfy plugin(s) %v", sets.List(restricting))))
	}

	var feasible []*NodeInfo
	for _, ni := range candidates {
		st := s.profile.runFilter(ctx, state, pod, ni)
		switch {
		case st.IsSuccess():
			feasible = append(feasible, ni)
		case st.Code() == Error:
			return "", fmt.Errorf("running Filter plugin %q: %w", st.Plugin(), st.AsError())
		default:
			diagnosis.NodeToStatus.Set(ni.Node().Name, st)
		}
	}
	switch len(feasible) {
	case 0:
		return "", fitErr()
	case 1:
		return feasible[0].Node().Name, nil
	}
	scores, err := s.profile.runScore(ctx, state, pod, feasible)
	if err != nil {
		return "", err
	}
	return selectHost(scores, s.rand)
}

// bind runs the PreBind plugins (volumes), binds the assumed pod through
// the pods/binding subresource, then records the Scheduled event. On
// failure the pod is forgotten from the cache (its reservation released)
// and retried.
func (s *Scheduler) bind(ctx context.Context, state *CycleState, pi *queuedPodInfo, assumed *v1.Pod) {
	host := assumed.Spec.NodeName
	var err error
	if st := s.profile.runPreBind(ctx, state, assumed, host); !st.IsSuccess() {
		err = fmt.Errorf("running PreBind plugin %q: %w", st.Plugin(), st.AsError())
	} else {
		binding := &v1.Binding{
			ObjectMeta: metav1.ObjectMeta{Namespace: assumed.Namespace, Name: assumed.Name, UID: assumed.UID},
			Target:     v1.ObjectReference{Kind: "Node", Name: host},
		}
		err = s.client.CoreV1().Pods(assumed.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	}
	if err != nil {
		s.cache.ForgetPod(assumed)
		// Releasing the reservation is like a bound pod going away.
		s.queue.MoveAllToActiveOrBackoff()
		s.handleSchedulingFailure(ctx, pi, err)
		return
	}
	s.queue.Done(assumed.UID)
	s.logger.Info("Successfully bound pod to node", "pod", assumed.Namespace+"/"+assumed.Name, "node", host)
	s.recorder.Eventf(assumed, v1.EventTypeNormal, "Scheduled", "Successfully assigned %v/%v to %v", assumed.Namespace, assumed.Name, host)
}

// handleSchedulingFailure requeues the pod, records a FailedScheduling event
// and sets PodScheduled=False with reason Unschedulable (no fit) or
// SchedulerError (anything else), as upstream handleSchedulingFailure.
func (s *Scheduler) handleSchedulingFailure(ctx context.Context, pi *queuedPodInfo, err error) {
	pod := pi.pod
	reason := v1.PodReasonSchedulerError
	var fitErr *FitError
	if errors.As(err, &fitErr) || errors.Is(err, ErrNoNodesAvailable) {
		reason = v1.PodReasonUnschedulable
	}
	msg := err.Error()
	if reason == v1.PodReasonUnschedulable {
		s.logger.Info("Unable to schedule pod; waiting", "pod", pod.Namespace+"/"+pod.Name, "err", msg)
	} else {
		s.logger.Error("Error scheduling pod; retrying", "pod", pod.Namespace+"/"+pod.Name, "err", msg)
	}

	cached, getErr := s.podLister.Pods(pod.Namespace).Get(pod.Name)
	switch {
	case getErr != nil || cached.UID != pod.UID:
		s.logger.Info("Pod doesn't exist in informer cache", "pod", pod.Namespace+"/"+pod.Name)
		s.queue.Done(pod.UID)
		return
	case cached.Spec.NodeName != "":
		// Bound after all (e.g. a binding that timed out but went through):
		// nothing to retry, and PodScheduled must not be set back to False.
		s.logger.Info("Pod has been assigned to node. Abort adding it back to queue.", "pod", pod.Namespace+"/"+pod.Name, "node", cached.Spec.NodeName)
		s.queue.Done(pod.UID)
		return
	default:
		pi.pod = cached.DeepCopy()
		s.queue.AddUnschedulable(pi, reason == v1.PodReasonSchedulerError)
	}

	s.recorder.Event(cached, v1.EventTypeWarning, "FailedScheduling", truncateMessage(msg))
	if err := s.setPodScheduledCondition(ctx, cached, reason, msg); err != nil && !apierrors.IsNotFound(err) {
		s.logger.Error("Error updating pod", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}
