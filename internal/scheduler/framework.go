package scheduler

import (
	"context"
	"errors"
	"strings"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/sets"
)

// This file holds the plugin framework: a deliberately small copy of the
// shape of kube-scheduler's framework (k8s.io/kube-scheduler/framework), so
// that plugins written against it read like their upstream counterparts and
// more of them can be slotted in without touching the scheduling loop.

// Code is the outcome of running a plugin, as in the upstream framework.
type Code int

const (
	// Success means the plugin ran correctly and found the pod schedulable.
	// A nil *Status is also a success.
	Success Code = iota
	// Error is an internal error (not a property of the pod or the node); the
	// pod is retried with back-off and the condition reason is SchedulerError.
	Error
	// Unschedulable means the node does not fit the pod right now, but
	// evicting pods from it (preemption) might change that.
	Unschedulable
	// UnschedulableAndUnresolvable means the node does not fit the pod and
	// preemption would not help (the node is the wrong one, not too full).
	UnschedulableAndUnresolvable
	// Skip is returned by PreFilter/PreScore when the plugin has nothing to
	// check for this pod; its Filter/Score is then not called.
	Skip
)

var codeNames = []string{"Success", "Error", "Unschedulable", "UnschedulableAndUnresolvable", "Skip"}

func (c Code) String() string {
	if int(c) >= 0 && int(c) < len(codeNames) {
		return codeNames[c]
	}
	return "Unknown"
}

// Status is the result of running a plugin. A nil *Status means Success.
// Reasons are the short, user-facing strings that are counted in the
// "0/N nodes are available: ..." message; keep them identical to upstream.
type Status struct {
	code    Code
	reasons []string
	err     error
	plugin  string
}

// NewStatus returns a Status with the given code and reasons.
func NewStatus(code Code, reasons ...string) *Status {
	return &Status{code: code, reasons: reasons}
}

// AsStatus wraps an internal error into an Error status.
func AsStatus(err error) *Status {
	if err == nil {
		return nil
	}
	return &Status{code: Error, reasons: []string{err.Error()}, err: err}
}

// Code returns the status code; Success for a nil status.
func (s *Status) Code() Code {
	if s == nil {
		return Success
	}
	return s.code
}

// Reasons returns the reasons of the status.
func (s *Status) Reasons() []string {
	if s == nil {
		return nil
	}
	if s.err != nil && len(s.reasons) == 0 {
		return []string{s.err.Error()}
	}
	return s.reasons
}

// Message joins the reasons with ", ", as upstream does.
func (s *Status) Message() string {
	return strings.Join(s.Reasons(), ", ")
}

// Plugin returns the name of the plugin that produced the status.
func (s *Status) Plugin() string {
	if s == nil {
		return ""
	}
	return s.plugin
}

// WithPlugin records the plugin that produced the status and returns it.
func (s *Status) WithPlugin(name string) *Status {
	if s != nil {
		s.plugin = name
	}
	return s
}

// IsSuccess reports whether the status is a success (nil or Success).
func (s *Status) IsSuccess() bool { return s.Code() == Success }

// IsSkip reports whether the status is Skip.
func (s *Status) IsSkip() bool { return s.Code() == Skip }

// IsRejected reports whether the pod was rejected (either unschedulable code).
func (s *Status) IsRejected() bool {
	c := s.Code()
	return c == Unschedulable || c == UnschedulableAndUnresolvable
}

// AsError returns nil for success/skip, otherwise an error carrying the message.
func (s *Status) AsError() error {
	if s.IsSuccess() || s.IsSkip() {
		return nil
	}
	if s.err != nil {
		return s.err
	}
	return errors.New(s.Message())
}

// StateData is data a plugin stores in the CycleState during one scheduling
// cycle (typically in PreFilter, read back in Filter).
type StateData interface {
	Clone() StateData
}

// CycleState carries per-scheduling-cycle data between a plugin's extension
// points. Filter may run for many nodes, so plugins must only read it there.
type CycleState struct {
	mu   sync.RWMutex
	data map[string]StateData
	// skipFilter/skipScore hold plugins that returned Skip in PreFilter/PreScore.
	skipFilter sets.Set[string]
	skipScore  sets.Set[string]
}

// NewCycleState returns an empty CycleState.
func NewCycleState() *CycleState {
	return &CycleState{data: map[string]StateData{}, skipFilter: sets.New[string](), skipScore: sets.New[string]()}
}

