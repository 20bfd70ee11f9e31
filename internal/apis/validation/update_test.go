package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

const podUpdateForbidden = "spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"

func TestValidatePodUpdate(t *testing.T) {
	cases := []struct {
		name   string
		old    func(*corev1.Pod)
		mutate func(*corev1.Pod)
		want   []string
	}{
		{name: "no change"},
		{
			name:   "labels may change",
			mutate: func(p *corev1.Pod) { p.Labels = map[string]string{"a": "b"} },
		},
		{
			name:   "set image allowed",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" },
		},
		{
			name:   "empty image",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want: []string{
				"spec.containers[0].image: Required value", // the new pod is invalid
				"spec.containers[0].image: Required value", // and the update is
			},
		},
		{
			name:   "add container",
			mutate: func(p *corev1.Pod) { p.Spec.Containers = append(p.Spec.Containers, validContainer("b")) },
			want:   []string{"spec.containers: Forbidden: pod updates may not add or remove containers"},
		},
		{
			name:   "forbidden field change",
			mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want:   []string{podUpdateForbidden + "..."},
		},
		{
			name:   "activeDeadlineSeconds may be set",
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) },
		},
		{
			name:   "activeDeadlineSeconds may be decreased",
			old:    func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](30) },
		},
		{
			name:   "activeDeadlineSeconds may not be increased",
			old:    func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](90) },
			want:   []string{"spec.activeDeadlineSeconds: Invalid value: 90: must be less than or equal to previous value"},
		},
		{
			name:   "activeDeadlineSeconds may not be unset",
			old:    func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptr.To[int64](60) },
			mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = nil },
			want:   []string{"spec.activeDeadlineSeconds: Invalid value: null: must not update from a positive integer to nil value"},
		},
		{
			name: "tolerations may be added and tolerationSeconds changed",
			old: func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](300)}}
			},
			mutate: func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{
					{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](10)},
					{Key: "other", Operator: corev1.TolerationOpExists},
				}
			},
		},
		{
			name: "tolerations may not be removed",
			old: func(p *corev1.Pod) {
				p.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists}}
			},
			mutate: func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			want:   []string{"spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds"},
		},
		{
			name:   "scheduling gates may be removed",
			old:    func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/a"}} },
			mutate: func(p *corev1.Pod) { p.Spec.SchedulingGates = nil },
		},
		{
			name:   "scheduling gates may not be added",
			mutate: func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/a"}} },
			want:   []string{"spec.schedulingGates[0].name: Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/a'"},
		},
		{
			name:   "gated pod may add node selectors",
			old:    func(p *corev1.Pod) { p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/a"}} },
			mutate: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "a"} },
		},
		{
			name:   "ungated pod may not add node selectors",
			mutate: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "a"} },
			want:   []string{podUpdateForbidden + "..."},
		},
		{
			name:   "negative grace period may become 1",
			old:    func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-5) },
			mutate: func(p *corev1.Pod) { p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](1) },
		},
		{
			name:   "name is immutable and resourceVersion required",
			mutate: func(p *corev1.Pod) { p.Name, p.ResourceVersion = "other", "" },
			want: []string{
				`metadata.resourceVersion: Invalid value: "": must be specified for an update`,
				`metadata.name: Invalid value: "other": field is immutable`,
			},
		},
		{
			name:   "mirror annotation may not be added",
			old:    func(p *corev1.Pod) { p.Spec.NodeName = "n" },
			mutate: func(p *corev1.Pod) { p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"} },
			want:   []string{"metadata.annotations[kubernetes.io/config.mirror]: Forbidden: may not add mirror pod annotation"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			if tc.old != nil {
				tc.old(old)
			}
			updated := old.DeepCopy()
			if tc.mutate != nil {
				tc.mutate(updated)
			}
			expectErrors(t, ValidatePodUpdate(updated, old), tc.want...)
		})
	}
}

// TestPodUpdateForbiddenDiff checks that the forbidden message carries a
// diff of old versus new spec, as kube-apiserver's does.
func TestPodUpdateForbiddenDiff(t *testing.T) {
	old := validPod()
	updated := old.DeepCopy()
	updated.Spec.RestartPolicy = corev1.RestartPolicyNever
	updated.Spec.Containers[0].Image = "nginx:1.28" // allowed, so not in the diff
	errs := ValidatePodUpdate(updated, old)
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	msg := errs[0].Error()
	if !strings.HasPrefix(msg, podUpdateForbidden) {
		t.Fatalf("unexpected message prefix:\n%s", msg)
	}
	diff := strings.TrimPrefix(msg, podUpdateForbidden)
	for _, want := range []string{"v1.PodSpec{", "RestartPolicy", `"Always"`, `"Never"`} {
		if !strings.Contains(diff, want) {
			t.Errorf("diff lacks %q:\n%s", want, diff)
		}
	}
	if strings.Contains(diff, "nginx:1.28") {
		t.Errorf("diff mentions the allowed image change:\n%s", diff)
	}
}

