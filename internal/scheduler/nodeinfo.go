package scheduler

import (
	"fmt"
	"strings"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
)

// Defaults the scheduler assumes for a container that requests no cpu or
// memory, used only for scoring (upstream schedutil.DefaultMilliCPURequest
// and DefaultMemoryRequest) so that request-less pods still spread.
const (
	defaultMilliCPURequest int64 = 100               // 0.1 core
	defaultMemoryRequest   int64 = 200 * 1024 * 1024 // 200 MiB
)

// Resource is a pod's requests or a node's allocatable, in the units the
// filters compare: milli-cpu, bytes, and plain counts for the rest.
type Resource struct {
	MilliCPU         int64
	Memory           int64
	EphemeralStorage int64
	AllowedPodNumber int
	// ScalarResources holds extended resources, hugepages and other
	// "kubernetes.io/" prefixed native resources.
	ScalarResources map[v1.ResourceName]int64
}

// NewResource converts a ResourceList.
func NewResource(rl v1.ResourceList) *Resource {
	r := &Resource{}
	r.Add(rl)
	return r
}

// Add adds a ResourceList into r.
func (r *Resource) Add(rl v1.ResourceList) {
	for name, q := range rl {
		switch name {
		case v1.ResourceCPU:
			r.MilliCPU += q.MilliValue()
		case v1.ResourceMemory:
			r.Memory += q.Value()
		case v1.ResourcePods:
			r.AllowedPodNumber += int(q.Value())
		case v1.ResourceEphemeralStorage:
			r.EphemeralStorage += q.Value()
		default:
			if isScalarResourceName(name) {
				r.addScalar(name, q.Value())
			}
		}
	}
}

func (r *Resource) addScalar(name v1.ResourceName, v int64) {
	if r.ScalarResources == nil {
		r.ScalarResources = map[v1.ResourceName]int64{}
	}
	r.ScalarResources[name] += v
}

func (r *Resource) addResource(o *Resource, sign int64) {
	r.MilliCPU += sign * o.MilliCPU
	r.Memory += sign * o.Memory
	r.EphemeralStorage += sign * o.EphemeralStorage
	r.AllowedPodNumber += int(sign) * o.AllowedPodNumber
	for k, v := range o.ScalarResources {
		r.addScalar(k, sign*v)
	}
}

// Clone returns a deep copy.
func (r *Resource) Clone() *Resource {
	c := *r
	if r.ScalarResources != nil {
		c.ScalarResources = make(map[v1.ResourceName]int64, len(r.ScalarResources))
		for k, v := range r.ScalarResources {
			c.ScalarResources[k] = v
		}
	}
	return &c
}

// isScalarResourceName mirrors upstream schedutil.IsScalarResourceName:
// extended resources, hugepages, "kubernetes.io/"-prefixed native resources
// and attachable volume counts.
func isScalarResourceName(name v1.ResourceName) bool {
	s := string(name)
	return isExtendedResourceName(name) ||
		strings.HasPrefix(s, v1.ResourceHugePagesPrefix) ||
		strings.Contains(s, v1.ResourceDefaultNamespacePrefix) ||
		strings.HasPrefix(s, v1.ResourceAttachableVolumesPrefix)
}

// isExtendedResourceName: a name with a domain that is not kubernetes.io and
// that is not a quota "requests." name (upstream v1helper).
func isExtendedResourceName(name v1.ResourceName) bool {
	s := string(name)
	if !strings.Contains(s, "/") || strings.Contains(s, v1.ResourceDefaultNamespacePrefix) {
		return false
	}
	return !strings.HasPrefix(s, v1.DefaultResourceRequestsPrefix)
}

// PodInfo is a pod plus what the scheduler derives from it once.
type PodInfo struct {
	Pod *v1.Pod
	// Requests is what the pod occupies on its node (PodRequests, incl.
	// init containers, sidecars and overhead).
	Requests *Resource
	// NonZeroCPU/NonZeroMem are the requests with the scoring defaults
	// substituted for containers that request nothing.
	NonZeroCPU int64
	NonZeroMem int64
	// HostPorts are the host ports the pod binds (see getHostPorts).
	HostPorts []v1.ContainerPort
}

// NewPodInfo computes the scheduler's view of a pod. Status resources are
// honoured for bound pods (in-place resize), as upstream NodeInfo does.
func NewPodInfo(pod *v1.Pod) *PodInfo {
	opts := resourcehelper.PodResourcesOptions{UseStatusResources: pod.Spec.NodeName != ""}
	reqs := resourcehelper.PodRequests(pod, opts)
	non0 := reqs
	if nm := nonMissingContainerRequests(pod, reqs); len(nm) > 0 {
		opts.NonMissingContainerRequests = nm
		non0 = resourcehelper.PodRequests(pod, opts)
	}
	cpu, mem := non0[v1.ResourceCPU], non0[v1.ResourceMemory]
	return &PodInfo{
		Pod:        pod,
		Requests:   NewResource(reqs),
		NonZeroCPU: cpu.MilliValue(),
		NonZeroMem: mem.Value(),
		HostPorts:  getHostPorts(pod),
	}
}

