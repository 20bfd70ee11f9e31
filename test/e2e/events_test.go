package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"regexp"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/events"

	"github.com/orca-pods/orca/internal/storage"
	"github.com/orca-pods/orca/test/e2e/framework"
)

// createPod creates a pod the events below can be about; no node exists, so
// it stays Pending.
func createPod(t *testing.T, client kubernetes.Interface, ns, name string) *corev1.Pod {
	t.Helper()
	pod, err := client.CoreV1().Pods(ns).Create(context.Background(), &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox:1.36"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return pod
}

func podRef(pod *corev1.Pod) corev1.ObjectReference {
	return corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, ResourceVersion: pod.ResourceVersion}
}

// newStyleEvent is an event as client-go's tools/events recorder writes it.
func newStyleEvent(pod *corev1.Pod, name string) *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: name},
		EventTime:           metav1.NewMicroTime(time.Now()),
		ReportingController: "orca.dev/e2e",
		ReportingInstance:   "e2e-1",
		Action:              "Checking",
		Reason:              "ViaEventsAPI",
		Regarding:           podRef(pod),
		Related:             &corev1.ObjectReference{Kind: "Node", APIVersion: "v1", Name: "node-1"},
		Note:                "written through events.k8s.io/v1",
		Type:                corev1.EventTypeNormal,
	}
}

// legacyEvent is an event as client-go's tools/record recorder writes it.
func legacyEvent(pod *corev1.Pod, name string) *corev1.Event {
	first := metav1.NewTime(time.Now().Add(-time.Minute).Truncate(time.Second))
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: name},
		InvolvedObject: podRef(pod),
		Reason:         "ViaCoreAPI",
		Message:        "written through core/v1",
		Source:         corev1.EventSource{Component: "orca-e2e", Host: "node-1"},
		FirstTimestamp: first,
		LastTimestamp:  metav1.NewTime(first.Add(30 * time.Second)),
		Count:          3,
		Type:           corev1.EventTypeWarning,
	}
}

// etcdValue reads one key of the etcd an external-etcd server stores in.
func etcdValue(t *testing.T, endpoint, key string) []byte {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{endpoint}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resp, err := c.Get(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) != 1 {
		t.Fatalf("etcd has %d values at %s", len(resp.Kvs), key)
	}
	return resp.Kvs[0].Value
}

