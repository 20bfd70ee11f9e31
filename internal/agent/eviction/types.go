// Package eviction decides, as the kubelet's eviction manager does, when the
// node is under memory, disk or PID pressure, which pod to evict to relieve
// it, and which pods break their local-storage limits. It reports the
// pressure node conditions and leaves killing pods to the agent through a
// callback.
package eviction

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Signal names a resource the node can run short of, in the kubelet's
// --eviction-hard spelling.
type Signal string

const (
	// SignalMemoryAvailable is node memory capacity minus its working set.
	SignalMemoryAvailable Signal = "memory.available"
	// SignalNodeFsAvailable is free bytes on the filesystem holding the
	// agent's data dir, pod volumes and logs.
	SignalNodeFsAvailable Signal = "nodefs.available"
	// SignalNodeFsInodesFree is free inodes on nodefs.
	SignalNodeFsInodesFree Signal = "nodefs.inodesFree"
	// SignalImageFsAvailable is free bytes on the filesystem holding images
	// and container writable layers; it is nodefs unless observed apart.
	SignalImageFsAvailable Signal = "imagefs.available"
	// SignalImageFsInodesFree is free inodes on imagefs.
	SignalImageFsInodesFree Signal = "imagefs.inodesFree"
	// SignalPIDAvailable is the node's pid limit minus running processes.
	SignalPIDAvailable Signal = "pid.available"
)

// DefaultEvictionHard is the kubelet's --eviction-hard default on Linux.
// Use it as the flag's default value so that an explicitly empty flag
// disables hard eviction, as it does in the kubelet.
const DefaultEvictionHard = "memory.available<100Mi,nodefs.available<10%,nodefs.inodesFree<5%,imagefs.available<15%"

// Values the kubelet writes on evicted pods and their events.
const (
	// Reason is status.reason of an evicted pod and the event reason.
	Reason = "Evicted"

	// Event annotations, as the kubelet attaches to its Evicted events.
	OffendingContainersKey      = "offending_containers"
	OffendingContainersUsageKey = "offending_containers_usage"
	StarvedResourceKey          = "starved_resource"

	// SystemCriticalPriority is the lowest priority of system-critical
	// pods (system-cluster-critical); such pods are never evicted.
	SystemCriticalPriority int32 = 2_000_000_000
)

// Node condition reasons and messages, as the kubelet's node status setters
// write them.
const (
	ReasonMemoryPressure    = "KubeletHasInsufficientMemory"
	MessageMemoryPressure   = "kubelet has insufficient memory available"
	ReasonNoMemoryPressure  = "KubeletHasSufficientMemory"
	MessageNoMemoryPressure = "kubelet has sufficient memory available"

	ReasonDiskPressure    = "KubeletHasDiskPressure"
	MessageDiskPressure   = "kubelet has disk pressure"
	ReasonNoDiskPressure  = "KubeletHasNoDiskPressure"
	MessageNoDiskPressure = "kubelet has no disk pressure"

	ReasonPIDPressure    = "KubeletHasInsufficientPID"
	MessagePIDPressure   = "kubelet has insufficient PID available"
	ReasonNoPIDPressure  = "KubeletHasSufficientPID"
	MessageNoPIDPressure = "kubelet has sufficient PID available"
)

// Resource names the eviction logic uses for signals that are not pod
// resources; they appear in messages and the starved_resource annotation.
const (
	resourceInodes corev1.ResourceName = "inodes"
	resourcePids   corev1.ResourceName = "pids"
)

// ThresholdValue is an absolute quantity or a fraction of capacity.
type ThresholdValue struct {
	Quantity   *resource.Quantity
	Percentage float32 // 0.1 for 10%; used when Quantity is nil
}

func (v ThresholdValue) String() string {
	if v.Quantity != nil {
		return v.Quantity.String()
	}
	return fmt.Sprintf("%.6g%%", float64(v.Percentage)*100)
}

// quantity resolves v against capacity; nil when v is a percentage and the
// capacity is unknown. The float32 arithmetic is the kubelet's, so both
// agree to the byte.
func (v ThresholdValue) quantity(capacity *resource.Quantity) *resource.Quantity {
	if v.Quantity != nil {
		q := v.Quantity.DeepCopy()
		return &q
	}
	if capacity == nil {
		return nil
	}
	return resource.NewQuantity(int64(float64(capacity.Value())*float64(v.Percentage)), resource.BinarySI)
}

// Threshold is met when the signal's available amount drops below Value.
// A threshold with a GracePeriod is soft: it must stay met that long before
// a pod is evicted for it.
type Threshold struct {
	Signal      Signal
	Value       ThresholdValue
	GracePeriod time.Duration
	// MinReclaim, when set, keeps the threshold met until available
	// exceeds Value+MinReclaim, so eviction reclaims more than a sliver.
	MinReclaim *ThresholdValue
}

func (t Threshold) String() string {
	s := string(t.Signal) + "<" + t.Value.String()
	if t.GracePeriod > 0 {
		s += " (soft, " + t.GracePeriod.String() + ")"
	}
	return s
}

func (t Threshold) hard() bool { return t.GracePeriod == 0 }

