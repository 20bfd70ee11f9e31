package scheduler

import (
	"context"

	v1 "k8s.io/api/core/v1"
)

// NodeName rejects every node but the one named in spec.nodeName, if set.
// Pods arriving here normally have an empty spec.nodeName (pods that name a
// node bypass the scheduler), so this mostly matters during preemption
// simulation and for parity with upstream's default plugin set.
type NodeName struct{}

// ErrReasonNodeName is upstream's reason string.
const ErrReasonNodeName = "node(s) didn't match the requested node name"

var _ FilterPlugin = NodeName{}

// Name returns the upstream plugin name.
func (NodeName) Name() string { return "NodeName" }

// Filter implements FilterPlugin.
func (NodeName) Filter(_ context.Context, _ *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	if pod.Spec.NodeName == "" || pod.Spec.NodeName == nodeInfo.Node().Name {
		return nil
	}
	return NewStatus(UnschedulableAndUnresolvable, ErrReasonNodeName)
}
