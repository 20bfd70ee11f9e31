package scheduler

import (
	"container/heap"
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Upstream's defaults (podInitialBackoffSeconds, podMaxBackoffSeconds,
// podMaxInUnschedulablePodsDuration and the flush periods).
const (
	defaultPodInitialBackoff   = 1 * time.Second
	defaultPodMaxBackoff       = 10 * time.Second
	podMaxInUnschedulablePods  = 5 * time.Minute
	backoffFlushPeriod         = 1 * time.Second
	unschedulableFlushInterval = 30 * time.Second
)

// queuedPodInfo is a pod waiting in the scheduling queue.
type queuedPodInfo struct {
	pod *v1.Pod
	// timestamp is when the pod was (re)queued; it orders equal-priority pods
	// and is the start of its back-off.
	timestamp time.Time
	// attempts counts scheduling attempts; back-off is 1s doubled per
	// further attempt, capped at 10s.
	attempts int
	// cycle is the scheduling cycle in which the pod was last popped.
	cycle int64
	index int // position in the active heap
}

func podKey(p *v1.Pod) string { return p.Namespace + "/" + p.Name }

// inFlight tracks a popped pod until its attempt is settled.
type inFlight struct {
	latest  *v1.Pod // the newest copy seen while the pod was being scheduled
	changed bool    // its spec or metadata changed meanwhile
}

// schedulingQueue is a small version of upstream's PriorityQueue: an active
// heap (higher priority first, then older first), a back-off set, an
// unschedulable set woken by cluster events, and the scheduling-gated set.
type schedulingQueue struct {
	mu             sync.Mutex
	cond           *sync.Cond
	clock          clock.WithTicker
	initialBackoff time.Duration
	maxBackoff     time.Duration

	active        activeHeap
	backoff       map[string]*queuedPodInfo
	unschedulable map[string]*queuedPodInfo
	gated         map[string]*queuedPodInfo
	inFlight      map[types.UID]*inFlight

	schedulingCycle  int64
	moveRequestCycle int64
	closed           bool
}

func newSchedulingQueue(c clock.WithTicker) *schedulingQueue {
	q := &schedulingQueue{
		clock:            c,
		initialBackoff:   defaultPodInitialBackoff,
		maxBackoff:       defaultPodMaxBackoff,
		backoff:          map[string]*queuedPodInfo{},
		unschedulable:    map[string]*queuedPodInfo{},
		gated:            map[string]*queuedPodInfo{},
		inFlight:         map[types.UID]*inFlight{},
		moveRequestCycle: -1,
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// Run moves pods whose back-off ended to active every second, and pods stuck
// in unschedulable for 5 minutes every 30 seconds, until ctx is done.
func (q *schedulingQueue) Run(ctx context.Context) {
	t1, t2 := q.clock.NewTicker(backoffFlushPeriod), q.clock.NewTicker(unschedulableFlushInterval)
	defer t1.Stop()
	defer t2.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t1.C():
			q.flushBackoffCompleted()
		case <-t2.C():
			q.flushUnschedulableLeftover()
		}
	}
}

// Close wakes Pop callers; Pop then returns nil.
func (q *schedulingQueue) Close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.cond.Broadcast()
}

func isGated(p *v1.Pod) bool { return len(p.Spec.SchedulingGates) > 0 }

func (q *schedulingQueue) removeLocked(key string) *queuedPodInfo {
	if pi, ok := q.backoff[key]; ok {
		delete(q.backoff, key)
		return pi
	}
	if pi, ok := q.unschedulable[key]; ok {
		delete(q.unschedulable, key)
		return pi
	}
	if pi, ok := q.gated[key]; ok {
		delete(q.gated, key)
		return pi
	}
	if pi := q.active.get(key); pi != nil {
		heap.Remove(&q.active, pi.index)
		return pi
	}
	return nil
}

func (q *schedulingQueue) toActiveLocked(pi *queuedPodInfo) {
	heap.Push(&q.active, pi)
	q.cond.Broadcast()
}

// Add queues a new pod: scheduling-gated pods wait in the gated set.
func (q *schedulingQueue) Add(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	key := podKey(pod)
	pi := q.removeLocked(key)
	if pi == nil || pi.pod.UID != pod.UID {
		pi = &queuedPodInfo{timestamp: q.clock.Now()}
	}
	pi.pod = pod
	if isGated(pod) {
		q.gated[key] = pi
		return
	}
	q.toActiveLocked(pi)
}

