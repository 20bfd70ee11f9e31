package nodeipam

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	clienttesting "k8s.io/client-go/testing"
)

func newNode(name string, podCIDRs ...string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if len(podCIDRs) > 0 {
		n.Spec.PodCIDR, n.Spec.PodCIDRs = podCIDRs[0], podCIDRs
	}
	return n
}

// start runs a controller on a fake API holding nodes until the test ends.
func start(t *testing.T, cfg Config, nodes ...*corev1.Node) *fake.Clientset {
	t.Helper()
	return startWith(t, cfg, newClient(t, nodes...))
}

func newClient(t *testing.T, nodes ...*corev1.Node) *fake.Clientset {
	t.Helper()
	client := fake.NewClientset()
	for _, n := range nodes {
		if _, err := client.CoreV1().Nodes().Create(t.Context(), n, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	return client
}

func startWith(t *testing.T, cfg Config, client *fake.Clientset) *fake.Clientset {
	t.Helper()
	factory := informers.NewSharedInformerFactory(client, 0)
	cfg.Client, cfg.Factory = client, factory
	if testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; factory.Shutdown() })
	return client
}

// waitForPodCIDR returns the node's pod CIDR once it has one.
func waitForPodCIDR(t *testing.T, client *fake.Clientset, name string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		n, err := client.CoreV1().Nodes().Get(t.Context(), name, metav1.GetOptions{})
		if err == nil && n.Spec.PodCIDR != "" && len(n.Spec.PodCIDRs) > 0 {
			if !slices.Equal(n.Spec.PodCIDRs, []string{n.Spec.PodCIDR}) {
				t.Fatalf("node %s: podCIDR %s but podCIDRs %v", name, n.Spec.PodCIDR, n.Spec.PodCIDRs)
			}
			return n.Spec.PodCIDR
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s got no pod CIDR (err %v)", name, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// updatesOf counts the updates of a node.
func updatesOf(client *fake.Clientset, name string) int {
	count := 0
	for _, a := range client.Actions() {
		if u, ok := a.(clienttesting.UpdateAction); ok && a.GetVerb() == "update" && u.GetResource().Resource == "nodes" {
			if n, ok := u.GetObject().(*corev1.Node); ok && n.Name == name {
				count++
			}
		}
	}
	return count
}

func TestNodesWithoutPodCIDRGetTheFirstFreeSubnetsEachItsOwn(t *testing.T) {
	client := start(t, Config{}, newNode("a"), newNode("b"), newNode("c"))
	var got []string
	for _, name := range []string{"a", "b", "c"} {
		got = append(got, waitForPodCIDR(t, client, name))
	}
	slices.Sort(got)
	if want := []string{"10.42.0.0/24", "10.42.1.0/24", "10.42.2.0/24"}; !slices.Equal(got, want) {
		t.Fatalf("assigned %v, want %v", got, want)
	}
}

func TestExistingPodCIDRsAreNeverHandedOutAgain(t *testing.T) {
	client := start(t, Config{},
		newNode("old-a", "10.42.0.0/24"), newNode("old-b", "10.42.2.0/24"),
		newNode("new-c"), newNode("new-d"))
	got := []string{waitForPodCIDR(t, client, "new-c"), waitForPodCIDR(t, client, "new-d")}
	slices.Sort(got)
	if want := []string{"10.42.1.0/24", "10.42.3.0/24"}; !slices.Equal(got, want) {
		t.Fatalf("new nodes got %v, want %v", got, want)
	}
	for _, name := range []string{"old-a", "old-b"} {
		if n := updatesOf(client, name); n != 0 {
			t.Fatalf("node %s with a pod CIDR was updated %d times", name, n)
		}
	}
}

func TestNodeAddedLaterGetsTheNextSubnet(t *testing.T) {
	client := start(t, Config{}, newNode("a"))
	if got := waitForPodCIDR(t, client, "a"); got != "10.42.0.0/24" {
		t.Fatalf("a got %s", got)
	}
	if _, err := client.CoreV1().Nodes().Create(t.Context(), newNode("b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := waitForPodCIDR(t, client, "b"); got != "10.42.1.0/24" {
		t.Fatalf("b got %s, want 10.42.1.0/24", got)
	}
}

func TestHalfSetPodCIDRFieldsAreCompleted(t *testing.T) {
	onlyOld := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "only-podcidr"}, Spec: corev1.NodeSpec{PodCIDR: "10.42.7.0/24"}}
	onlyNew := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "only-podcidrs"}, Spec: corev1.NodeSpec{PodCIDRs: []string{"10.42.8.0/24"}}}
	client := start(t, Config{}, onlyOld, onlyNew, newNode("fresh"))
	if got := waitForPodCIDR(t, client, "only-podcidr"); got != "10.42.7.0/24" {
		t.Fatalf("only-podcidr now %s", got)
	}
	if got := waitForPodCIDR(t, client, "only-podcidrs"); got != "10.42.8.0/24" {
		t.Fatalf("only-podcidrs now %s", got)
	}
	if got := waitForPodCIDR(t, client, "fresh"); got != "10.42.0.0/24" {
		t.Fatalf("fresh got %s", got)
	}
}