// nonMissingContainerRequests follows upstream getNonMissingContainerRequests:
// without pod-level requests every container missing a cpu/memory request
// counts the defaults; with pod-level requests only resources missing at
// both levels do.
func nonMissingContainerRequests(pod *v1.Pod, requests v1.ResourceList) v1.ResourceList {
	cpu := *resource.NewMilliQuantity(defaultMilliCPURequest, resource.DecimalSI)
	mem := *resource.NewQuantity(defaultMemoryRequest, resource.DecimalSI)
	if !resourcehelper.IsPodLevelRequestsSet(pod) {
		return v1.ResourceList{v1.ResourceCPU: cpu, v1.ResourceMemory: mem}
	}
	out := v1.ResourceList{}
	if _, ok := requests[v1.ResourceCPU]; !ok {
		out[v1.ResourceCPU] = cpu
	}
	if _, ok := requests[v1.ResourceMemory]; !ok {
		out[v1.ResourceMemory] = mem
	}
	return out
}

// NodeInfo is a node plus the pods the scheduler considers to be on it
// (bound, non-terminal pods and pods assumed by this scheduler).
type NodeInfo struct {
	node             *v1.Node
	pods             []*PodInfo
	requested        *Resource
	nonZeroRequested *Resource
	allocatable      *Resource
	usedPorts        HostPortInfo
}

// NewNodeInfo returns a NodeInfo holding the given pods and no node.
func NewNodeInfo(pods ...*v1.Pod) *NodeInfo {
	n := &NodeInfo{requested: &Resource{}, nonZeroRequested: &Resource{}, allocatable: &Resource{}, usedPorts: HostPortInfo{}}
	for _, p := range pods {
		n.AddPodInfo(NewPodInfo(p))
	}
	return n
}

// SetNode sets the node and its allocatable.
func (n *NodeInfo) SetNode(node *v1.Node) {
	n.node = node
	n.allocatable = NewResource(node.Status.Allocatable)
}

// Node returns the node (nil if not set).
func (n *NodeInfo) Node() *v1.Node { return n.node }

// Pods returns the pods on the node.
func (n *NodeInfo) Pods() []*PodInfo { return n.pods }

// Requested is the sum of the requests of the pods on the node.
func (n *NodeInfo) Requested() *Resource { return n.requested }

// NonZeroRequested is Requested with the scoring defaults for cpu/memory.
func (n *NodeInfo) NonZeroRequested() *Resource { return n.nonZeroRequested }

// Allocatable is the node's status.allocatable.
func (n *NodeInfo) Allocatable() *Resource { return n.allocatable }

// UsedPorts returns the host ports in use on the node.
func (n *NodeInfo) UsedPorts() HostPortInfo { return n.usedPorts }

// AddPodInfo accounts a pod on the node.
func (n *NodeInfo) AddPodInfo(pi *PodInfo) {
	n.pods = append(n.pods, pi)
	n.requested.addResource(pi.Requests, 1)
	n.nonZeroRequested.MilliCPU += pi.NonZeroCPU
	n.nonZeroRequested.Memory += pi.NonZeroMem
	for _, p := range pi.HostPorts {
		n.usedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
	}
}

// RemovePod removes a pod (by UID) and its accounting from the node.
func (n *NodeInfo) RemovePod(pod *v1.Pod) error {
	for i, pi := range n.pods {
		if pi.Pod.UID != pod.UID {
			continue
		}
		n.pods = append(n.pods[:i:i], n.pods[i+1:]...)
		n.requested.addResource(pi.Requests, -1)
		n.nonZeroRequested.MilliCPU -= pi.NonZeroCPU
		n.nonZeroRequested.Memory -= pi.NonZeroMem
		n.usedPorts = HostPortInfo{}
		for _, other := range n.pods {
			for _, p := range other.HostPorts {
				n.usedPorts.Add(p.HostIP, string(p.Protocol), p.HostPort)
			}
		}
		return nil
	}
	return fmt.Errorf("pod %s/%s not found on node", pod.Namespace, pod.Name)
}

// Clone returns a copy that can be modified (used for preemption dry runs).
func (n *NodeInfo) Clone() *NodeInfo {
	c := &NodeInfo{
		node:             n.node,
		pods:             append([]*PodInfo(nil), n.pods...),
		requested:        n.requested.Clone(),
		nonZeroRequested: n.nonZeroRequested.Clone(),
		allocatable:      n.allocatable.Clone(),
		usedPorts:        HostPortInfo{},
	}
	for ip, m := range n.usedPorts {
		c.usedPorts[ip] = make(map[protocolPort]struct{}, len(m))
		for k := range m {
			c.usedPorts[ip][k] = struct{}{}
		}
	}
	return c
}
