package scheduler

import (
	"context"
	"io"
	"log/slog"
	"testing"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func rl(kv ...string) v1.ResourceList {
	out := v1.ResourceList{}
	for i := 0; i+1 < len(kv); i += 2 {
		out[v1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
	}
	return out
}

type nodeOpt func(*v1.Node)

func makeNode(name string, alloc v1.ResourceList, opts ...nodeOpt) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, UID: types.UID("node-" + name), Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: v1.NodeStatus{
			Allocatable: alloc,
			Capacity:    alloc,
			Conditions:  []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func withTaints(t ...v1.Taint) nodeOpt { return func(n *v1.Node) { n.Spec.Taints = t } }
func withLabels(kv ...string) nodeOpt {
	return func(n *v1.Node) {
		for i := 0; i+1 < len(kv); i += 2 {
			n.Labels[kv[i]] = kv[i+1]
		}
	}
}
func cordoned() nodeOpt { return func(n *v1.Node) { n.Spec.Unschedulable = true } }

type podOpt func(*v1.Pod)

func makePod(name string, requests v1.ResourceList, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec: v1.PodSpec{
			SchedulerName: v1.DefaultSchedulerName,
			Containers:    []v1.Container{{Name: "c", Image: "busybox", Resources: v1.ResourceRequirements{Requests: requests}}},
		},
		Status: v1.PodStatus{Phase: v1.PodPending},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func onNode(node string) podOpt { return func(p *v1.Pod) { p.Spec.NodeName = node } }
func priority(v int32) podOpt   { return func(p *v1.Pod) { p.Spec.Priority = &v } }
func tolerate(t ...v1.Toleration) podOpt {
	return func(p *v1.Pod) { p.Spec.Tolerations = append(p.Spec.Tolerations, t...) }
}
func hostPort(port int32, proto v1.Protocol, ip string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{ContainerPort: port, HostPort: port, Protocol: proto, HostIP: ip})
	}
}
func nodeSelector(kv ...string) podOpt {
	return func(p *v1.Pod) {
		p.Spec.NodeSelector = map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			p.Spec.NodeSelector[kv[i]] = kv[i+1]
		}
	}
}

func nodeInfoFor(node *v1.Node, pods ...*v1.Pod) *NodeInfo {
	ni := NewNodeInfo(pods...)
	ni.SetNode(node)
	return ni
}

// runFilter runs one plugin like the framework does: PreFilter (honouring
// Skip) then Filter.
func runFilter(t *testing.T, pl FilterPlugin, pod *v1.Pod, ni *NodeInfo) *Status {
	t.Helper()
	ctx := context.Background()
	state := NewCycleState()
	if pf, ok := pl.(PreFilterPlugin); ok {
		_, s := pf.PreFilter(ctx, state, pod, []*NodeInfo{ni})
		if s.IsSkip() {
			return nil
		}
		if !s.IsSuccess() {
			return s
		}
	}
	return pl.Filter(ctx, state, pod, ni)
}

// wantStatus compares code and reasons exactly.
func wantStatus(t *testing.T, got *Status, code Code, reasons ...string) {
	t.Helper()
	if got.Code() != code {
		t.Fatalf("code = %v (%q), want %v", got.Code(), got.Message(), code)
	}
	if len(got.Reasons()) != len(reasons) {
		t.Fatalf("reasons = %q, want %q", got.Reasons(), reasons)
	}
	for i := range reasons {
		if got.Reasons()[i] != reasons[i] {
			t.Fatalf("reasons = %q, want %q", got.Reasons(), reasons)
		}
	}
}
