package scheduler

import corev1helpers "k8s.io/component-helpers/scheduling/corev1"

// activeHeap orders pods by priority (higher first), then by timestamp.
type activeHeap struct {
	items []*queuedPodInfo
	byKey map[string]*queuedPodInfo
}

func (h *activeHeap) get(key string) *queuedPodInfo { return h.byKey[key] }
func (h activeHeap) Len() int                       { return len(h.items) }
func (h activeHeap) Less(i, j int) bool {
	p1, p2 := corev1helpers.PodPriority(h.items[i].pod), corev1helpers.PodPriority(h.items[j].pod)
	if p1 != p2 {
		return p1 > p2
	}
	return h.items[i].timestamp.Before(h.items[j].timestamp)
}
func (h activeHeap) Swap(i, j int) {
	h.items[i], h.items[j] = h.items[j], h.items[i]
	h.items[i].index, h.items[j].index = i, j
}
func (h *activeHeap) Push(x any) {
	pi := x.(*queuedPodInfo)
	if h.byKey == nil {
		h.byKey = map[string]*queuedPodInfo{}
	}
	pi.index = len(h.items)
	h.items = append(h.items, pi)
	h.byKey[podKey(pi.pod)] = pi
}
func (h *activeHeap) Pop() any {
	n := len(h.items)
	pi := h.items[n-1]
	h.items = h.items[:n-1]
	delete(h.byKey, podKey(pi.pod))
	return pi
}