// Observations are the node-level measurements one eviction cycle acts on.
// Nil fields are not observed; thresholds on them are not evaluated.
type Observations struct {
	// MemoryAvailable is capacity minus the node's working set (root
	// cgroup memory usage minus inactive file), floored at zero; see
	// MemoryAvailable.
	MemoryAvailable, MemoryCapacity *resource.Quantity
	NodeFsAvailable, NodeFsCapacity *resource.Quantity
	NodeFsInodesFree, NodeFsInodes  *resource.Quantity
	// ImageFs fields are set only when images live on a filesystem of
	// their own; when nil, imagefs signals observe nodefs.
	ImageFsAvailable, ImageFsCapacity *resource.Quantity
	ImageFsInodesFree, ImageFsInodes  *resource.Quantity
	PIDAvailable, PIDCapacity         *resource.Quantity
	// Time is when the stats were collected. A cycle whose stats are not
	// newer than the previous cycle's evicts nothing, so a stale cache
	// cannot cause a second eviction for pressure already relieved. Zero
	// means always fresh.
	Time time.Time
}

// MemoryAvailable returns capacity minus workingSet in bytes, floored at 0,
// formatted as the kubelet formats memory.
func MemoryAvailable(capacity, workingSet int64) *resource.Quantity {
	return resource.NewQuantity(max(capacity-workingSet, 0), resource.BinarySI)
}

// DedicatedImageFs reports whether imagefs was observed apart from nodefs.
func (o Observations) DedicatedImageFs() bool { return o.ImageFsAvailable != nil }

// observed returns available and capacity for s, normalised to the format
// the kubelet prints: bytes in binary SI, counts in decimal SI.
func (o Observations) observed(s Signal) (available, capacity *resource.Quantity, ok bool) {
	switch s {
	case SignalMemoryAvailable:
		available, capacity = o.MemoryAvailable, o.MemoryCapacity
	case SignalNodeFsAvailable:
		available, capacity = o.NodeFsAvailable, o.NodeFsCapacity
	case SignalNodeFsInodesFree:
		available, capacity = o.NodeFsInodesFree, o.NodeFsInodes
	case SignalImageFsAvailable:
		available, capacity = o.ImageFsAvailable, o.ImageFsCapacity
		if available == nil {
			available, capacity = o.NodeFsAvailable, o.NodeFsCapacity
		}
	case SignalImageFsInodesFree:
		available, capacity = o.ImageFsInodesFree, o.ImageFsInodes
		if available == nil {
			available, capacity = o.NodeFsInodesFree, o.NodeFsInodes
		}
	case SignalPIDAvailable:
		available, capacity = o.PIDAvailable, o.PIDCapacity
	}
	if available == nil {
		return nil, nil, false
	}
	format := resource.BinarySI
	if signalResource[s] == resourceInodes || signalResource[s] == resourcePids {
		format = resource.DecimalSI
	}
	available = resource.NewQuantity(available.Value(), format)
	if capacity != nil {
		capacity = resource.NewQuantity(capacity.Value(), format)
	}
	return available, capacity, true
}

// ContainerUsage is one container's measured usage.
type ContainerUsage struct {
	Memory resource.Quantity // working set
	Rootfs resource.Quantity // writable layer
	Logs   resource.Quantity
}

// PodUsage is an active pod with its measured usage.
type PodUsage struct {
	Pod *corev1.Pod
	// NoStats marks a pod whose usage could not be measured; the kubelet
	// ranks such pods first, since nothing shows they are harmless.
	NoStats bool
	// Memory is the pod cgroup's working set; when zero, the sum of the
	// containers' working sets.
	Memory resource.Quantity
	// Containers by container name.
	Containers map[string]ContainerUsage
	// EmptyDirs holds usage of each emptyDir volume by volume name.
	EmptyDirs map[string]resource.Quantity
	// Ephemeral is the pod's total local ephemeral storage: writable
	// layers, logs, disk-backed emptyDirs. When zero it is summed from
	// Containers and EmptyDirs.
	Ephemeral resource.Quantity
	// Inodes used by the pod on nodefs (writable layers, logs, volumes).
	Inodes resource.Quantity
	// Processes running in the pod.
	Processes resource.Quantity
}

// EvictionStatus is what the agent writes on the pod it evicts.
type EvictionStatus struct {
	// Signal that caused the eviction; empty for local-storage limits.
	Signal Signal
	// Resource the node is low on, or ephemeral-storage for limit breaches.
	Resource corev1.ResourceName
	// Message for status.message and the Warning event.
	Message string
	// GracePeriodSeconds overrides the pod's termination grace period.
	GracePeriodSeconds int64
	// Condition is the DisruptionTarget condition to set; nil for
	// local-storage limit evictions, which the kubelet reports without one.
	Condition *corev1.PodCondition
	// Annotations for the Evicted event.
	Annotations map[string]string
}

// Apply sets the pod status fields the kubelet sets on eviction:
// phase Failed, reason Evicted, the message, and the condition.
func (s EvictionStatus) Apply(status *corev1.PodStatus, now metav1.Time) {
	status.Phase = corev1.PodFailed
	status.Reason = Reason
	status.Message = s.Message
	if s.Condition == nil {
		return
	}
	c := *s.Condition
	c.LastTransitionTime = now
	for i := range status.Conditions {
		old := &status.Conditions[i]
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
		}
		*old = c
		return
	}
	status.Conditions = append(status.Conditions, c)
}