func TestValidatePodEphemeralContainersUpdate(t *testing.T) {
	debug := corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon(validContainer("debug")), TargetContainerName: "app"}
	cases := []struct {
		name   string
		old    []corev1.EphemeralContainer
		new    func() []corev1.EphemeralContainer
		mutate func(*corev1.Pod)
		want   []string
	}{
		{name: "add", new: func() []corev1.EphemeralContainer { return []corev1.EphemeralContainer{debug} }},
		{
			name: "remove",
			old:  []corev1.EphemeralContainer{debug},
			new:  func() []corev1.EphemeralContainer { return nil },
			want: []string{"spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debug\" may not be removed\n"},
		},
		{
			name: "change",
			old:  []corev1.EphemeralContainer{debug},
			new: func() []corev1.EphemeralContainer {
				c := *debug.DeepCopy()
				c.Image = "busybox"
				return []corev1.EphemeralContainer{c}
			},
			want: []string{"spec.ephemeralContainers: Forbidden: existing ephemeral containers \"debug\" may not be changed\n..."},
		},
		{
			name: "duplicate name",
			new: func() []corev1.EphemeralContainer {
				c := *debug.DeepCopy()
				c.Name = "app"
				return []corev1.EphemeralContainer{c}
			},
			want: []string{`spec.ephemeralContainers[0].name: Duplicate value: "app"`},
		},
		{
			name: "forbidden fields and unknown target",
			new: func() []corev1.EphemeralContainer {
				c := *debug.DeepCopy()
				c.TargetContainerName = "nope"
				c.Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}}
				c.ReadinessProbe = validProbe()
				c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"x"}}}}
				c.Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: qty("1")}
				return []corev1.EphemeralContainer{c}
			},
			want: []string{
				`spec.ephemeralContainers[0].targetContainerName: Not found: "nope"`,
				"spec.ephemeralContainers[0].ports: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].resources: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].readinessProbe: Forbidden: cannot be set for an Ephemeral Container",
				"spec.ephemeralContainers[0].lifecycle: Forbidden: cannot be set for an Ephemeral Container",
			},
		},
		{
			name: "static pod",
			mutate: func(p *corev1.Pod) {
				p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
				p.Spec.NodeName = "n"
			},
			new:  func() []corev1.EphemeralContainer { return []corev1.EphemeralContainer{debug} },
			want: []string{"[]: Forbidden: static pods do not support ephemeral containers"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			if tc.mutate != nil {
				tc.mutate(old)
			}
			old.Spec.EphemeralContainers = tc.old
			updated := old.DeepCopy()
			updated.Spec.EphemeralContainers = tc.new()
			expectErrors(t, ValidatePodEphemeralContainersUpdate(updated, old), tc.want...)
		})
	}
}

func TestValidatePodStatusUpdate(t *testing.T) {
	terminated := corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}
	running := corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	cases := []struct {
		name   string
		old    func(*corev1.Pod)
		mutate func(*corev1.Pod)
		want   []string
	}{
		{
			name: "normal progress",
			mutate: func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodRunning
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
			},
		},
		{
			name:   "terminal phase is final",
			old:    func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded },
			mutate: func(p *corev1.Pod) { p.Status.Phase = corev1.PodRunning },
			want:   []string{`status.phase: Forbidden: may not be changed from terminal phase "Succeeded" to "Running"`},
		},
		{
			name:   "unknown phase",
			mutate: func(p *corev1.Pod) { p.Status.Phase = "Done" },
			want:   []string{`status.phase: Unsupported value: "Done": supported values: "Pending", "Running", "Succeeded", "Failed", "Unknown"`},
		},
		{
			name:   "nodeName may not change",
			mutate: func(p *corev1.Pod) { p.Spec.NodeName = "n" },
			want:   []string{"status.nodeName: Forbidden: may not be changed directly"},
		},
		{
			name: "terminated container may not restart with restartPolicy Never",
			old: func(p *corev1.Pod) {
				p.Spec.RestartPolicy = corev1.RestartPolicyNever
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: terminated}}
			},
			mutate: func(p *corev1.Pod) {
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: running}}
			},
			want: []string{"status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state"},
		},
		{
			name: "bad condition type and pod IPs",
			mutate: func(p *corev1.Pod) {
				p.Status.Conditions = []corev1.PodCondition{{Type: "bad type"}}
				p.Status.PodIPs = []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "10.0.0.2"}}
			},
			want: []string{
				`metadata.conditions[0].Type: Invalid value: "bad type": name part must consist of alphanumeric characters...`,
				`status.podIPs: Invalid value: [{"ip":"10.0.0.1"},{"ip":"10.0.0.2"}]: may specify no more than one IP for each IP family`,
			},
		},
		{
			name:   "qosClass is immutable",
			old:    func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSBestEffort },
			mutate: func(p *corev1.Pod) { p.Status.QOSClass = corev1.PodQOSGuaranteed },
			want:   []string{`status.qosClass: Invalid value: "Guaranteed": field is immutable`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			old := validPod()
			if tc.old != nil {
				tc.old(old)
			}
			updated := old.DeepCopy()
			tc.mutate(updated)
			expectErrors(t, ValidatePodStatusUpdate(updated, old), tc.want...)
		})
	}
}

func TestValidatePodBinding(t *testing.T) {
	expectErrors(t, ValidatePodBinding(&corev1.Binding{Target: corev1.ObjectReference{Name: "node-1"}}))
	expectErrors(t, ValidatePodBinding(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Target: corev1.ObjectReference{Kind: "Pod"}}),
		`target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>"`,
		"target.name: Required value",
	)
}
