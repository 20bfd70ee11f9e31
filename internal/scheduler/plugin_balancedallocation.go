package scheduler

import (
	"context"
	"math"

	v1 "k8s.io/api/core/v1"
)

// NodeResourcesBalancedAllocation prefers nodes whose cpu and memory would
// be used in similar proportions once the pod is placed:
// score = (1 - |cpuFraction - memFraction| / 2) * 100, fractions capped at 1,
// computed on actual requests. Best-effort pods (no requests) are not scored
// so they do not all pile onto one node, as upstream.
type NodeResourcesBalancedAllocation struct{}

const balancedPreScoreKey = "PreScoreNodeResourcesBalancedAllocation"

var (
	_ PreScorePlugin = NodeResourcesBalancedAllocation{}
	_ ScorePlugin    = NodeResourcesBalancedAllocation{}
)

// Name returns the upstream plugin name.
func (NodeResourcesBalancedAllocation) Name() string { return "NodeResourcesBalancedAllocation" }

type balancedState struct{ cpu, mem int64 }

func (s balancedState) Clone() StateData { return s }

// PreScore computes the pod's cpu/memory requests; Skip for best-effort pods.
func (NodeResourcesBalancedAllocation) PreScore(_ context.Context, state *CycleState, pod *v1.Pod, _ []*NodeInfo) *Status {
	r := podRequest(pod)
	if r.MilliCPU == 0 && r.Memory == 0 {
		return NewStatus(Skip)
	}
	state.Write(balancedPreScoreKey, balancedState{r.MilliCPU, r.Memory})
	return nil
}

// Score implements ScorePlugin.
func (NodeResourcesBalancedAllocation) Score(_ context.Context, state *CycleState, _ *v1.Pod, nodeInfo *NodeInfo) (int64, *Status) {
	d, err := state.Read(balancedPreScoreKey)
	if err != nil {
		return 0, AsStatus(err)
	}
	s := d.(balancedState)
	alloc, used := nodeInfo.Allocatable(), nodeInfo.Requested()
	var fractions []float64
	for _, r := range [][2]int64{{used.MilliCPU + s.cpu, alloc.MilliCPU}, {used.Memory + s.mem, alloc.Memory}} {
		if r[1] == 0 {
			continue
		}
		fractions = append(fractions, math.Min(float64(r[0])/float64(r[1]), 1))
	}
	std := 0.0
	if len(fractions) == 2 {
		std = math.Abs(fractions[0]-fractions[1]) / 2
	}
	return int64((1 - std) * float64(MaxNodeScore)), nil
}
