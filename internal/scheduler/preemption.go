package scheduler

import (
	"context"

	v1 "k8s.io/api/core/v1"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// orca does not evict pods to make room (no preemption yet). What it does
// is run upstream DefaultPreemption's analysis to produce the same
// "preemption: ..." summary upstream appends to the failure message, in
// every case where upstream would conclude that preemption cannot help:
//
//   - the pod has preemptionPolicy: Never;
//   - a node was rejected as UnschedulableAndUnresolvable (wrong node, or a
//     pod bigger than the whole node): "Preemption is not helpful for scheduling";
//   - a node was rejected as Unschedulable but holds no lower-priority pod:
//     "No preemption victims found for incoming pod";
//   - evicting all lower-priority pods would still not make it fit: the
//     filter's reason again.
//
// When evicting lower-priority pods would make the pod fit, upstream would
// preempt and nominate a node; orca cannot, so it reports the message
// without a preemption part (what upstream prints when no PostFilter plugin
// is enabled) and logs why.
const (
	preemptionNotHelpfulMsg  = "Preemption is not helpful for scheduling"
	noPreemptionVictimsMsg   = "No preemption victims found for incoming pod"
	preemptionPolicyNeverMsg = "not eligible due to preemptionPolicy=Never."
)

// preemptionMessage returns the PostFilter message for a failed attempt,
// or "" when preemption could help (see above).
func (s *Scheduler) preemptionMessage(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo, m *NodeToStatus) string {
	if pod.Spec.PreemptionPolicy != nil && *pod.Spec.PreemptionPolicy == v1.PreemptNever {
		return "preemption: " + preemptionPolicyNeverMsg
	}
	result := NewDefaultNodeToStatus()
	result.SetAbsentNodesStatus(NewStatus(UnschedulableAndUnresolvable, preemptionNotHelpfulMsg))
	var candidates []string
	for _, ni := range nodes {
		name := ni.Node().Name
		if m.Get(name).Code() != Unschedulable {
			continue
		}
		st := s.selectVictimsOnNode(ctx, state, pod, ni)
		if st.IsSuccess() {
			candidates = append(candidates, name)
			continue
		}
		result.Set(name, st)
	}
	if len(candidates) > 0 {
		s.logger.Info("Pod could fit by preempting lower-priority pods, but this scheduler does not preempt",
			"pod", pod.Namespace+"/"+pod.Name, "nodes", candidates)
		return ""
	}
	fe := &FitError{Pod: pod, NumAllNodes: len(nodes), Diagnosis: Diagnosis{NodeToStatus: result}}
	return "preemption: " + fe.Error()
}

// selectVictimsOnNode is the first step of upstream's SelectVictimsOnNode:
// remove every pod of lower priority and see whether the pod then fits.
func (s *Scheduler) selectVictimsOnNode(ctx context.Context, state *CycleState, pod *v1.Pod, ni *NodeInfo) *Status {
	prio := corev1helpers.PodPriority(pod)
	sim := ni.Clone()
	victims := 0
	for _, pi := range ni.Pods() {
		if corev1helpers.PodPriority(pi.Pod) < prio {
			if err := sim.RemovePod(pi.Pod); err != nil {
				return AsStatus(err)
			}
			victims++
		}
	}
	if victims == 0 {
		return NewStatus(UnschedulableAndUnresolvable, noPreemptionVictimsMsg)
	}
	return s.profile.runFilter(ctx, state.Clone(), pod, sim)
}
