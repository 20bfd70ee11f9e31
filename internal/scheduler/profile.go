package scheduler

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// weightedScorePlugin is a score plugin and its weight in the total.
type weightedScorePlugin struct {
	ScorePlugin
	weight int64
}

// profile is the ordered set of plugins one scheduling cycle runs, like an
// upstream scheduling profile.
type profile struct {
	preFilter []PreFilterPlugin
	filter    []FilterPlugin
	preScore  []PreScorePlugin
	score     []weightedScorePlugin
	preBind   []PreBindPlugin
}

// defaultProfile mirrors the order and weights of upstream's default
// profile for the plugins orca implements. Filter order matters: a node
// reports only the first plugin that rejects it.
func defaultProfile(volumes *VolumeBinding) *profile {
	fit, affinity, taints, ports := NodeResourcesFit{}, NodeAffinity{}, TaintToleration{}, NodePorts{}
	balanced := NodeResourcesBalancedAllocation{}
	return &profile{
		preFilter: []PreFilterPlugin{affinity, ports, fit, volumes},
		filter:    []FilterPlugin{NodeUnschedulable{}, NodeName{}, taints, affinity, ports, fit, volumes},
		preScore:  []PreScorePlugin{taints, affinity, fit, balanced},
		score: []weightedScorePlugin{
			{taints, 3}, {affinity, 2}, {fit, 1}, {balanced, 1},
		},
		preBind: []PreBindPlugin{volumes},
	}
}

// runPreBind runs the PreBind plugins for the chosen node; the first failure
// is returned with its plugin.
func (p *profile) runPreBind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status {
	for _, pl := range p.preBind {
		if s := pl.PreBind(ctx, state, pod, nodeName); !s.IsSuccess() && !s.IsSkip() {
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// runPreFilter runs the PreFilter plugins, merging their node restrictions.
// The returned set names the plugins that restricted nodes.
func (p *profile) runPreFilter(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) (*PreFilterResult, sets.Set[string], *Status) {
	var result *PreFilterResult
	restricting := sets.New[string]()
	for _, pl := range p.preFilter {
		r, s := pl.PreFilter(ctx, state, pod, nodes)
		if s.IsSkip() {
			state.skipFilter.Insert(pl.Name())
			continue
		}
		if !s.IsSuccess() {
			return nil, restricting, s.WithPlugin(pl.Name())
		}
		if !r.AllNodes() {
			restricting.Insert(pl.Name())
		}
		result = result.Merge(r)
		if !result.AllNodes() && len(result.NodeNames) == 0 {
			msg := fmt.Sprintf("node(s) didn't satisfy plugin(s) %v simultaneously", sets.List(restricting))
			if restricting.Len() == 1 {
				msg = fmt.Sprintf("node(s) didn't satisfy plugin %v", sets.List(restricting)[0])
			}
			return result, restricting, NewStatus(UnschedulableAndUnresolvable, msg).WithPlugin(pl.Name())
		}
	}
	return result, restricting, nil
}

// runFilter runs the Filter plugins on one node and returns the first
// rejection (with the plugin name), or nil.
func (p *profile) runFilter(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	for _, pl := range p.filter {
		if state.skipFilter.Has(pl.Name()) {
			continue
		}
		if s := pl.Filter(ctx, state, pod, nodeInfo); !s.IsSuccess() {
			if !s.IsRejected() && s.Code() != Error {
				s = AsStatus(fmt.Errorf("plugin %s returned unexpected code %v", pl.Name(), s.Code()))
			}
			return s.WithPlugin(pl.Name())
		}
	}
	return nil
}

// runScore scores the feasible nodes: each plugin's scores are normalized
// when the plugin asks for it, multiplied by its weight, and summed.
func (p *profile) runScore(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) ([]NodeScore, error) {
	for _, pl := range p.preScore {
		s := pl.PreScore(ctx, state, pod, nodes)
		if s.IsSkip() {
			state.skipScore.Insert(pl.Name())
			continue
		}
		if !s.IsSuccess() {
			return nil, fmt.Errorf("running PreScore plugin %q: %w", pl.Name(), s.AsError())
		}
	}
	totals := make([]NodeScore, len(nodes))
	for i, n := range nodes {
		totals[i].Name = n.Node().Name
	}
	for _, pl := range p.score {
		if state.skipScore.Has(pl.Name()) {
			continue
		}
		scores := make([]NodeScore, len(nodes))
		for i, n := range nodes {
			v, s := pl.Score(ctx, state, pod, n)
			if !s.IsSuccess() {
				return nil, fmt.Errorf("running Score plugin %q: %w", pl.Name(), s.AsError())
			}
			scores[i] = NodeScore{Name: n.Node().Name, Score: v}
		}
		if norm, ok := pl.ScorePlugin.(ScoreNormalizer); ok {
			if s := norm.NormalizeScore(ctx, state, pod, scores); !s.IsSuccess() {
				return nil, fmt.Errorf("running NormalizeScore of %q: %w", pl.Name(), s.AsError())
			}
		}
		for i := range scores {
			if scores[i].Score < MinNodeScore || scores[i].Score > MaxNodeScore {
				return nil, fmt.Errorf("plugin %q returned an invalid score %d for node %q", pl.Name(), scores[i].Score, scores[i].Name)
			}
			totals[i].Score += scores[i].Score * pl.weight
		}
	}
	return totals, nil
}

// selectHost picks a highest-scoring node, breaking ties uniformly at random
// (reservoir sampling, as upstream).
func selectHost(scores []NodeScore, rnd *rand.Rand) (string, error) {
	if len(scores) == 0 {
		return "", fmt.Errorf("empty priority list")
	}
	best, count := 0, 1
	for i := 1; i < len(scores); i++ {
		switch {
		case scores[i].Score > scores[best].Score:
			best, count = i, 1
		case scores[i].Score == scores[best].Score:
			count++
			if rnd.IntN(count) == 0 {
				best = i
			}
		}
	}
	return scores[best].Name, nil
}

// sortedResourceNames returns the keys of a scalar resource map in order.
func sortedResourceNames(m map[v1.ResourceName]int64) []v1.ResourceName {
	names := make([]v1.ResourceName, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

// loggerFrom returns the logr logger the scheduler put in ctx (plugins use
// it for component-helpers calls that take a klog.Logger).
func loggerFrom(ctx context.Context) logr.Logger {
	return logr.FromContextOrDiscard(ctx)
}
