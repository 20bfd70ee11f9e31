package scheduler

import (
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFilterPluginsRejectWithUpstreamReasons(t *testing.T) {
	small := rl("cpu", "1", "memory", "1Gi", "pods", "10")
	notReady := v1.Taint{Key: v1.TaintNodeNotReady, Effect: v1.TaintEffectNoSchedule}
	unreachableNoExec := v1.Taint{Key: v1.TaintNodeUnreachable, Effect: v1.TaintEffectNoExecute}
	preferNo := v1.Taint{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectPreferNoSchedule}
	gpuTaint := v1.Taint{Key: "dedicated", Value: "gpu", Effect: v1.TaintEffectNoSchedule}
	affinity := func(terms ...v1.NodeSelectorTerm) podOpt {
		return func(p *v1.Pod) {
			p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{
				RequiredDuringSchedulingIgnoredDuringExecution: &v1.NodeSelector{NodeSelectorTerms: terms},
			}}
		}
	}
	zoneIn := func(zones ...string) v1.NodeSelectorTerm {
		return v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "zone", Operator: v1.NodeSelectorOpIn, Values: zones}}}
	}
	nameIn := func(names ...string) v1.NodeSelectorTerm {
		return v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: names}}}
	}

	tests := []struct {
		name    string
		plugin  FilterPlugin
		pod     *v1.Pod
		node    *v1.Node
		onNode  []*v1.Pod
		code    Code
		reasons []string
	}{
		{"cordoned node rejects", NodeUnschedulable{}, makePod("p", nil), makeNode("n", small, cordoned()), nil,
			UnschedulableAndUnresolvable, []string{"node(s) were unschedulable"}},
		{"cordoned node admits pod tolerating unschedulable taint", NodeUnschedulable{},
			makePod("p", nil, tolerate(v1.Toleration{Key: v1.TaintNodeUnschedulable, Operator: v1.TolerationOpExists, Effect: v1.TaintEffectNoSchedule})),
			makeNode("n", small, cordoned()), nil, Success, nil},
		{"schedulable node admits", NodeUnschedulable{}, makePod("p", nil), makeNode("n", small), nil, Success, nil},

		{"other requested node name rejects", NodeName{}, makePod("p", nil, onNode("other")), makeNode("n", small), nil,
			UnschedulableAndUnresolvable, []string{"node(s) didn't match the requested node name"}},
		{"matching node name admits", NodeName{}, makePod("p", nil, onNode("n")), makeNode("n", small), nil, Success, nil},

		{"not-ready NoSchedule taint rejects", TaintToleration{}, makePod("p", nil), makeNode("n", small, withTaints(notReady)), nil,
			UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint(s)"}},
		{"unreachable NoExecute taint rejects", TaintToleration{}, makePod("p", nil), makeNode("n", small, withTaints(unreachableNoExec)), nil,
			UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint(s)"}},
		{"PreferNoSchedule taint does not filter", TaintToleration{}, makePod("p", nil), makeNode("n", small, withTaints(preferNo)), nil, Success, nil},
		{"tolerated taint admits", TaintToleration{},
			makePod("p", nil, tolerate(v1.Toleration{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "gpu", Effect: v1.TaintEffectNoSchedule})),
			makeNode("n", small, withTaints(gpuTaint)), nil, Success, nil},
		{"toleration with wrong value rejects", TaintToleration{},
			makePod("p", nil, tolerate(v1.Toleration{Key: "dedicated", Operator: v1.TolerationOpEqual, Value: "cpu"})),
			makeNode("n", small, withTaints(gpuTaint)), nil, UnschedulableAndUnresolvable, []string{"node(s) had untolerated taint(s)"}},

		{"nodeSelector mismatch rejects", NodeAffinity{}, makePod("p", nil, nodeSelector("disk", "ssd")), makeNode("n", small), nil,
			UnschedulableAndUnresolvable, []string{"node(s) didn't match Pod's node affinity/selector"}},
		{"nodeSelector match admits", NodeAffinity{}, makePod("p", nil, nodeSelector("disk", "ssd")), makeNode("n", small, withLabels("disk", "ssd")), nil, Success, nil},
		{"required affinity mismatch rejects", NodeAffinity{}, makePod("p", nil, affinity(zoneIn("a"))), makeNode("n", small, withLabels("zone", "b")), nil,
			UnschedulableAndUnresolvable, []string{"node(s) didn't match Pod's node affinity/selector"}},
		{"required affinity terms are ORed", NodeAffinity{}, makePod("p", nil, affinity(zoneIn("a"), zoneIn("b"))), makeNode("n", small, withLabels("zone", "b")), nil, Success, nil},
		{"nodeSelector and affinity are ANDed", NodeAffinity{}, makePod("p", nil, nodeSelector("disk", "ssd"), affinity(zoneIn("b"))), makeNode("n", small, withLabels("zone", "b")), nil,
			UnschedulableAndUnresolvable, []string{"node(s) didn't match Pod's node affinity/selector"}},
		{"conflicting metadata.name pins reject in PreFilter", NodeAffinity{},
			makePod("p", nil, affinity(v1.NodeSelectorTerm{MatchFields: []v1.NodeSelectorRequirement{
				{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"a"}},
				{Key: metav1.ObjectNameField, Operator: v1.NodeSelectorOpIn, Values: []string{"b"}},
			}})), makeNode("n", small), nil, UnschedulableAndUnresolvable, []string{"pod affinity terms conflict"}},
		{"metadata.name pin admits its node", NodeAffinity{}, makePod("p", nil, affinity(nameIn("n"))), makeNode("n", small), nil, Success, nil},

		{"host port in use rejects", NodePorts{}, makePod("p", nil, hostPort(80, v1.ProtocolTCP, "")), makeNode("n", small),
			[]*v1.Pod{makePod("old", nil, onNode("n"), hostPort(80, "", ""))},
			Unschedulable, []string{"node(s) didn't have free ports for the requested pod ports"}},
		{"specific IP conflicts with wildcard in use", NodePorts{}, makePod("p", nil, hostPort(80, v1.ProtocolTCP, "10.0.0.1")), makeNode("n", small),
			[]*v1.Pod{makePod("old", nil, onNode("n"), hostPort(80, v1.ProtocolTCP, "0.0.0.0"))},
			Unschedulable, []string{"node(s) didn't have free ports for the requested pod ports"}},
		{"different IPs do not conflict", NodePorts{}, makePod("p", nil, hostPort(80, v1.ProtocolTCP, "10.0.0.1")), makeNode("n", small),
			[]*v1.Pod{makePod("old", nil, onNode("n"), hostPort(80, v1.ProtocolTCP, "10.0.0.2"))}, Success, nil},
		{"different protocols do not conflict", NodePorts{}, makePod("p", nil, hostPort(53, v1.ProtocolUDP, "")), makeNode("n", small),
			[]*v1.Pod{makePod("old", nil, onNode("n"), hostPort(53, v1.ProtocolTCP, ""))}, Success, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := runFilter(t, tc.plugin, tc.pod, nodeInfoFor(tc.node, tc.onNode...))
			wantStatus(t, got, tc.code, tc.reasons...)
		})
	}
}
