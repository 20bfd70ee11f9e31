package scheduler

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
)

// ErrNoNodesAvailable is returned when the cluster has no nodes at all; its
// text is the whole PodScheduled message in that case, as upstream.
var ErrNoNodesAvailable = errors.New("no nodes available to schedule pods")

// noNodeAvailableMsg opens every "no fit" message.
const noNodeAvailableMsg = "0/%v nodes are available"

// NodeToStatus records why each rejected node was rejected. Nodes that were
// never evaluated (filtered out by a PreFilterResult, or, during preemption,
// not worth evaluating) share absentNodesStatus.
type NodeToStatus struct {
	nodeToStatus      map[string]*Status
	absentNodesStatus *Status
}

// NewDefaultNodeToStatus returns an empty map whose absent nodes are
// UnschedulableAndUnresolvable without a reason, as upstream.
func NewDefaultNodeToStatus() *NodeToStatus {
	return &NodeToStatus{nodeToStatus: map[string]*Status{}, absentNodesStatus: NewStatus(UnschedulableAndUnresolvable)}
}

// Get returns the status of a node, falling back to the absent status.
func (m *NodeToStatus) Get(node string) *Status {
	if s, ok := m.nodeToStatus[node]; ok {
		return s
	}
	return m.absentNodesStatus
}

// Set records the status of a node.
func (m *NodeToStatus) Set(node string, s *Status) { m.nodeToStatus[node] = s }

// Len is the number of explicitly recorded nodes.
func (m *NodeToStatus) Len() int { return len(m.nodeToStatus) }

// SetAbsentNodesStatus sets the status of nodes not recorded explicitly.
func (m *NodeToStatus) SetAbsentNodesStatus(s *Status) { m.absentNodesStatus = s }

// AbsentNodesStatus returns the status of nodes not recorded explicitly.
func (m *NodeToStatus) AbsentNodesStatus() *Status { return m.absentNodesStatus }

// Diagnosis explains a failed scheduling attempt.
type Diagnosis struct {
	NodeToStatus *NodeToStatus
	// PreFilterMsg is set when a PreFilter plugin rejected the pod.
	PreFilterMsg string
	// PostFilterMsg is the preemption summary ("preemption: ...").
	PostFilterMsg string
}

// FitError is returned when no node fits the pod. Its Error() is the
// PodScheduled condition message and the FailedScheduling event message.
type FitError struct {
	Pod         *v1.Pod
	NumAllNodes int
	Diagnosis   Diagnosis
}

// Error renders the message exactly as upstream's FitError.Error():
//
//	0/<N> nodes are available: <PreFilterMsg>. <histogram>. <PostFilterMsg>
//
// The histogram counts every reason of every node (a node failing for two
// resources counts under both), formats each entry as "<count> <reason>"
// and sorts the entries as plain strings.
func (f *FitError) Error() string {
	msg := fmt.Sprintf(noNodeAvailableMsg+":", f.NumAllNodes)
	if f.Diagnosis.PreFilterMsg != "" {
		// When PreFilter rejects, every node carries the same status, so the
		// per-node histogram would only repeat it.
		msg += fmt.Sprintf(" %v.", f.Diagnosis.PreFilterMsg)
	} else if h := reasonHistogram(f.NumAllNodes, f.Diagnosis.NodeToStatus); len(h) > 0 {
		msg += fmt.Sprintf(" %v.", strings.Join(h, ", "))
	}
	if f.Diagnosis.PostFilterMsg != "" {
		msg += " " + f.Diagnosis.PostFilterMsg
	}
	return msg
}

func reasonHistogram(numAllNodes int, m *NodeToStatus) []string {
	if m == nil {
		return nil
	}
	counts := map[string]int{}
	for _, s := range m.nodeToStatus {
		for _, r := range s.Reasons() {
			counts[r]++
		}
	}
	if absent := numAllNodes - m.Len(); absent > 0 {
		for _, r := range m.absentNodesStatus.Reasons() {
			counts[r] += absent
		}
	}
	out := make([]string, 0, len(counts))
	for r, n := range counts {
		out = append(out, fmt.Sprintf("%v %v", n, r))
	}
	sort.Strings(out)
	return out
}
