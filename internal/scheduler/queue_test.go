package scheduler

import (
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	testingclock "k8s.io/utils/clock/testing"
)

func newTestQueue() (*schedulingQueue, *testingclock.FakeClock) {
	c := testingclock.NewFakeClock(time.Unix(1_000_000, 0))
	return newSchedulingQueue(c), c
}

func TestBackoffDoublesFromOneSecondToTen(t *testing.T) {
	q, _ := newTestQueue()
	want := []time.Duration{0, 1, 2, 4, 8, 10, 10}
	for attempts, w := range want {
		if got := q.backoffDuration(&queuedPodInfo{attempts: attempts}); got != w*time.Second {
			t.Errorf("attempts=%d: backoff %v, want %v", attempts, got, w*time.Second)
		}
	}
}

func TestUnschedulablePodWaitsForClusterEventThenBackoff(t *testing.T) {
	q, clk := newTestQueue()
	pod := makePod("p", nil)
	q.Add(pod)
	pi := q.Pop()
	q.AddUnschedulable(pi, false)
	if len(q.unschedulable) != 1 {
		t.Fatalf("pod not parked in unschedulable")
	}
	q.flushBackoffCompleted()
	if q.active.Len() != 0 {
		t.Fatalf("pod became active without a cluster event")
	}

	q.MoveAllToActiveOrBackoff() // still within its 1s back-off
	if len(q.backoff) != 1 || q.active.Len() != 0 {
		t.Fatalf("moved pod should back off first: backoff=%d active=%d", len(q.backoff), q.active.Len())
	}
	clk.Step(999 * time.Millisecond)
	q.flushBackoffCompleted()
	if q.active.Len() != 0 {
		t.Fatalf("pod left back-off early")
	}
	clk.Step(time.Millisecond)
	q.flushBackoffCompleted()
	if got := q.Pop(); got == nil || got.pod.Name != "p" || got.attempts != 2 {
		t.Fatalf("Pop = %+v, want p on its 2nd attempt", got)
	}
}

func TestClusterEventDuringAttemptSendsPodToBackoff(t *testing.T) {
	q, _ := newTestQueue()
	q.Add(makePod("p", nil))
	pi := q.Pop()
	q.MoveAllToActiveOrBackoff() // e.g. a node was added while p was being scheduled
	q.AddUnschedulable(pi, false)
	if len(q.backoff) != 1 {
		t.Fatalf("pod should retry after back-off, not wait in unschedulable")
	}
}

func TestSchedulerErrorsGoToBackoff(t *testing.T) {
	q, _ := newTestQueue()
	q.Add(makePod("p", nil))
	q.AddUnschedulable(q.Pop(), true)
	if len(q.backoff) != 1 {
		t.Fatalf("errored pod should be in back-off")
	}
}

func TestGatedPodIsHeldUntilGatesAreRemoved(t *testing.T) {
	q, _ := newTestQueue()
	gated := makePod("p", nil, func(p *v1.Pod) { p.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "example.com/wait"}} })
	q.Add(gated)
	if q.active.Len() != 0 || len(q.gated) != 1 {
		t.Fatalf("gated pod must not be active")
	}
	q.MoveAllToActiveOrBackoff()
	if q.active.Len() != 0 {
		t.Fatalf("cluster events must not release a gated pod")
	}
	ungated := gated.DeepCopy()
	ungated.Spec.SchedulingGates = nil
	q.Update(gated, ungated)
	if q.active.Len() != 1 {
		t.Fatalf("pod should be active once its gates are removed")
	}
}

func TestStatusOnlyUpdateDoesNotRequeueUnschedulablePod(t *testing.T) {
	q, _ := newTestQueue()
	pod := makePod("p", nil)
	q.Add(pod)
	q.AddUnschedulable(q.Pop(), false)

	withCondition := pod.DeepCopy()
	withCondition.Status.Conditions = []v1.PodCondition{{Type: v1.PodScheduled, Status: v1.ConditionFalse, Reason: "Unschedulable"}}
	withCondition.ResourceVersion = "2"
	q.Update(pod, withCondition)
	if len(q.unschedulable) != 1 {
		t.Fatalf("the scheduler's own status patch must not requeue the pod")
	}

	relabeled := withCondition.DeepCopy()
	relabeled.Labels = map[string]string{"x": "y"}
	q.Update(withCondition, relabeled)
	if len(q.unschedulable) != 0 || len(q.backoff)+q.active.Len() != 1 {
		t.Fatalf("a spec/metadata change should requeue the pod")
	}
}

func TestActiveQueueOrdersByPriorityThenAge(t *testing.T) {
	q, clk := newTestQueue()
	q.Add(makePod("old-low", nil))
	clk.Step(time.Second)
	q.Add(makePod("new-high", nil, priority(1000)))
	clk.Step(time.Second)
	q.Add(makePod("new-low", nil))
	for _, want := range []string{"new-high", "old-low", "new-low"} {
		if got := q.Pop(); got.pod.Name != want {
			t.Fatalf("popped %s, want %s", got.pod.Name, want)
		}
	}
}
