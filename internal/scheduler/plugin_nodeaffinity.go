package scheduler

import (
	"context"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/component-helpers/scheduling/corev1/nodeaffinity"
)

// NodeAffinity filters nodes on spec.nodeSelector and
// requiredDuringSchedulingIgnoredDuringExecution node affinity, and scores
// them on the preferred terms.
type NodeAffinity struct{}

const (
	// ErrReasonNodeAffinity is upstream's reason (ErrReasonPod).
	ErrReasonNodeAffinity = "node(s) didn't match Pod's node affinity/selector"
	// errReasonNodeAffinityConflict is returned by PreFilter when the
	// metadata.name matchFields of the required terms select no node at all.
	errReasonNodeAffinityConflict = "pod affinity terms conflict"

	nodeAffinityPreFilterKey = "PreFilterNodeAffinity"
	nodeAffinityPreScoreKey  = "PreScoreNodeAffinity"
)

var (
	_ PreFilterPlugin = NodeAffinity{}
	_ FilterPlugin    = NodeAffinity{}
	_ PreScorePlugin  = NodeAffinity{}
	_ ScorePlugin     = NodeAffinity{}
	_ ScoreNormalizer = NodeAffinity{}
)

// Name returns the upstream plugin name.
func (NodeAffinity) Name() string { return "NodeAffinity" }

type nodeAffinityState struct {
	required nodeaffinity.RequiredNodeAffinity
}

func (s *nodeAffinityState) Clone() StateData { return s }

func requiredNodeAffinityTerms(pod *v1.Pod) *v1.NodeSelector {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil {
		return nil
	}
	return a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

// PreFilter parses the selector once and, as upstream, narrows the candidate
// nodes when every required term pins metadata.name (DaemonSet pods do).
func (NodeAffinity) PreFilter(_ context.Context, state *CycleState, pod *v1.Pod, _ []*NodeInfo) (*PreFilterResult, *Status) {
	required := requiredNodeAffinityTerms(pod)
	if required == nil && len(pod.Spec.NodeSelector) == 0 {
		return nil, NewStatus(Skip)
	}
	state.Write(nodeAffinityPreFilterKey, &nodeAffinityState{required: nodeaffinity.GetRequiredNodeAffinity(pod)})
	if required == nil || len(required.NodeSelectorTerms) == 0 {
		return nil, nil
	}
	var nodeNames sets.Set[string]
	for _, t := range required.NodeSelectorTerms {
		var termNames sets.Set[string]
		for _, r := range t.MatchFields {
			if r.Key == metav1.ObjectNameField && r.Operator == v1.NodeSelectorOpIn {
				// Requirements within a term are ANDed.
				if s := sets.New(r.Values...); termNames == nil {
					termNames = s
				} else {
					termNames = termNames.Intersection(s)
				}
			}
		}
		if termNames == nil {
			// Terms are ORed: one term without a name pin admits all nodes.
			return nil, nil
		}
		nodeNames = nodeNames.Union(termNames)
	}
	if len(nodeNames) == 0 {
		return nil, NewStatus(UnschedulableAndUnresolvable, errReasonNodeAffinityConflict)
	}
	return &PreFilterResult{NodeNames: nodeNames}, nil
}

// Filter implements FilterPlugin.
func (NodeAffinity) Filter(_ context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	required := nodeaffinity.GetRequiredNodeAffinity(pod)
	if d, err := state.Read(nodeAffinityPreFilterKey); err == nil {
		required = d.(*nodeAffinityState).required
	}
	// Parse errors count as a mismatch, as upstream.
	if match, _ := required.Match(nodeInfo.Node()); !match {
		return NewStatus(UnschedulableAndUnresolvable, ErrReasonNodeAffinity)
	}
	return nil
}

type preferredTermsState struct {
	terms *nodeaffinity.PreferredSchedulingTerms
}

func (s *preferredTermsState) Clone() StateData { return s }

// PreScore parses the preferred terms; Skip when there are none.
func (NodeAffinity) PreScore(_ context.Context, state *CycleState, pod *v1.Pod, _ []*NodeInfo) *Status {
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || len(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
		return NewStatus(Skip)
	}
	terms, err := nodeaffinity.NewPreferredSchedulingTerms(a.NodeAffinity.PreferredDuringSchedulingIgnoredDuringExecution)
	if err != nil {
		return AsStatus(err)
	}
	state.Write(nodeAffinityPreScoreKey, &preferredTermsState{terms: terms})
	return nil
}

// Score sums the weights of the preferred terms the node matches.
func (NodeAffinity) Score(_ context.Context, state *CycleState, _ *v1.Pod, nodeInfo *NodeInfo) (int64, *Status) {
	d, err := state.Read(nodeAffinityPreScoreKey)
	if err != nil {
		return 0, AsStatus(err)
	}
	return d.(*preferredTermsState).terms.Score(nodeInfo.Node()), nil
}

// NormalizeScore scales the sums onto [0, MaxNodeScore].
func (NodeAffinity) NormalizeScore(_ context.Context, _ *CycleState, _ *v1.Pod, scores []NodeScore) *Status {
	return defaultNormalizeScore(MaxNodeScore, false, scores)
}
