package scheduler

import (
	"context"

	v1 "k8s.io/api/core/v1"
)

// NodePorts rejects nodes where a host port the pod asks for (same
// protocol and port, on the same host IP or the wildcard 0.0.0.0) is
// already taken by a pod on the node.
type NodePorts struct{}

// ErrReasonNodePorts is upstream's reason string.
const ErrReasonNodePorts = "node(s) didn't have free ports for the requested pod ports"

const nodePortsPreFilterKey = "PreFilterNodePorts"

var (
	_ PreFilterPlugin = NodePorts{}
	_ FilterPlugin    = NodePorts{}
)

// Name returns the upstream plugin name.
func (NodePorts) Name() string { return "NodePorts" }

type hostPortsState []v1.ContainerPort

func (s hostPortsState) Clone() StateData { return s }

// PreFilter collects the pod's host ports; Skip when it has none.
func (NodePorts) PreFilter(_ context.Context, state *CycleState, pod *v1.Pod, _ []*NodeInfo) (*PreFilterResult, *Status) {
	ports := getHostPorts(pod)
	if len(ports) == 0 {
		return nil, NewStatus(Skip)
	}
	state.Write(nodePortsPreFilterKey, hostPortsState(ports))
	return nil, nil
}

// Filter implements FilterPlugin. The code is Unschedulable: evicting the
// pod that holds the port would free it.
func (NodePorts) Filter(_ context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	var want []v1.ContainerPort
	if d, err := state.Read(nodePortsPreFilterKey); err == nil {
		want = d.(hostPortsState)
	} else {
		want = getHostPorts(pod)
	}
	for _, p := range want {
		if nodeInfo.UsedPorts().CheckConflict(p.HostIP, string(p.Protocol), p.HostPort) {
			return NewStatus(Unschedulable, ErrReasonNodePorts)
		}
	}
	return nil
}
