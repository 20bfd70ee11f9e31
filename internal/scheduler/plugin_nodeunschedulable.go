package scheduler

import (
	"context"

	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// NodeUnschedulable rejects nodes with spec.unschedulable (cordoned) unless
// the pod tolerates the node.kubernetes.io/unschedulable:NoSchedule taint.
type NodeUnschedulable struct{}

const (
	// ErrReasonUnschedulable is upstream's reason for a cordoned node.
	ErrReasonUnschedulable = "node(s) were unschedulable"
	// ErrReasonUnknownCondition is upstream's reason when the node is missing.
	ErrReasonUnknownCondition = "node(s) had unknown conditions"
)

var _ FilterPlugin = NodeUnschedulable{}

// Name returns the upstream plugin name.
func (NodeUnschedulable) Name() string { return "NodeUnschedulable" }

// Filter implements FilterPlugin.
func (NodeUnschedulable) Filter(ctx context.Context, _ *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	node := nodeInfo.Node()
	if node == nil {
		return NewStatus(UnschedulableAndUnresolvable, ErrReasonUnknownCondition)
	}
	if !node.Spec.Unschedulable {
		return nil
	}
	// A pod tolerating the unschedulable taint also tolerates spec.unschedulable.
	if corev1helpers.TolerationsTolerateTaint(loggerFrom(ctx), pod.Spec.Tolerations, &v1.Taint{
		Key:    v1.TaintNodeUnschedulable,
		Effect: v1.TaintEffectNoSchedule,
	}, true) {
		return nil
	}
	return NewStatus(UnschedulableAndUnresolvable, ErrReasonUnschedulable)
}