// Update refreshes a queued pod. A pod whose scheduling gates were removed,
// or an unschedulable pod whose spec/metadata changed (not just its
// status), is moved on to be retried, as upstream.
func (q *schedulingQueue) Update(oldPod, newPod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if f, ok := q.inFlight[newPod.UID]; ok {
		f.latest = newPod
		f.changed = f.changed || oldPod == nil || podSpecOrMetaChanged(oldPod, newPod)
		return
	}
	key := podKey(newPod)
	switch {
	case q.active.get(key) != nil:
		pi := q.active.get(key)
		pi.pod = newPod
		heap.Fix(&q.active, pi.index)
	case q.backoff[key] != nil:
		q.backoff[key].pod = newPod
	case q.gated[key] != nil:
		pi := q.gated[key]
		pi.pod = newPod
		if !isGated(newPod) {
			delete(q.gated, key)
			q.toActiveLocked(pi)
		}
	case q.unschedulable[key] != nil:
		pi := q.unschedulable[key]
		pi.pod = newPod
		if oldPod != nil && podSpecOrMetaChanged(oldPod, newPod) {
			delete(q.unschedulable, key)
			q.requeueLocked(pi)
		}
	default:
		pi := &queuedPodInfo{pod: newPod, timestamp: q.clock.Now()}
		if isGated(newPod) {
			q.gated[key] = pi
			return
		}
		q.toActiveLocked(pi)
	}
}

// podSpecOrMetaChanged ignores status, resourceVersion, generation and
// managedFields, so that the scheduler's own status patches do not requeue.
func podSpecOrMetaChanged(a, b *v1.Pod) bool {
	strip := func(p *v1.Pod) *v1.Pod {
		c := p.DeepCopy()
		c.ResourceVersion, c.Generation, c.ManagedFields = "", 0, nil
		c.Status = v1.PodStatus{}
		return c
	}
	return !equality.Semantic.DeepEqual(strip(a), strip(b))
}

// Delete drops a pod from the queue.
func (q *schedulingQueue) Delete(pod *v1.Pod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.removeLocked(podKey(pod))
}

// Pop blocks until a pod is active, then hands it out for one attempt. It
// returns nil once the queue is closed.
func (q *schedulingQueue) Pop() *queuedPodInfo {
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil
	}
	pi := heap.Pop(&q.active).(*queuedPodInfo)
	q.schedulingCycle++
	pi.cycle = q.schedulingCycle
	pi.attempts++
	q.inFlight[pi.pod.UID] = &inFlight{}
	return pi
}

// Done ends the attempt of a pod that will not be requeued (bound, or gone).
func (q *schedulingQueue) Done(uid types.UID) {
	q.mu.Lock()
	delete(q.inFlight, uid)
	q.mu.Unlock()
}

// AddUnschedulable requeues a pod after a failed attempt. Errors go to
// back-off; rejected pods wait for a cluster event in unschedulable, unless
// an event (or an update of the pod) arrived during the attempt, in which
// case they go to back-off right away (upstream moveRequestCycle logic).
func (q *schedulingQueue) AddUnschedulable(pi *queuedPodInfo, isError bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	f := q.inFlight[pi.pod.UID]
	delete(q.inFlight, pi.pod.UID)
	key := podKey(pi.pod)
	if q.active.get(key) != nil || q.backoff[key] != nil || q.unschedulable[key] != nil || q.gated[key] != nil {
		return
	}
	updated := f != nil && f.changed
	if f != nil && f.latest != nil {
		pi.pod = f.latest
	}
	pi.timestamp = q.clock.Now()
	if isError || updated || q.moveRequestCycle >= pi.cycle {
		q.backoff[key] = pi
		return
	}
	q.unschedulable[key] = pi
}

func (q *schedulingQueue) backoffDuration(pi *queuedPodInfo) time.Duration {
	if pi.attempts == 0 {
		return 0
	}
	d := q.initialBackoff
	for i := 1; i < pi.attempts; i++ {
		if d > q.maxBackoff-d {
			return q.maxBackoff
		}
		d += d
	}
	return d
}

func (q *schedulingQueue) isBackingOff(pi *queuedPodInfo) bool {
	return pi.timestamp.Add(q.backoffDuration(pi)).After(q.clock.Now())
}

func (q *schedulingQueue) requeueLocked(pi *queuedPodInfo) {
	if q.isBackingOff(pi) {
		q.backoff[podKey(pi.pod)] = pi
		return
	}
	q.toActiveLocked(pi)
}

// MoveAllToActiveOrBackoff is called on cluster events that may make
// unschedulable pods fit (node added/changed, bound pod deleted or
// finished): they move to active, or to back-off if still backing off.
func (q *schedulingQueue) MoveAllToActiveOrBackoff() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for key, pi := range q.unschedulable {
		delete(q.unschedulable, key)
		q.requeueLocked(pi)
	}
	q.moveRequestCycle = q.schedulingCycle
}

func (q *schedulingQueue) flushBackoffCompleted() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for key, pi := range q.backoff {
		if !q.isBackingOff(pi) {
			delete(q.backoff, key)
			q.toActiveLocked(pi)
		}
	}
}

func (q *schedulingQueue) flushUnschedulableLeftover() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for key, pi := range q.unschedulable {
		if now.Sub(pi.timestamp) > podMaxInUnschedulablePods {
			delete(q.unschedulable, key)
			q.requeueLocked(pi)
		}
	}
}
