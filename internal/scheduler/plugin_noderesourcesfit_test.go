package scheduler

import (
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestNodeResourcesFitCountsRequestsLikeKubernetes(t *testing.T) {
	always := v1.ContainerRestartPolicyAlways
	node := makeNode("n", rl("cpu", "2", "memory", "2Gi", "ephemeral-storage", "10Gi", "pods", "3", "example.com/gpu", "1"))
	withInit := func(reqs v1.ResourceList, sidecar bool) podOpt {
		return func(p *v1.Pod) {
			c := v1.Container{Name: "init", Image: "busybox", Resources: v1.ResourceRequirements{Requests: reqs}}
			if sidecar {
				c.RestartPolicy = &always
			}
			p.Spec.InitContainers = append(p.Spec.InitContainers, c)
		}
	}
	withOverhead := func(o v1.ResourceList) podOpt { return func(p *v1.Pod) { p.Spec.Overhead = o } }
	running := func(name string, reqs v1.ResourceList) *v1.Pod { return makePod(name, reqs, onNode("n")) }

	tests := []struct {
		name    string
		pod     *v1.Pod
		onNode  []*v1.Pod
		code    Code
		reasons []string
	}{
		{"fits on empty node", makePod("p", rl("cpu", "2", "memory", "2Gi")), nil, Success, nil},
		{"cpu used by bound pods", makePod("p", rl("cpu", "1500m")), []*v1.Pod{running("a", rl("cpu", "1"))},
			Unschedulable, []string{"Insufficient cpu"}},
		{"request larger than the whole node is unresolvable", makePod("p", rl("cpu", "3")), nil,
			UnschedulableAndUnresolvable, []string{"Insufficient cpu"}},
		{"memory", makePod("p", rl("memory", "1536Mi")), []*v1.Pod{running("a", rl("memory", "1Gi"))},
			Unschedulable, []string{"Insufficient memory"}},
		{"cpu and memory both reported", makePod("p", rl("cpu", "1500m", "memory", "1536Mi")), []*v1.Pod{running("a", rl("cpu", "1", "memory", "1Gi"))},
			Unschedulable, []string{"Insufficient cpu", "Insufficient memory"}},
		{"ephemeral storage", makePod("p", rl("ephemeral-storage", "11Gi")), nil,
			UnschedulableAndUnresolvable, []string{"Insufficient ephemeral-storage"}},
		{"extended resource", makePod("p", rl("example.com/gpu", "1")), []*v1.Pod{running("a", rl("example.com/gpu", "1"))},
			Unschedulable, []string{"Insufficient example.com/gpu"}},
		{"extended resource the node does not have", makePod("p", rl("example.com/fpga", "1")), nil,
			UnschedulableAndUnresolvable, []string{"Insufficient example.com/fpga"}},
		{"pod count", makePod("p", nil), []*v1.Pod{running("a", nil), running("b", nil), running("c", nil)},
			Unschedulable, []string{"Too many pods"}},
		{"pod count and cpu", makePod("p", rl("cpu", "1500m")), []*v1.Pod{running("a", rl("cpu", "1")), running("b", nil), running("c", nil)},
			Unschedulable, []string{"Too many pods", "Insufficient cpu"}},
		{"init container max counts, not sum", makePod("p", rl("cpu", "500m"), withInit(rl("cpu", "1500m"), false)), []*v1.Pod{running("a", rl("cpu", "600m"))},
			Unschedulable, []string{"Insufficient cpu"}},
		{"init container smaller than app containers fits", makePod("p", rl("cpu", "1"), withInit(rl("cpu", "1"), false)), []*v1.Pod{running("a", rl("cpu", "1"))},
			Success, nil},
		{"sidecar adds to app containers", makePod("p", rl("cpu", "1"), withInit(rl("cpu", "500m"), true)), []*v1.Pod{running("a", rl("cpu", "1"))},
			Unschedulable, []string{"Insufficient cpu"}},
		{"pod overhead is added", makePod("p", rl("cpu", "1"), withOverhead(rl("cpu", "250m"))), []*v1.Pod{running("a", rl("cpu", "1"))},
			Unschedulable, []string{"Insufficient cpu"}},
		{"bound pod overhead is accounted", makePod("p", rl("cpu", "1")), []*v1.Pod{makePod("a", rl("cpu", "1"), onNode("n"), withOverhead(rl("cpu", "100m")))},
			Unschedulable, []string{"Insufficient cpu"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runFilter(t, NodeResourcesFit{}, tc.pod, nodeInfoFor(node, tc.onNode...))
			wantStatus(t, got, tc.code, tc.reasons...)
		})
	}
}

func TestNodeWithoutAllocatablePodsFitsNoPod(t *testing.T) {
	got := runFilter(t, NodeResourcesFit{}, makePod("p", nil), nodeInfoFor(makeNode("n", rl("cpu", "1"))))
	wantStatus(t, got, Unschedulable, "Too many pods")
}
