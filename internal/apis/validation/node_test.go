package validation

import (
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func TestValidateNode(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: "node-1", ResourceVersion: "1"},
		Spec: corev1.NodeSpec{
			PodCIDRs: []string{"10.244.0.0/24", "fd00::/64"},
			Taints:   []corev1.Taint{{Key: "dedicated", Value: "gpu", Effect: corev1.TaintEffectNoSchedule}},
		},
		Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: qty("4"), corev1.ResourcePods: qty("110")}},
	}
	expectErrors(t, ValidateNode(node))

	bad := node.DeepCopy()
	bad.Namespace = "default"
	bad.Spec.PodCIDRs = []string{"10.244.0.0/24", "10.245.0.0/24"}
	bad.Spec.Taints = append(bad.Spec.Taints, corev1.Taint{Key: "dedicated", Effect: corev1.TaintEffectNoSchedule}, corev1.Taint{Key: "x"})
	bad.Status.Capacity[corev1.ResourcePods] = qty("1.5")
	expectErrors(t, ValidateNode(bad),
		"metadata.namespace: Forbidden: not allowed on this type",
		`metadata.taints[1]: Duplicate value: {"key":"dedicated","effect":"NoSchedule"}: taints must be unique by key and effect pair`,
		"metadata.taints[2].effect: Required value",
		`status.capacity.pods: Invalid value: "1500m": must be an integer`,
		`spec.podCIDRs: Invalid value: ["10.244.0.0/24","10.245.0.0/24"]: may specify no more than one CIDR for each IP family`,
	)
}

func TestValidateNodeUpdate(t *testing.T) {
	old := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n", ResourceVersion: "1"}, Spec: corev1.NodeSpec{ProviderID: "aws:///i-1"}}
	updated := old.DeepCopy()
	updated.Spec.PodCIDRs = []string{"10.0.0.0/24"} // first assignment is fine
	updated.Spec.Unschedulable = true
	expectErrors(t, ValidateNodeUpdate(updated, old))

	old.Spec.PodCIDRs = []string{"10.0.0.0/24"}
	updated.Spec.PodCIDRs = []string{"10.0.1.0/24"}
	updated.Spec.ProviderID = "aws:///i-2"
	updated.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}, {Type: corev1.NodeInternalIP, Address: "10.0.0.5"}}
	expectErrors(t, ValidateNodeUpdate(updated, old),
		`status.addresses[1]: Duplicate value: {"type":"InternalIP","address":"10.0.0.5"}`,
		`spec.podCIDRs: Forbidden: node updates may not change podCIDR except from "" to valid`,
		`spec.providerID: Forbidden: node updates may not change providerID except from "" to valid`,
	)
}

func TestValidateEvent(t *testing.T) {
	legacy := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web"},
		Reason:         "Started",
	}
	expectErrors(t, ValidateEvent(legacy))

	mismatch := legacy.DeepCopy()
	mismatch.InvolvedObject.Namespace = "other"
	expectErrors(t, ValidateEvent(mismatch), `involvedObject.namespace: Invalid value: "other": does not match event.namespace`)

	modern := legacy.DeepCopy()
	modern.EventTime = metav1.NewMicroTime(time.Now())
	expectErrors(t, ValidateEvent(modern),
		"reportingController: Required value",
		"reportingController: Invalid value: \"\": name part must be non-empty",
		"reportingController: Invalid value: \"\": name part must consist of alphanumeric characters...",
		"reportingInstance: Required value",
		"action: Required value",
	)
	modern.ReportingController, modern.ReportingInstance, modern.Action = "kubelet", "node-1", "Start"
	expectErrors(t, ValidateEvent(modern))
}

func TestValidateLease(t *testing.T) {
	lease := &coordinationv1.Lease{ObjectMeta: meta("node-1"), Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr.To("node-1"), LeaseDurationSeconds: ptr.To[int32](40)}}
	expectErrors(t, ValidateLease(lease))
	expectErrors(t, ValidateLeaseUpdate(lease, lease))

	bad := lease.DeepCopy()
	bad.Spec.LeaseDurationSeconds = ptr.To[int32](0)
	bad.Spec.LeaseTransitions = ptr.To[int32](-1)
	bad.Spec.PreferredHolder = ptr.To("x")
	expectErrors(t, ValidateLease(bad),
		"spec.leaseDurationSeconds: Invalid value: 0: must be greater than 0",
		"spec.leaseTransitions: Invalid value: -1: must be greater than or equal to 0",
		"spec.preferredHolder: Forbidden: may only be specified if `strategy` is defined",
	)
}

func TestValidatePriorityClass(t *testing.T) {
	pc := &schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "high", ResourceVersion: "1"}, Value: 1000}
	expectErrors(t, ValidatePriorityClass(pc))
	expectErrors(t, ValidatePriorityClass(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-node-critical"}, Value: 2000001000}))
	expectErrors(t, ValidatePriorityClass(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "huge"}, Value: 2000000000}),
		"value: Forbidden: maximum allowed value of a user defined priority is 1000000000")
	expectErrors(t, ValidatePriorityClass(&schedulingv1.PriorityClass{ObjectMeta: metav1.ObjectMeta{Name: "system-mine"}, Value: 1}),
		"metadata.name: Forbidden: priority class names with 'system-' prefix are reserved for system use only. error: system-mine is not a known system priority class")

	updated := pc.DeepCopy()
	updated.Value = 2000
	updated.PreemptionPolicy = ptr.To(corev1.PreemptNever)
	expectErrors(t, ValidatePriorityClassUpdate(updated, pc),
		"value: Forbidden: may not be changed in an update.",
		`preemptionPolicy: Invalid value: "Never": field is immutable`,
	)
}