func TestExhaustedClusterCIDRWaitsForADeletedNodesSubnet(t *testing.T) {
	client := start(t, Config{ClusterCIDR: cidr(t, "10.99.0.0/23"), NodeMaskSize: 24}, newNode("a"), newNode("b"))
	cidrA, cidrB := waitForPodCIDR(t, client, "a"), waitForPodCIDR(t, client, "b")
	if cidrA == cidrB {
		t.Fatalf("a and b both got %s", cidrA)
	}
	if _, err := client.CoreV1().Nodes().Create(t.Context(), newNode("c"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)
	if n, _ := client.CoreV1().Nodes().Get(t.Context(), "c", metav1.GetOptions{}); n.Spec.PodCIDR != "" {
		t.Fatalf("c got %s from an exhausted cluster CIDR", n.Spec.PodCIDR)
	}
	if err := client.CoreV1().Nodes().Delete(t.Context(), "a", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := waitForPodCIDR(t, client, "c"); got != cidrA {
		t.Fatalf("c got %s, want deleted a's %s", got, cidrA)
	}
}

func TestFailedUpdateIsRetriedWithTheSameSubnet(t *testing.T) {
	client := newClient(t, newNode("a"))
	failures := 2
	var mu sync.Mutex
	client.PrependReactor("update", "nodes", func(clienttesting.Action) (bool, runtime.Object, error) {
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return true, nil, apierrors.NewConflict(schema.GroupResource{Resource: "nodes"}, "a", errors.New("stale"))
		}
		return false, nil, nil
	})
	startWith(t, Config{}, client)
	if got := waitForPodCIDR(t, client, "a"); got != "10.42.0.0/24" {
		t.Fatalf("a got %s after two conflicts", got)
	}
	if _, err := client.CoreV1().Nodes().Create(t.Context(), newNode("b"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The retries asked for a's reservation again instead of leaking
	// subnets: b gets the very next one.
	if got := waitForPodCIDR(t, client, "b"); got != "10.42.1.0/24" {
		t.Fatalf("b got %s, want 10.42.1.0/24", got)
	}
}

func TestNewValidatesAndDefaults(t *testing.T) {
	client := fake.NewClientset()
	factory := informers.NewSharedInformerFactory(client, 0)
	c, err := New(Config{Client: client, Factory: factory})
	if err != nil {
		t.Fatal(err)
	}
	if got := c.cidrs.subnet(1).String(); got != "10.42.1.0/24" {
		t.Fatalf("default second subnet %s, want 10.42.1.0/24", got)
	}
	for _, cfg := range []Config{
		{Client: client, Factory: factory, ClusterCIDR: cidr(t, "fd00::/48")},
		{Client: client, Factory: factory, NodeMaskSize: 12},
		{Factory: factory},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		}
	}
}
