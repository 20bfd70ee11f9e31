package scheduler

import (
	"context"
	"errors"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// newTestScheduler returns a Scheduler whose cache holds the given nodes and
// bound pods, without informers, for exercising schedulePod directly.
func newTestScheduler(t *testing.T, nodes []*v1.Node, bound ...*v1.Pod) *Scheduler {
	t.Helper()
	s, err := New(Config{Client: fake.NewClientset(), Logger: quietLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		s.cache.AddNode(n)
	}
	for _, p := range bound {
		s.cache.SetPod(p)
	}
	return s
}

func scheduleMessage(t *testing.T, s *Scheduler, pod *v1.Pod) string {
	t.Helper()
	host, err := s.schedulePod(context.Background(), NewCycleState(), pod)
	if err == nil {
		t.Fatalf("pod was scheduled to %q, want a failure", host)
	}
	return err.Error()
}

func TestUnschedulableMessagesMatchUpstreamFormat(t *testing.T) {
	alloc := rl("cpu", "1", "memory", "1Gi", "pods", "10")
	never := v1.PreemptNever
	tests := []struct {
		name  string
		nodes []*v1.Node
		bound []*v1.Pod
		pod   *v1.Pod
		want  string
	}{
		{
			name: "no nodes at all",
			pod:  makePod("p", nil),
			want: "no nodes available to schedule pods",
		},
		{
			name:  "one node short of cpu, no lower-priority pods to evict",
			nodes: []*v1.Node{makeNode("n1", alloc)},
			bound: []*v1.Pod{makePod("a", rl("cpu", "800m"), onNode("n1"))},
			pod:   makePod("p", rl("cpu", "500m")),
			want:  "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name:  "request bigger than the node: preemption is not helpful",
			nodes: []*v1.Node{makeNode("n1", alloc)},
			pod:   makePod("p", rl("cpu", "2")),
			want:  "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling.",
		},
		{
			name: "reasons are counted per node and sorted",
			nodes: []*v1.Node{
				makeNode("n1", alloc),
				makeNode("n2", alloc, withLabels("zone", "b")),
				makeNode("n3", alloc, withLabels("zone", "c")),
			},
			bound: []*v1.Pod{makePod("a", rl("memory", "800Mi"), onNode("n1"))},
			pod:   makePod("p", rl("memory", "500Mi"), nodeSelector("kubernetes.io/hostname", "n1")),
			want: "0/3 nodes are available: 1 Insufficient memory, 2 node(s) didn't match Pod's node affinity/selector. " +
				"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
		},
		{
			name:  "a node failing two resources counts under both",
			nodes: []*v1.Node{makeNode("n1", alloc), makeNode("n2", alloc)},
			bound: []*v1.Pod{makePod("a", rl("cpu", "800m", "memory", "800Mi"), onNode("n1")), makePod("b", rl("cpu", "800m"), onNode("n2"))},
			pod:   makePod("p", rl("cpu", "500m", "memory", "500Mi")),
			want:  "0/2 nodes are available: 1 Insufficient memory, 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod.",
		},
		{
			name: "only the first rejecting plugin counts for a node",
			nodes: []*v1.Node{
				makeNode("n1", alloc, withTaints(v1.Taint{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule})),
				makeNode("n2", alloc, cordoned()),
			},
			pod:  makePod("p", rl("cpu", "2")),
			want: "0/2 nodes are available: 1 node(s) had untolerated taint(s), 1 node(s) were unschedulable. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
		},
		{
			name:  "preemptionPolicy Never",
			nodes: []*v1.Node{makeNode("n1", alloc)},
			bound: []*v1.Pod{makePod("a", rl("cpu", "800m"), onNode("n1"))},
			pod:   makePod("p", rl("cpu", "500m"), func(p *v1.Pod) { p.Spec.PreemptionPolicy = &never }),
			want:  "0/1 nodes are available: 1 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never.",
		},
		{
			name:  "host port taken by an equal-priority pod",
			nodes: []*v1.Node{makeNode("n1", alloc)},
			bound: []*v1.Pod{makePod("a", nil, onNode("n1"), hostPort(8080, v1.ProtocolTCP, ""))},
			pod:   makePod("p", nil, hostPort(8080, v1.ProtocolTCP, "")),
			want:  "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod.",
		},
		{
			name:  "evicting lower-priority pods would not be enough",
			nodes: []*v1.Node{makeNode("n1", alloc)},
			bound: []*v1.Pod{makePod("low", rl("cpu", "100m"), onNode("n1")), makePod("high", rl("cpu", "800m"), onNode("n1"), priority(100))},
			pod:   makePod("p", rl("cpu", "500m"), priority(10)),
			want:  "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:  "preemption would help: no preemption part, as with preemption disabled upstream",
			nodes: []*v1.Node{makeNode("n1", alloc)},
			bound: []*v1.Pod{makePod("low", rl("cpu", "800m"), onNode("n1"))},
			pod:   makePod("p", rl("cpu", "500m"), priority(10)),
			want:  "0/1 nodes are available: 1 Insufficient cpu.",
		},
		{
			name:  "DaemonSet-style metadata.name pin: other nodes did not satisfy the plugin",
			nodes: []*v1.Node{makeNode("n1", alloc), makeNode("n2", alloc), makeNode("n3", alloc)},
			bound: []*v1.Pod{makePod("a", rl("cpu", "800m"), onNode("n1"))},
			pod: makePod("p", rl("cpu", "500m"), func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
					NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"n1"}}}}},
				}}}
			}),
			want: "0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't satisfy plugin(s) [NodeAffinity]. " +
				"preemption: 0/3 nodes are available: 1 No preemption victims found for incoming pod, 2 Preemption is not helpful for scheduling.",
		},
		{
			name:  "PreFilter rejection replaces the per-node histogram",
			nodes: []*v1.Node{makeNode("n1", alloc), makeNode("n2", alloc)},
			pod: makePod("p", nil, func(p *v1.Pod) {
				p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{
					NodeSelectorTerms: []v1.NodeSelectorTerm{{MatchFields: []v1.NodeSelectorRequirement{
						{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"n1"}},
						{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"n2"}},
					}}},
				}}}
			}),
			want: "0/2 nodes are available: pod affinity terms conflict. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestScheduler(t, tc.nodes, tc.bound...)
			if got := scheduleMessage(t, s, tc.pod); got != tc.want {
				t.Errorf("message:\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestReasonHistogramSortsAsStringsLikeUpstream(t *testing.T) {
	m := NewDefaultNodeToStatus()
	for i := 0; i < 10; i++ {
		m.Set("cpu"+string(rune('a'+i)), NewStatus(Unschedulable, "Insufficient cpu"))
	}
	m.Set("x", NewStatus(UnschedulableAndUnresolvable, "node(s) were unschedulable"))
	m.Set("y", NewStatus(UnschedulableAndUnresolvable, "node(s) were unschedulable"))
	fe := &FitError{NumAllNodes: 12, Diagnosis: Diagnosis{NodeToStatus: m}}
	// "10 ..." sorts before "2 ..." because upstream sorts the formatted strings.
	want := "0/12 nodes are available: 10 Insufficient cpu, 2 node(s) were unschedulable."
	if got := fe.Error(); got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestNoNodesErrorIsDistinguishable(t *testing.T) {
	s := newTestScheduler(t, nil)
	_, err := s.schedulePod(context.Background(), NewCycleState(), makePod("p", nil))
	if !errors.Is(err, ErrNoNodesAvailable) {
		t.Fatalf("err = %v, want ErrNoNodesAvailable", err)
	}
}