func TestEventsWrittenThroughEitherAPIAreOneStoredObjectSeenThroughBoth(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	etcd, err := storage.Start(ctx, storage.Config{
		DataDir: t.TempDir(), ClientPort: framework.FreePort(t), PeerPort: framework.FreePort(t),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()
	s := framework.StartServer(t, "--etcd-servers", etcd.Endpoints[0])
	client := s.Client()
	const ns = "events-both-ways"
	if _, err := client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	pod := createPod(t, client, ns, "web")

	// events.k8s.io/v1 -> core/v1: the same object, its fields renamed.
	written, err := client.EventsV1().Events(ns).Create(ctx, newStyleEvent(pod, "web.via-events"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	core, err := client.CoreV1().Events(ns).Get(ctx, written.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("event written through events.k8s.io/v1 not found through core/v1: %v", err)
	}
	if core.UID != written.UID || core.ResourceVersion != written.ResourceVersion {
		t.Errorf("core/v1 sees uid %s rv %s, events.k8s.io/v1 wrote uid %s rv %s", core.UID, core.ResourceVersion, written.UID, written.ResourceVersion)
	}
	if core.InvolvedObject != written.Regarding || core.Message != written.Note || core.Reason != "ViaEventsAPI" ||
		core.Type != corev1.EventTypeNormal || core.Action != "Checking" || core.ReportingController != "orca.dev/e2e" ||
		core.ReportingInstance != "e2e-1" || !core.EventTime.Equal(&written.EventTime) ||
		core.Related == nil || *core.Related != *written.Related || core.Series != nil || core.Count != 0 {
		t.Errorf("core/v1 view of the event:\n%+v\nwritten:\n%+v", core, written)
	}
	if core.InvolvedObject.UID != pod.UID {
		t.Errorf("involvedObject.uid = %q, want the pod's %q", core.InvolvedObject.UID, pod.UID)
	}
	// What kubectl describe pod asks core/v1 for.
	found, err := client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{
		FieldSelector: fmt.Sprintf("involvedObject.kind=Pod,involvedObject.name=web,involvedObject.namespace=%s,involvedObject.uid=%s,reportingComponent=orca.dev/e2e", ns, pod.UID)})
	if err != nil || len(found.Items) != 1 || found.Items[0].Name != written.Name {
		t.Errorf("core/v1 list by involvedObject: %v %+v", err, found)
	}

	// Stored once, as core/v1 (protobuf), under core's prefix.
	raw := etcdValue(t, etcd.Endpoints[0], "/registry/events/"+ns+"/"+written.Name)
	if !bytes.HasPrefix(raw, []byte("k8s\x00")) {
		t.Fatalf("stored event is not protobuf: %q", raw)
	}
	var envelope runtime.Unknown
	if err := envelope.Unmarshal(raw[4:]); err != nil {
		t.Fatal(err)
	}
	if envelope.APIVersion != "v1" || envelope.Kind != "Event" {
		t.Fatalf("stored as %s %s, want v1 Event", envelope.APIVersion, envelope.Kind)
	}

	// core/v1 -> events.k8s.io/v1, watched there by the new field names.
	w, err := client.EventsV1().Events(ns).Watch(ctx, metav1.ListOptions{FieldSelector: "regarding.name=web,reason=ViaCoreAPI"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	legacy, err := client.CoreV1().Events(ns).Create(ctx, legacyEvent(pod, "web.via-core"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case ev := <-w.ResultChan():
		if e, ok := ev.Object.(*eventsv1.Event); ev.Type != watch.Added || !ok || e.Name != legacy.Name || e.Note != legacy.Message {
			t.Errorf("watch through events.k8s.io/v1 got %s %+v", ev.Type, ev.Object)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no watch event through events.k8s.io/v1 for an event written through core/v1")
	}
	view, err := client.EventsV1().Events(ns).Get(ctx, legacy.Name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("event written through core/v1 not found through events.k8s.io/v1: %v", err)
	}
	if view.Regarding != legacy.InvolvedObject || view.Regarding.UID != pod.UID || view.Note != legacy.Message ||
		view.DeprecatedSource != legacy.Source || view.DeprecatedCount != 3 || view.Type != corev1.EventTypeWarning ||
		!view.DeprecatedFirstTimestamp.Equal(&legacy.FirstTimestamp) || !view.DeprecatedLastTimestamp.Equal(&legacy.LastTimestamp) ||
		!view.EventTime.IsZero() || view.ReportingController != "" {
		t.Errorf("events.k8s.io/v1 view of the event:\n%+v\nwritten:\n%+v", view, legacy)
	}
	for selector, want := range map[string]string{
		"regarding.uid=" + string(pod.UID) + ",reason=ViaCoreAPI": legacy.Name,
		"reportingController=orca.dev/e2e":                        written.Name,
		"regarding.kind=Pod,type=Warning,source=orca-e2e":         legacy.Name,
	} {
		list, err := client.EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil || len(list.Items) != 1 || list.Items[0].Name != want {
			t.Errorf("events.k8s.io/v1 list %s: %v %+v", selector, err, list)
		}
	}
	// events.k8s.io/v1 selects by its own field names only, as upstream.
	_, err = client.EventsV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=web"})
	if err == nil || !strings.Contains(err.Error(), "field label not supported: involvedObject.name") {
		t.Errorf("core field name on events.k8s.io/v1: %v", err)
	}

	// The strict rules of events.k8s.io/v1 apply there, not on core/v1.
	bad := newStyleEvent(pod, "web.bad")
	bad.ReportingController = ""
	bad.DeprecatedCount = 2
	_, err = client.EventsV1().Events(ns).Create(ctx, bad, metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), `Event "web.bad" is invalid: [reportingController: Required value`) ||
		!strings.Contains(err.Error(), `count: Invalid value: "": needs to be unset`) {
		t.Errorf("invalid events.k8s.io/v1 event: %v", err)
	}
	// Only the series may change through events.k8s.io/v1.
	view.Note = "rewritten"
	if _, err := client.EventsV1().Events(ns).Update(ctx, view, metav1.UpdateOptions{}); err == nil ||
		!strings.Contains(err.Error(), `message: Invalid value: "rewritten": field is immutable`) {
		t.Errorf("rewriting a note through events.k8s.io/v1: %v", err)
	}

	// Deleted through one API, gone from both.
	if err := client.EventsV1().Events(ns).Delete(ctx, legacy.Name, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := client.CoreV1().Events(ns).Get(ctx, legacy.Name, metav1.GetOptions{}); err == nil || !strings.Contains(err.Error(), `events "web.via-core" not found`) {
		t.Errorf("core/v1 get after delete through events.k8s.io/v1: %v", err)
	}
}

// client-go's tools/events recorder — what newer controllers use — writes
// through events.k8s.io/v1, creating an event and then patching its series.
func TestEventsRecorderWritesEventsAndSeriesThatCoreV1Reads(t *testing.T) {
	s := framework.StartServer(t)
	client := s.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pod := createPod(t, client, "default", "recorded")

	broadcaster := events.NewBroadcaster(&events.EventSinkImpl{Interface: client.EventsV1()})
	if err := broadcaster.StartRecordingToSinkWithContext(ctx); err != nil {
		t.Fatal(err)
	}
	defer broadcaster.Shutdown()
	recorder := broadcaster.NewRecorder(scheme.Scheme, "orca.dev/e2e-recorder")

	selector := fmt.Sprintf("involvedObject.uid=%s,reason=Probed", pod.UID)
	find := func() *corev1.Event {
		list, err := client.CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != 1 {
			return nil
		}
		return &list.Items[0]
	}
	recorder.Eventf(pod, nil, corev1.EventTypeNormal, "Probed", "Probing", "probe %d of the pod", 1)
	framework.Eventually(t, 20*time.Second, "the recorded event through core/v1", func() bool { return find() != nil })
	first := find()
	if first.ReportingController != "orca.dev/e2e-recorder" || first.Message != "probe 1 of the pod" || first.InvolvedObject.Name != "recorded" || first.Series != nil {
		t.Fatalf("recorded event: %+v", first)
	}

	recorder.Eventf(pod, nil, corev1.EventTypeNormal, "Probed", "Probing", "probe %d of the pod", 1)
	framework.Eventually(t, 20*time.Second, "the event's series through core/v1", func() bool {
		e := find()
		return e != nil && e.Series != nil && e.Series.Count == 2
	})
	if got := find(); got.Name != first.Name || got.Series.LastObservedTime.IsZero() {
		t.Fatalf("series event: %+v", got)
	}
}

func TestKubectlReadsEventsThroughBothAPIs(t *testing.T) {
	s := framework.StartServer(t)
	client := s.Client()
	forEachKubectl(t, s, func(t *testing.T, k *framework.Kubectl, ns string) {
		ctx := context.Background()
		pod := createPod(t, client, ns, "web")
		if _, err := client.EventsV1().Events(ns).Create(ctx, newStyleEvent(pod, "web.via-events"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := client.CoreV1().Events(ns).Create(ctx, legacyEvent(pod, "web.via-core"), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}

		table := k.MustRun("", "get", "events.v1.events.k8s.io", "-n", ns)
		for _, re := range []string{
			`(?m)^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$`,
			`(?m)^\S+\s+Normal\s+ViaEventsAPI\s+pod/web\s+written through events.k8s.io/v1$`,
			`(?m)^\S+\s+Warning\s+ViaCoreAPI\s+pod/web\s+written through core/v1$`,
		} {
			if !regexp.MustCompile(re).MatchString(table) {
				t.Errorf("get events.v1.events.k8s.io lacks %s:\n%s", re, table)
			}
		}
		out := k.MustRun("", "get", "events.events.k8s.io", "-n", ns, "--field-selector", "regarding.name=web,reason=ViaCoreAPI", "-o", "name")
		if strings.TrimSpace(out) != "event.events.k8s.io/web.via-core" {
			t.Errorf("get events.events.k8s.io by regarding.name: %q", out)
		}

		yaml := k.MustRun("", "get", "events.events.k8s.io", "web.via-core", "-n", ns, "-o", "yaml")
		for _, want := range []string{"apiVersion: events.k8s.io/v1\n", "kind: Event\n", "note: written through core/v1\n",
			"deprecatedCount: 3\n", "regarding:\n", "uid: " + string(pod.UID) + "\n"} {
			if !strings.Contains(yaml, want) {
				t.Errorf("events.k8s.io/v1 yaml lacks %q:\n%s", want, yaml)
			}
		}
		// Plain "events" stays core/v1, also for events written the new way.
		yaml = k.MustRun("", "get", "events", "web.via-events", "-n", ns, "-o", "yaml")
		for _, want := range []string{"apiVersion: v1\n", "kind: Event\n", "message: written through events.k8s.io/v1\n",
			"involvedObject:\n", "reportingComponent: orca.dev/e2e\n", "uid: " + string(pod.UID) + "\n"} {
			if !strings.Contains(yaml, want) {
				t.Errorf("core/v1 yaml lacks %q:\n%s", want, yaml)
			}
		}

		describe := k.MustRun("", "describe", "pod", "web", "-n", ns)
		for _, re := range []string{
			`(?m)^\s+Normal\s+ViaEventsAPI\s+\S+\s+orca.dev/e2e\s+written through events.k8s.io/v1$`,
			`(?m)^\s+Warning\s+ViaCoreAPI\s+\S+\s+\(x3 over \S+\)\s+orca-e2e\s+written through core/v1$`,
		} {
			if !regexp.MustCompile(re).MatchString(describe) {
				t.Errorf("describe pod lacks %s:\n%s", re, describe)
			}
		}
	})
}
