package scheduler

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
)

var podsGVR = v1.SchemeGroupVersion.WithResource("pods")

type harness struct {
	t      *testing.T
	client *fake.Clientset
	binds  atomic.Int32
	// bindHook, if set, decides a binding's fate: return an error to fail it,
	// or skipStore to "succeed" without the store seeing the binding yet.
	bindHook func(b *v1.Binding) (skipStore bool, err error)
}

func newHarness(t *testing.T, objs ...runtime.Object) *harness {
	h := &harness{t: t, client: fake.NewClientset(objs...)}
	// The fake clientset does not implement pods/binding: emulate the API
	// server, which sets spec.nodeName and PodScheduled=True.
	h.client.PrependReactor("create", "pods", func(action k8stesting.Action) (bool, runtime.Object, error) {
		ca, ok := action.(k8stesting.CreateAction)
		if !ok || ca.GetSubresource() != "binding" {
			return false, nil, nil
		}
		b := ca.GetObject().(*v1.Binding)
		if h.bindHook != nil {
			skip, err := h.bindHook(b)
			if err != nil {
				return true, nil, err
			}
			if skip {
				h.binds.Add(1)
				return true, b, nil
			}
		}
		obj, err := h.client.Tracker().Get(podsGVR, b.Namespace, b.Name)
		if err != nil {
			return true, nil, err
		}
		pod := obj.(*v1.Pod).DeepCopy()
		if pod.Spec.NodeName != "" {
			return true, nil, fmt.Errorf("pod %s is already assigned to node %q", pod.Name, pod.Spec.NodeName)
		}
		pod.Spec.NodeName = b.Target.Name
		updatePodCondition(&pod.Status, &v1.PodCondition{Type: v1.PodScheduled, Status: v1.ConditionTrue}, metav1.Now())
		if err := h.client.Tracker().Update(podsGVR, pod, b.Namespace); err != nil {
			return true, nil, err
		}
		h.binds.Add(1)
		return true, b, nil
	})
	return h
}

func (h *harness) start() {
	s, err := New(Config{Client: h.client, Logger: quietLogger()})
	if err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				h.t.Errorf("Run returned %v", err)
			}
		case <-time.After(10 * time.Second):
			h.t.Errorf("Run did not return after cancel")
		}
	})
}

func (h *harness) pod(name string) *v1.Pod {
	p, err := h.client.CoreV1().Pods("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		h.t.Fatalf("get pod %s: %v", name, err)
	}
	return p
}

