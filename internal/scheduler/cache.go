package scheduler

import (
	"fmt"
	"sort"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// schedulerCache is the scheduler's view of nodes and of the pods occupying
// them: bound, non-terminal pods from the informer plus pods this scheduler
// has assumed onto a node but whose binding the informer has not shown yet.
// Assuming is what keeps back-to-back pods from overcommitting a node.
type schedulerCache struct {
	mu    sync.Mutex
	nodes map[string]*v1.Node
	pods  map[types.UID]*cachedPod
}

type cachedPod struct {
	info    *PodInfo
	assumed bool
}

func newSchedulerCache() *schedulerCache {
	return &schedulerCache{nodes: map[string]*v1.Node{}, pods: map[types.UID]*cachedPod{}}
}

// AddNode / UpdateNode record a node.
func (c *schedulerCache) AddNode(n *v1.Node) {
	c.mu.Lock()
	c.nodes[n.Name] = n
	c.mu.Unlock()
}

// RemoveNode forgets a node; pods still pointing at it stay accounted for
// and reappear if the node comes back.
func (c *schedulerCache) RemoveNode(name string) {
	c.mu.Lock()
	delete(c.nodes, name)
	c.mu.Unlock()
}

// AssumePod accounts pod (spec.nodeName already set) on its node before the
// binding is visible through the informer.
func (c *schedulerCache) AssumePod(pod *v1.Pod) error {
	if pod.Spec.NodeName == "" {
		return fmt.Errorf("cannot assume pod %s/%s without a node", pod.Namespace, pod.Name)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pods[pod.UID]; ok {
		return fmt.Errorf("pod %s/%s (%s) is already in the cache", pod.Namespace, pod.Name, pod.UID)
	}
	c.pods[pod.UID] = &cachedPod{info: NewPodInfo(pod), assumed: true}
	return nil
}

// ForgetPod drops an assumed pod, e.g. when its binding failed.
func (c *schedulerCache) ForgetPod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if cp, ok := c.pods[pod.UID]; ok && cp.assumed {
		delete(c.pods, pod.UID)
	}
}

// IsAssumed reports whether the pod is assumed and not yet confirmed.
func (c *schedulerCache) IsAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	cp, ok := c.pods[uid]
	return ok && cp.assumed
}

// SetPod records a bound pod seen by the informer; this also confirms an
// assumed pod (the informer's copy wins, including its node).
func (c *schedulerCache) SetPod(pod *v1.Pod) {
	c.mu.Lock()
	c.pods[pod.UID] = &cachedPod{info: NewPodInfo(pod)}
	c.mu.Unlock()
}

// RemovePod drops a pod (deleted, or terminal: it no longer holds resources).
func (c *schedulerCache) RemovePod(uid types.UID) {
	c.mu.Lock()
	delete(c.pods, uid)
	c.mu.Unlock()
}

// Snapshot builds the NodeInfos for one scheduling cycle, sorted by node name.
func (c *schedulerCache) Snapshot() []*NodeInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	byName := make(map[string]*NodeInfo, len(c.nodes))
	for name, n := range c.nodes {
		ni := NewNodeInfo()
		ni.SetNode(n)
		byName[name] = ni
	}
	for _, cp := range c.pods {
		if ni, ok := byName[cp.info.Pod.Spec.NodeName]; ok {
			ni.AddPodInfo(cp.info)
		}
	}
	out := make([]*NodeInfo, 0, len(byName))
	for _, ni := range byName {
		out = append(out, ni)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node().Name < out[j].Node().Name })
	return out
}
