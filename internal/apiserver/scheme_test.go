package apiserver

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func storedEvent() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "default"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "default", Name: "web", UID: "u1"},
		Reason:         "Pulled", Message: "pulled the image", Type: corev1.EventTypeNormal,
		EventTime:           metav1.NewMicroTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		ReportingController: "orca.dev/agent", ReportingInstance: "agent-1", Action: "Pulling",
	}
}

func TestCoreEventsEncodeAsV1AndEventsK8sIoAsAViewOfTheSameType(t *testing.T) {
	scheme, codecs, err := NewScheme()
	if err != nil {
		t.Fatal(err)
	}
	kinds, _, err := scheme.ObjectKinds(&corev1.Event{})
	if err != nil {
		t.Fatal(err)
	}
	if want := corev1.SchemeGroupVersion.WithKind("Event"); kinds[0] != want {
		t.Fatalf("first kind of a core Event = %v, want %v (kinds %v)", kinds[0], want, kinds)
	}

	core, err := runtime.Encode(codecs.LegacyCodec(corev1.SchemeGroupVersion), storedEvent())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind":"Event","apiVersion":"v1"`, `"involvedObject":{"kind":"Pod"`, `"message":"pulled the image"`} {
		if !strings.Contains(string(core), want) {
			t.Errorf("core/v1 encoding lacks %s:\n%s", want, core)
		}
	}

	events, err := runtime.Encode(codecs.LegacyCodec(eventsv1.SchemeGroupVersion), storedEvent())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"kind":"Event","apiVersion":"events.k8s.io/v1"`, `"regarding":{"kind":"Pod"`, `"note":"pulled the image"`} {
		if !strings.Contains(string(events), want) {
			t.Errorf("events.k8s.io/v1 encoding lacks %s:\n%s", want, events)
		}
	}

	// What a POST to events.k8s.io/v1 decodes into is the type core stores.
	internal := schema.GroupVersion{Group: eventsv1.GroupName, Version: runtime.APIVersionInternal}
	obj, err := runtime.Decode(codecs.UniversalDecoder(internal), events)
	if err != nil {
		t.Fatal(err)
	}
	got, ok := obj.(*corev1.Event)
	if !ok {
		t.Fatalf("decoded %T, want *v1.Event", obj)
	}
	if got.Message != "pulled the image" || got.InvolvedObject.UID != "u1" || got.ReportingController != "orca.dev/agent" {
		t.Fatalf("decoded event = %+v", got)
	}

	list, err := runtime.Encode(codecs.LegacyCodec(eventsv1.SchemeGroupVersion), &corev1.EventList{Items: []corev1.Event{*storedEvent()}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(list), `"kind":"EventList","apiVersion":"events.k8s.io/v1"`) || !strings.Contains(string(list), `"note":"pulled the image"`) {
		t.Errorf("events.k8s.io/v1 list encoding:\n%s", list)
	}
}