// Read returns the data stored under key.
func (c *CycleState) Read(key string) (StateData, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if v, ok := c.data[key]; ok {
		return v, nil
	}
	return nil, errors.New("not found")
}

// Write stores data under key.
func (c *CycleState) Write(key string, val StateData) {
	c.mu.Lock()
	c.data[key] = val
	c.mu.Unlock()
}

// Clone copies the state (used when simulating preemption).
func (c *CycleState) Clone() *CycleState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	n := NewCycleState()
	for k, v := range c.data {
		n.data[k] = v.Clone()
	}
	n.skipFilter = c.skipFilter.Clone()
	n.skipScore = c.skipScore.Clone()
	return n
}

// Plugin is the parent of all plugin interfaces.
type Plugin interface {
	Name() string
}

// PreFilterResult restricts the nodes the Filter phase looks at. A nil result
// means all nodes.
type PreFilterResult struct {
	NodeNames sets.Set[string]
}

// AllNodes reports whether the result lets every node through.
func (p *PreFilterResult) AllNodes() bool { return p == nil || p.NodeNames == nil }

// Merge intersects two results (nil means all nodes).
func (p *PreFilterResult) Merge(in *PreFilterResult) *PreFilterResult {
	if p.AllNodes() {
		return in
	}
	if in.AllNodes() {
		return p
	}
	return &PreFilterResult{NodeNames: p.NodeNames.Intersection(in.NodeNames)}
}

// PreFilterPlugin runs once per scheduling cycle, before Filter. It may
// precompute state, return Skip (its Filter is then not run), restrict the
// candidate nodes, or reject the pod outright.
type PreFilterPlugin interface {
	Plugin
	PreFilter(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) (*PreFilterResult, *Status)
}

// FilterPlugin decides whether the pod can run on one node. It returns nil
// (or Success) when it can, otherwise Unschedulable or
// UnschedulableAndUnresolvable with upstream's reason strings.
type FilterPlugin interface {
	Plugin
	Filter(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) *Status
}

// PreBindPlugin runs after a node is chosen and before the pod is bound to
// it, in the binding goroutine: it may call the API and wait (VolumeBinding
// binds the pod's claims there). A failure sends the pod back to the queue.
type PreBindPlugin interface {
	Plugin
	PreBind(ctx context.Context, state *CycleState, pod *v1.Pod, nodeName string) *Status
}

// MaxNodeScore and MinNodeScore bound the score a ScorePlugin returns after
// normalization.
const (
	MaxNodeScore int64 = 100
	MinNodeScore int64 = 0
)

// NodeScore is one node's score from one plugin.
type NodeScore struct {
	Name  string
	Score int64
}

// PreScorePlugin runs once per cycle before Score, over the feasible nodes.
type PreScorePlugin interface {
	Plugin
	PreScore(ctx context.Context, state *CycleState, pod *v1.Pod, nodes []*NodeInfo) *Status
}

// ScorePlugin ranks feasible nodes. Scores must end up in
// [MinNodeScore, MaxNodeScore], directly or through NormalizeScore.
type ScorePlugin interface {
	Plugin
	Score(ctx context.Context, state *CycleState, pod *v1.Pod, nodeInfo *NodeInfo) (int64, *Status)
}

// ScoreNormalizer is optionally implemented by a ScorePlugin whose raw
// scores need to be rescaled once all nodes are scored.
type ScoreNormalizer interface {
	NormalizeScore(ctx context.Context, state *CycleState, pod *v1.Pod, scores []NodeScore) *Status
}

// defaultNormalizeScore rescales scores to [0, maxPriority] relative to the
// highest one, optionally reversed (upstream helper.DefaultNormalizeScore).
func defaultNormalizeScore(maxPriority int64, reverse bool, scores []NodeScore) *Status {
	var maxCount int64
	for i := range scores {
		if scores[i].Score > maxCount {
			maxCount = scores[i].Score
		}
	}
	if maxCount == 0 {
		if reverse {
			for i := range scores {
				scores[i].Score = maxPriority
			}
		}
		return nil
	}
	for i := range scores {
		score := scores[i].Score
		score = maxPriority * score / maxCount
		if reverse {
			score = maxPriority - score
		}
		scores[i].Score = score
	}
	return nil
}