func (h *harness) eventually(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *harness) events(reason string) []v1.Event {
	list, err := h.client.CoreV1().Events("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []v1.Event
	for _, e := range list.Items {
		if e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

func podScheduledCondition(p *v1.Pod) *v1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == v1.PodScheduled {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func (h *harness) statusPatches(name string) int {
	n := 0
	for _, a := range h.client.Actions() {
		if pa, ok := a.(k8stesting.PatchAction); ok && pa.GetSubresource() == "status" && pa.GetName() == name {
			n++
		}
	}
	return n
}

func TestRunBindsPendingPodAndRecordsScheduledEvent(t *testing.T) {
	h := newHarness(t, makeNode("n1", rl("cpu", "2", "memory", "4Gi", "pods", "110")), makePod("web", rl("cpu", "500m")))
	h.start()
	h.eventually("pod bound", func() bool { return h.pod("web").Spec.NodeName == "n1" })
	h.eventually("Scheduled event", func() bool { return len(h.events("Scheduled")) == 1 })
	e := h.events("Scheduled")[0]
	if e.Type != v1.EventTypeNormal || e.Message != "Successfully assigned default/web to n1" ||
		e.Source.Component != "default-scheduler" || e.ReportingController != "default-scheduler" ||
		e.InvolvedObject.Kind != "Pod" || e.InvolvedObject.Name != "web" {
		t.Fatalf("unexpected event: %+v", e)
	}
}

func TestRunIgnoresPodsForOtherSchedulers(t *testing.T) {
	other := makePod("other", nil, func(p *v1.Pod) { p.Spec.SchedulerName = "my-scheduler" })
	h := newHarness(t, makeNode("n1", rl("cpu", "2", "pods", "110")), other, makePod("mine", nil))
	h.start()
	h.eventually("own pod bound", func() bool { return h.pod("mine").Spec.NodeName == "n1" })
	time.Sleep(200 * time.Millisecond)
	if got := h.pod("other"); got.Spec.NodeName != "" || len(got.Status.Conditions) != 0 {
		t.Fatalf("pod of another scheduler was touched: %+v", got.Status)
	}
}

func TestRunMarksPodUnschedulableThenBindsItWhenANodeIsAdded(t *testing.T) {
	h := newHarness(t, makeNode("small", rl("cpu", "1", "pods", "110")), makePod("big", rl("cpu", "2")))
	h.start()
	want := "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
	h.eventually("Unschedulable condition", func() bool {
		c := podScheduledCondition(h.pod("big"))
		return c != nil && c.Status == v1.ConditionFalse && c.Reason == "Unschedulable" && c.Message == want
	})
	h.eventually("FailedScheduling event", func() bool {
		ev := h.events("FailedScheduling")
		return len(ev) == 1 && ev[0].Type == v1.EventTypeWarning && ev[0].Message == want
	})

	_, err := h.client.CoreV1().Nodes().Create(context.Background(), makeNode("large", rl("cpu", "4", "pods", "110")), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	h.eventually("pod bound to the new node", func() bool { return h.pod("big").Spec.NodeName == "large" })
}

func TestRunPatchesConditionOnlyWhenItChanges(t *testing.T) {
	node := makeNode("small", rl("cpu", "1", "pods", "110"))
	h := newHarness(t, node, makePod("big", rl("cpu", "2")))
	h.start()
	h.eventually("first failure", func() bool { return podScheduledCondition(h.pod("big")) != nil })

	// Label changes requeue the pod; each retry fails the same way.
	for i := 0; i < 2; i++ {
		n, err := h.client.CoreV1().Nodes().Get(context.Background(), "small", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		n.Labels[fmt.Sprintf("touch-%d", i)] = "x"
		if _, err := h.client.CoreV1().Nodes().Update(context.Background(), n, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		attempts := i + 2
		h.eventually(fmt.Sprintf("attempt %d recorded", attempts), func() bool {
			ev := h.events("FailedScheduling")
			return len(ev) == 1 && ev[0].Count == int32(attempts)
		})
	}
	if got := h.statusPatches("big"); got != 1 {
		t.Fatalf("status patched %d times for an unchanged condition, want 1", got)
	}
}

func TestRunDoesNotOvercommitBeforeInformerSeesBindings(t *testing.T) {
	h := newHarness(t, makeNode("n1", rl("cpu", "1", "pods", "110")),
		makePod("a", rl("cpu", "400m")), makePod("b", rl("cpu", "400m")), makePod("c", rl("cpu", "400m")))
	// Bindings succeed but the store (and so the informer) never shows them:
	// only the scheduler's assumed pods account for the used cpu.
	h.bindHook = func(*v1.Binding) (bool, error) { return true, nil }
	h.start()
	var unschedulable string
	h.eventually("one pod left unschedulable", func() bool {
		for _, name := range []string{"a", "b", "c"} {
			if c := podScheduledCondition(h.pod(name)); c != nil && c.Reason == "Unschedulable" {
				unschedulable = name
				return true
			}
		}
		return false
	})
	h.eventually("two bindings", func() bool { return h.binds.Load() == 2 })
	time.Sleep(200 * time.Millisecond)
	if got := h.binds.Load(); got != 2 {
		t.Fatalf("%d pods bound to a 1-cpu node with 400m each, want 2", got)
	}
	want := "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: 1 No preemption victims found for incoming pod."
	if c := podScheduledCondition(h.pod(unschedulable)); c.Message != want {
		t.Fatalf("message = %q, want %q", c.Message, want)
	}
}

func TestRunForgetsAssumedPodWhenBindingFailsAndRetries(t *testing.T) {
	h := newHarness(t, makeNode("n1", rl("cpu", "1", "pods", "110")), makePod("p", rl("cpu", "600m")))
	var failed atomic.Bool
	h.bindHook = func(*v1.Binding) (bool, error) {
		if failed.CompareAndSwap(false, true) {
			return false, errors.New("etcd is having a bad day")
		}
		return false, nil
	}
	h.start()
	// If the failed attempt's reservation were kept, 600m would not fit twice.
	h.eventually("pod bound on retry", func() bool { return h.pod("p").Spec.NodeName == "n1" })
	ev := h.events("FailedScheduling")
	if len(ev) != 1 || !strings.Contains(ev[0].Message, "etcd is having a bad day") {
		t.Fatalf("FailedScheduling events = %+v, want the binding error", ev)
	}
}

func TestRunSetsSchedulingGatedConditionAndWaitsForGates(t *testing.T) {
	gated := makePod("gated", nil, func(p *v1.Pod) { p.Spec.SchedulingGates = []v1.PodSchedulingGate{{Name: "example.com/quota"}} })
	h := newHarness(t, makeNode("n1", rl("cpu", "1", "pods", "110")), gated)
	h.start()
	h.eventually("SchedulingGated condition", func() bool {
		c := podScheduledCondition(h.pod("gated"))
		return c != nil && c.Status == v1.ConditionFalse && c.Reason == "SchedulingGated" &&
			c.Message == "Scheduling is blocked due to non-empty scheduling gates"
	})
	time.Sleep(200 * time.Millisecond)
	if h.binds.Load() != 0 {
		t.Fatalf("gated pod was bound")
	}
	p := h.pod("gated")
	p.Spec.SchedulingGates = nil
	if _, err := h.client.CoreV1().Pods("default").Update(context.Background(), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually("pod bound after gates removed", func() bool { return h.pod("gated").Spec.NodeName == "n1" })
}

func TestRunRequeuesWhenABoundPodFinishes(t *testing.T) {
	running := makePod("running", rl("cpu", "800m"), onNode("n1"))
	running.Status.Phase = v1.PodRunning
	h := newHarness(t, makeNode("n1", rl("cpu", "1", "pods", "110")), running, makePod("waiting", rl("cpu", "500m")))
	h.start()
	h.eventually("waiting pod unschedulable", func() bool {
		c := podScheduledCondition(h.pod("waiting"))
		return c != nil && c.Reason == "Unschedulable"
	})
	done := h.pod("running")
	done.Status.Phase = v1.PodSucceeded
	if _, err := h.client.CoreV1().Pods("default").UpdateStatus(context.Background(), done, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	h.eventually("waiting pod bound", func() bool { return h.pod("waiting").Spec.NodeName == "n1" })
}

func TestRunWithNoNodesReportsNoNodesAvailable(t *testing.T) {
	h := newHarness(t, makePod("p", nil))
	h.start()
	h.eventually("no-nodes condition", func() bool {
		c := podScheduledCondition(h.pod("p"))
		return c != nil && c.Reason == "Unschedulable" && c.Message == "no nodes available to schedule pods"
	})
}
