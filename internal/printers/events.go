package printers

import (
	"fmt"
	"github.com/orca-pods/orca/internal/apis/eventconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// newEventConvertor serves both core/v1 events and events.k8s.io/v1 events.
// kube-apiserver stores both groups through the same internal Event type and
// printer, so `kubectl get events.v1.events.k8s.io` shows the very same
// columns as `kubectl get events`.
func newEventConvertor(now func() time.Time) *convertor {
	eventDoc := corev1.Event{}.SwaggerDoc()
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			{Name: "Last Seen", Type: "string", Description: eventDoc["lastTimestamp"]},
			{Name: "Type", Type: "string", Description: eventDoc["type"]},
			{Name: "Reason", Type: "string", Description: eventDoc["reason"]},
			{Name: "Object", Type: "string", Description: eventDoc["involvedObject"]},
			{Name: "Subobject", Type: "string", Priority: 1, Description: corev1.ObjectReference{}.SwaggerDoc()["fieldPath"]},
			{Name: "Source", Type: "string", Priority: 1, Description: eventDoc["source"]},
			{Name: "Message", Type: "string", Description: eventDoc["message"]},
			{Name: "First Seen", Type: "string", Priority: 1, Description: eventDoc["firstTimestamp"]},
			{Name: "Count", Type: "string", Priority: 1, Description: eventDoc["count"]},
			{Name: "Name", Type: "string", Priority: 1, Format: "name", Description: objectMetaDoc["name"]},
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			switch e := obj.(type) {
			case *corev1.Event:
				return eventRow(e, now), nil
			case *eventsv1.Event:
				return eventRow(coreEvent(e), now), nil
			default:
				return metav1.TableRow{}, unexpectedType("*v1.Event", obj)
			}
		},
	}
}

func eventRow(e *corev1.Event, now time.Time) metav1.TableRow {
	// Events written through events.k8s.io carry eventTime instead of the
	// legacy timestamps, and series instead of count; fall back accordingly.
	firstSeen := since(e.FirstTimestamp, now)
	if e.FirstTimestamp.IsZero() {
		firstSeen = sinceMicro(e.EventTime, now)
	}
	lastSeen := since(e.LastTimestamp, now)
	if e.LastTimestamp.IsZero() {
		lastSeen = firstSeen
	}
	count := e.Count
	if e.Series != nil {
		lastSeen = sinceMicro(e.Series.LastObservedTime, now)
		count = e.Series.Count
	} else if count == 0 {
		count = 1 // a singleton event of the new API has no count
	}

	object := strings.ToLower(e.InvolvedObject.Kind)
	if e.InvolvedObject.Name != "" {
		object = fmt.Sprintf("%s/%s", object, e.InvolvedObject.Name)
	}

	return metav1.TableRow{Cells: []interface{}{
		lastSeen,
		e.Type,
		e.Reason,
		object,
		e.InvolvedObject.FieldPath,
		eventSource(e),
		strings.TrimSpace(e.Message),
		firstSeen,
		int64(count),
		e.Name,
	}}
}

// eventSource is "component, host", preferring the legacy source fields and
// falling back to the reporting controller/instance of the new API.
func eventSource(e *corev1.Event) string {
	component := firstNonEmpty(e.Source.Component, e.ReportingController)
	host := firstNonEmpty(e.Source.Host, e.ReportingInstance)
	if host == "" {
		return component
	}
	return component + ", " + host
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}

// coreEvent maps an events.k8s.io/v1 Event onto the core/v1 shape, following
// the field correspondence of the upstream conversion (regarding ->
// involvedObject, note -> message, deprecated* -> legacy fields).
func coreEvent(e *eventsv1.Event) *corev1.Event {
	out := &corev1.Event{}
	eventconv.ToCore(e, out)
	out.TypeMeta = e.TypeMeta
	return out
}
