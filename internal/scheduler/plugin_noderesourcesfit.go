package scheduler

import (
	"context"
	"fmt"

	v1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// NodeResourcesFit rejects nodes whose allocatable, minus the requests of
// the pods already on them, cannot hold the pod's requests; it also scores
// nodes with upstream's default LeastAllocated strategy (cpu and memory,
// weight 1 each).
type NodeResourcesFit struct{}

// Reasons, verbatim from upstream; extended resources use "Insufficient <name>".
const (
	ErrReasonTooManyPods         = "Too many pods"
	ErrReasonInsufficientCPU     = "Insufficient cpu"
	ErrReasonInsufficientMemory  = "Insufficient memory"
	ErrReasonInsufficientStorage = "Insufficient ephemeral-storage"
)

const (
	fitPreFilterKey = "PreFilterNodeResourcesFit"
	fitPreScoreKey  = "PreScoreNodeResourcesFit"
)

var (
	_ PreFilterPlugin = NodeResourcesFit{}
	_ FilterPlugin    = NodeResourcesFit{}
	_ PreScorePlugin  = NodeResourcesFit{}
	_ ScorePlugin     = NodeResourcesFit{}
)

// Name returns the upstream plugin name.
func (NodeResourcesFit) Name() string { return "NodeResourcesFit" }

type podRequestState struct{ *Resource }

func (s podRequestState) Clone() StateData { return s }

// podRequest is what the pod needs on a node: PodRequests sums the app
// containers, takes the max with each init container (restartable sidecars
// stay counted for the pod's lifetime), applies pod-level requests if set,
// and adds spec.overhead.
func podRequest(pod *v1.Pod) *Resource {
	return NewResource(resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{}))
}

// PreFilter computes the pod's requests once per cycle.
func (NodeResourcesFit) PreFilter(_ context.Context, state *CycleState, pod *v1.Pod, _ []*NodeInfo) (*PreFilterResult, *Status) {
	state.Write(fitPreFilterKey, podRequestState{podRequest(pod)})
	return nil, nil
}

// InsufficientResource describes one resource the node lacks.
type InsufficientResource struct {
	ResourceName v1.ResourceName
	Reason       string
	Requested    int64
	Used         int64
	Capacity     int64
	// Unresolvable is set when the pod asks for more than the node's whole
	// allocatable: evicting pods (preemption) cannot help.
	Unresolvable bool
}

// Filter implements FilterPlugin.
func (NodeResourcesFit) Filter(_ context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	req := podRequest(pod)
	if d, err := state.Read(fitPreFilterKey); err == nil {
		req = d.(podRequestState).Resource
	}
	insufficient := fitsRequest(req, nodeInfo)
	if len(insufficient) == 0 {
		return nil
	}
	code := Unschedulable
	reasons := make([]string, 0, len(insufficient))
	for _, r := range insufficient {
		reasons = append(reasons, r.Reason)
		if r.Unresolvable {
			code = UnschedulableAndUnresolvable
		}
	}
	return NewStatus(code, reasons...)
}

// fitsRequest lists what the node lacks for a pod requesting req, in
// upstream's order: pods, cpu, memory, ephemeral-storage, then scalars.
func fitsRequest(req *Resource, nodeInfo *NodeInfo) []InsufficientResource {
	var out []InsufficientResource
	alloc, used := nodeInfo.Allocatable(), nodeInfo.Requested()
	if len(nodeInfo.Pods())+1 > alloc.AllowedPodNumber {
		out = append(out, InsufficientResource{v1.ResourcePods, ErrReasonTooManyPods, 1, int64(len(nodeInfo.Pods())), int64(alloc.AllowedPodNumber), false})
	}
	if req.MilliCPU == 0 && req.Memory == 0 && req.EphemeralStorage == 0 && len(req.ScalarResources) == 0 {
		return out
	}
	check := func(name v1.ResourceName, reason string, want, capacity, inUse int64) {
		if want > 0 && want > capacity-inUse {
			out = append(out, InsufficientResource{name, reason, want, inUse, capacity, want > capacity})
		}
	}
	check(v1.ResourceCPU, ErrReasonInsufficientCPU, req.MilliCPU, alloc.MilliCPU, used.MilliCPU)
	check(v1.ResourceMemory, ErrReasonInsufficientMemory, req.Memory, alloc.Memory, used.Memory)
	check(v1.ResourceEphemeralStorage, ErrReasonInsufficientStorage, req.EphemeralStorage, alloc.EphemeralStorage, used.EphemeralStorage)
	for _, name := range sortedResourceNames(req.ScalarResources) {
		check(name, fmt.Sprintf("Insufficient %v", name), req.ScalarResources[name], alloc.ScalarResources[name], used.ScalarResources[name])
	}
	return out
}

type nonZeroRequestState struct{ cpu, mem int64 }

func (s nonZeroRequestState) Clone() StateData { return s }

// PreScore computes the pod's requests with the scoring defaults.
func (NodeResourcesFit) PreScore(_ context.Context, state *CycleState, pod *v1.Pod, _ []*NodeInfo) *Status {
	pi := NewPodInfo(pod)
	state.Write(fitPreScoreKey, nonZeroRequestState{pi.NonZeroCPU, pi.NonZeroMem})
	return nil
}

// Score is LeastAllocated: the mean over cpu and memory of
// (allocatable - requested) * 100 / allocatable, where requested includes
// the pod and counts request-less containers at 100m / 200MiB.
func (NodeResourcesFit) Score(_ context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) (int64, *Status) {
	var s nonZeroRequestState
	if d, err := state.Read(fitPreScoreKey); err == nil {
		s = d.(nonZeroRequestState)
	} else {
		pi := NewPodInfo(pod)
		s = nonZeroRequestState{pi.NonZeroCPU, pi.NonZeroMem}
	}
	alloc, used := nodeInfo.Allocatable(), nodeInfo.NonZeroRequested()
	var sum, weights int64
	for _, r := range [][2]int64{{used.MilliCPU + s.cpu, alloc.MilliCPU}, {used.Memory + s.mem, alloc.Memory}} {
		if r[1] == 0 {
			continue
		}
		sum += leastRequestedScore(r[0], r[1])
		weights++
	}
	if weights == 0 {
		return 0, nil
	}
	return sum / weights, nil
}

func leastRequestedScore(requested, capacity int64) int64 {
	if capacity == 0 || requested > capacity {
		return 0
	}
	return (capacity - requested) * MaxNodeScore / capacity
}
