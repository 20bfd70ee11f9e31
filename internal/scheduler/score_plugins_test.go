package scheduler

import (
	"context"
	"math/rand/v2"
	"testing"

	v1 "k8s.io/api/core/v1"
)

func TestSchedulerPrefersLeastAllocatedNode(t *testing.T) {
	alloc := rl("cpu", "4", "memory", "8Gi", "pods", "110")
	s := newTestScheduler(t, []*v1.Node{makeNode("busy", alloc), makeNode("idle", alloc)},
		makePod("a", rl("cpu", "3", "memory", "6Gi"), onNode("busy")))
	for i := 0; i < 20; i++ {
		host, err := s.schedulePod(context.Background(), NewCycleState(), makePod("p", rl("cpu", "500m", "memory", "1Gi")))
		if err != nil || host != "idle" {
			t.Fatalf("host = %q, err = %v; want idle", host, err)
		}
	}
}

func TestSchedulerAvoidsPreferNoScheduleTaint(t *testing.T) {
	alloc := rl("cpu", "4", "memory", "8Gi", "pods", "110")
	s := newTestScheduler(t, []*v1.Node{
		makeNode("tainted", alloc, withTaints(v1.Taint{Key: "k", Effect: v1.TaintEffectPreferNoSchedule})),
		makeNode("clean", alloc),
	})
	for i := 0; i < 20; i++ {
		if host, err := s.schedulePod(context.Background(), NewCycleState(), makePod("p", nil)); err != nil || host != "clean" {
			t.Fatalf("host = %q, err = %v; want clean", host, err)
		}
	}
}

func TestSchedulerFollowsPreferredNodeAffinity(t *testing.T) {
	alloc := rl("cpu", "4", "memory", "8Gi", "pods", "110")
	s := newTestScheduler(t, []*v1.Node{makeNode("a", alloc, withLabels("disk", "hdd")), makeNode("b", alloc, withLabels("disk", "ssd"))})
	pod := makePod("p", nil, func(p *v1.Pod) {
		p.Spec.Affinity = &v1.Affinity{NodeAffinity: &v1.NodeAffinity{PreferredDuringSchedulingIgnoredDuringExecution: []v1.PreferredSchedulingTerm{{
			Weight:     10,
			Preference: v1.NodeSelectorTerm{MatchExpressions: []v1.NodeSelectorRequirement{{Key: "disk", Operator: v1.NodeSelectorOpIn, Values: []string{"ssd"}}}},
		}}}}
	})
	for i := 0; i < 20; i++ {
		if host, err := s.schedulePod(context.Background(), NewCycleState(), pod); err != nil || host != "b" {
			t.Fatalf("host = %q, err = %v; want b", host, err)
		}
	}
}

func TestLeastAllocatedAndBalancedScores(t *testing.T) {
	ctx := context.Background()
	node := nodeInfoFor(makeNode("n", rl("cpu", "4", "memory", "4Gi", "pods", "110")), makePod("a", rl("cpu", "1", "memory", "3Gi"), onNode("n")))
	pod := makePod("p", rl("cpu", "1", "memory", "0"))
	state := NewCycleState()

	fit := NodeResourcesFit{}
	fit.PreScore(ctx, state, pod, nil)
	// cpu: (4000-2000)*100/4000 = 50; memory: (4Gi-3Gi)*100/4Gi = 25; mean 37.
	if got, _ := fit.Score(ctx, state, pod, node); got != 37 {
		t.Errorf("LeastAllocated = %d, want 37", got)
	}
	bal := NodeResourcesBalancedAllocation{}
	if s := bal.PreScore(ctx, state, pod, nil); !s.IsSuccess() {
		t.Fatalf("PreScore: %v", s.Message())
	}
	// fractions 0.5 and 0.75: (1 - 0.25/2) * 100 = 87.
	if got, _ := bal.Score(ctx, state, pod, node); got != 87 {
		t.Errorf("BalancedAllocation = %d, want 87", got)
	}
	if s := bal.PreScore(ctx, NewCycleState(), makePod("be", nil), nil); !s.IsSkip() {
		t.Errorf("best-effort pod PreScore = %v, want Skip", s.Code())
	}
}

func TestSelectHostBreaksTiesAmongTopScores(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	seen := map[string]int{}
	for i := 0; i < 200; i++ {
		h, err := selectHost([]NodeScore{{"a", 10}, {"b", 30}, {"c", 30}}, rnd)
		if err != nil {
			t.Fatal(err)
		}
		seen[h]++
	}
	if seen["a"] != 0 || seen["b"] == 0 || seen["c"] == 0 {
		t.Fatalf("picks = %v; want only b and c, both", seen)
	}
}
