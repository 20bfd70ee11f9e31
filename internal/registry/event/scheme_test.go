package event

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/dump"
)

var (
	t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

	podRef = corev1.ObjectReference{Kind: "Pod", Namespace: "team-a", Name: "web", UID: "1a2b3c4d",
		APIVersion: "v1", ResourceVersion: "42", FieldPath: "spec.containers{app}"}
	nodeRef = &corev1.ObjectReference{Kind: "Node", Name: "node-1", UID: "9f8e", APIVersion: "v1"}
	meta    = metav1.ObjectMeta{Name: "web.17c8e2a1", Namespace: "team-a", UID: "e1", ResourceVersion: "7",
		Labels: map[string]string{"app": "web"}, Annotations: map[string]string{"note": "x"}}
)

// The same event in both forms, every field set.
func eventsV1Event() *eventsv1.Event {
	return &eventsv1.Event{
		ObjectMeta:               *meta.DeepCopy(),
		EventTime:                metav1.NewMicroTime(t0),
		Series:                   &eventsv1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t0.Add(time.Minute))},
		ReportingController:      "orca.dev/agent",
		ReportingInstance:        "agent-node-1",
		Action:                   "Pulling",
		Reason:                   "BackOff",
		Regarding:                podRef,
		Related:                  nodeRef.DeepCopy(),
		Note:                     "Back-off pulling image",
		Type:                     corev1.EventTypeWarning,
		DeprecatedSource:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
		DeprecatedFirstTimestamp: metav1.NewTime(t0.Add(-time.Hour)),
		DeprecatedLastTimestamp:  metav1.NewTime(t0.Add(-time.Minute)),
		DeprecatedCount:          5,
	}
}

func coreEvent() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:          *meta.DeepCopy(),
		InvolvedObject:      podRef,
		Reason:              "BackOff",
		Message:             "Back-off pulling image",
		Source:              corev1.EventSource{Component: "kubelet", Host: "node-1"},
		FirstTimestamp:      metav1.NewTime(t0.Add(-time.Hour)),
		LastTimestamp:       metav1.NewTime(t0.Add(-time.Minute)),
		Count:               5,
		Type:                corev1.EventTypeWarning,
		EventTime:           metav1.NewMicroTime(t0),
		Series:              &corev1.EventSeries{Count: 3, LastObservedTime: metav1.NewMicroTime(t0.Add(time.Minute))},
		Action:              "Pulling",
		Related:             nodeRef.DeepCopy(),
		ReportingController: "orca.dev/agent",
		ReportingInstance:   "agent-node-1",
	}
}

// requireEveryFieldSet fails when a field of obj (but TypeMeta) is zero, so a
// field added to either Event type upstream is noticed here, not lost.
func requireEveryFieldSet(t *testing.T, obj any) {
	t.Helper()
	v := reflect.ValueOf(obj).Elem()
	for i := 0; i < v.NumField(); i++ {
		if f := v.Type().Field(i); f.Name != "TypeMeta" && v.Field(i).IsZero() {
			t.Errorf("%T.%s is unset in the fixture", obj, f.Name)
		}
	}
}

func testScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return scheme
}

func TestConversionMapsEveryEventsV1FieldToItsCoreField(t *testing.T) {
	scheme := testScheme(t)
	in := eventsV1Event()
	requireEveryFieldSet(t, in)

	got := &corev1.Event{}
	if err := scheme.Convert(in.DeepCopy(), got, nil); err != nil {
		t.Fatal(err)
	}
	if want := coreEvent(); !apiequality.Semantic.DeepEqual(got, want) {
		t.Fatalf("events.k8s.io/v1 -> core:\ngot  %s\nwant %s", dump.Pretty(got), dump.Pretty(want))
	}
	back := &eventsv1.Event{}
	if err := scheme.Convert(got, back, nil); err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(back, in) {
		t.Fatalf("round trip changed the event:\ngot  %s\nwant %s", dump.Pretty(back), dump.Pretty(in))
	}
}

func TestConversionMapsEveryCoreFieldToItsEventsV1Field(t *testing.T) {
	scheme := testScheme(t)
	in := coreEvent()
	requireEveryFieldSet(t, in)

	got := &eventsv1.Event{}
	if err := scheme.Convert(in.DeepCopy(), got, nil); err != nil {
		t.Fatal(err)
	}
	if want := eventsV1Event(); !apiequality.Semantic.DeepEqual(got, want) {
		t.Fatalf("core -> events.k8s.io/v1:\ngot  %s\nwant %s", dump.Pretty(got), dump.Pretty(want))
	}
	back := &corev1.Event{}
	if err := scheme.Convert(got, back, nil); err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(back, in) {
		t.Fatalf("round trip changed the event:\ngot  %s\nwant %s", dump.Pretty(back), dump.Pretty(in))
	}
}

func TestConversionOfListsConvertsEveryItemAndKeepsListMeta(t *testing.T) {
	scheme := testScheme(t)
	listMeta := metav1.ListMeta{ResourceVersion: "99", Continue: "next"}
	in := &corev1.EventList{ListMeta: listMeta, Items: []corev1.Event{*coreEvent(), {ObjectMeta: metav1.ObjectMeta{Name: "bare"}}}}

	got := &eventsv1.EventList{}
	if err := scheme.Convert(in.DeepCopy(), got, nil); err != nil {
		t.Fatal(err)
	}
	want := &eventsv1.EventList{ListMeta: listMeta, Items: []eventsv1.Event{*eventsV1Event(), {ObjectMeta: metav1.ObjectMeta{Name: "bare"}}}}
	if !apiequality.Semantic.DeepEqual(got, want) {
		t.Fatalf("core list -> events.k8s.io/v1:\ngot  %s\nwant %s", dump.Pretty(got), dump.Pretty(want))
	}
	back := &corev1.EventList{}
	if err := scheme.Convert(got, back, nil); err != nil {
		t.Fatal(err)
	}
	if !apiequality.Semantic.DeepEqual(back, in) {
		t.Fatalf("list round trip:\ngot  %s\nwant %s", dump.Pretty(back), dump.Pretty(in))
	}
}

func TestEventsV1FieldSelectorsMapToCoreFieldsAndRefuseCoreSpellings(t *testing.T) {
	scheme := testScheme(t)
	gvk := eventsv1.SchemeGroupVersion.WithKind("Event")
	for label, want := range map[string]string{
		"regarding.name":      "involvedObject.name",
		"regarding.uid":       "involvedObject.uid",
		"regarding.kind":      "involvedObject.kind",
		"reportingController": "reportingComponent",
		"reason":              "reason",
		"type":                "type",
		"metadata.name":       "metadata.name",
	} {
		got, value, err := scheme.ConvertFieldLabel(gvk, label, "v")
		if err != nil || got != want || value != "v" {
			t.Errorf("%s: got %q=%q, %v; want %q", label, got, value, err, want)
		}
		if _, ok := Fields(&corev1.Event{})[want]; !ok && want != "metadata.name" {
			t.Errorf("%s maps to %s, which the store cannot select by", label, want)
		}
	}
	for _, label := range []string{"involvedObject.name", "reportingComponent", "note"} {
		_, _, err := scheme.ConvertFieldLabel(gvk, label, "v")
		if err == nil || err.Error() != "field label not supported: "+label {
			t.Errorf("%s: err = %v", label, err)
		}
	}
}
