package scheduler

import (
	"context"

	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// TaintToleration rejects nodes with a NoSchedule or NoExecute taint the pod
// does not tolerate, and prefers nodes with fewer untolerated
// PreferNoSchedule taints.
//
// Node readiness is handled here too, the way upstream does it: the
// scheduler has no readiness check of its own; the node lifecycle
// controller taints nodes whose Ready condition is False/Unknown with
// node.kubernetes.io/not-ready / node.kubernetes.io/unreachable, and this
// filter keeps pods off them unless they tolerate those taints. A NotReady
// node without such a taint is, as upstream, still a candidate.
type TaintToleration struct{}

// ErrReasonUntoleratedTaint is the reason upstream has used since
// kubernetes#134740 (v1.35, backported to v1.34): taint keys and values are
// no longer put in pod status ("node(s) had untolerated taint {key: value}"
// before); the taint is logged instead.
const ErrReasonUntoleratedTaint = "node(s) had untolerated taint(s)"

const taintTolerationPreScoreKey = "PreScoreTaintToleration"

var (
	_ FilterPlugin    = TaintToleration{}
	_ PreScorePlugin  = TaintToleration{}
	_ ScorePlugin     = TaintToleration{}
	_ ScoreNormalizer = TaintToleration{}
)

// Name returns the upstream plugin name.
func (TaintToleration) Name() string { return "TaintToleration" }

func doNotScheduleTaintsFilter(t *v1.Taint) bool {
	return t.Effect == v1.TaintEffectNoSchedule || t.Effect == v1.TaintEffectNoExecute
}

// Filter implements FilterPlugin.
func (TaintToleration) Filter(ctx context.Context, _ *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status {
	node := nodeInfo.Node()
	logger := loggerFrom(ctx)
	taint, untolerated := corev1helpers.FindMatchingUntoleratedTaint(logger, node.Spec.Taints, pod.Spec.Tolerations, doNotScheduleTaintsFilter, true)
	if !untolerated {
		return nil
	}
	logger.V(4).Info("node had untolerated taints", "node", node.Name, "pod", pod.Namespace+"/"+pod.Name, "untoleratedTaint", taint.ToString())
	return NewStatus(UnschedulableAndUnresolvable, ErrReasonUntoleratedTaint)
}

type tolerationsState []v1.Toleration

func (s tolerationsState) Clone() StateData { return s }

// PreScore keeps the tolerations that can match PreferNoSchedule taints.
func (TaintToleration) PreScore(_ context.Context, state *CycleState, pod *v1.Pod, _ []*NodeInfo) *Status {
	var tols tolerationsState
	for _, t := range pod.Spec.Tolerations {
		// An empty effect matches every effect, PreferNoSchedule included.
		if t.Effect == "" || t.Effect == v1.TaintEffectPreferNoSchedule {
			tols = append(tols, t)
		}
	}
	state.Write(taintTolerationPreScoreKey, tols)
	return nil
}

// Score counts the node's untolerated PreferNoSchedule taints (fewer is better
// once NormalizeScore reverses it).
func (TaintToleration) Score(ctx context.Context, state *CycleState, _ *v1.Pod, nodeInfo *NodeInfo) (int64, *Status) {
	d, err := state.Read(taintTolerationPreScoreKey)
	if err != nil {
		return 0, AsStatus(err)
	}
	tols := d.(tolerationsState)
	var n int64
	for i := range nodeInfo.Node().Spec.Taints {
		taint := &nodeInfo.Node().Spec.Taints[i]
		if taint.Effect != v1.TaintEffectPreferNoSchedule {
			continue
		}
		if !corev1helpers.TolerationsTolerateTaint(loggerFrom(ctx), tols, taint, true) {
			n++
		}
	}
	return n, nil
}

// NormalizeScore reverses the counts onto [0, MaxNodeScore].
func (TaintToleration) NormalizeScore(_ context.Context, _ *CycleState, _ *v1.Pod, scores []NodeScore) *Status {
	return defaultNormalizeScore(MaxNodeScore, true, scores)
}
