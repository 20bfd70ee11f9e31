package event

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// recorded is an event as client-go's tools/events recorder writes it.
func recorded() *corev1.Event {
	return &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{Name: "web.17c8e2a1b4f5", Namespace: "team-a"},
		InvolvedObject:      corev1.ObjectReference{Kind: "Pod", Namespace: "team-a", Name: "web", UID: "1a2b", APIVersion: "v1"},
		Reason:              "Scheduled",
		Message:             "assigned team-a/web to node-1",
		Type:                corev1.EventTypeNormal,
		EventTime:           metav1.NewMicroTime(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)),
		Action:              "Binding",
		ReportingController: "default-scheduler",
		ReportingInstance:   "default-scheduler-node-1",
	}
}

func errorStrings(errs field.ErrorList) []string {
	var out []string
	for _, e := range errs {
		out = append(out, e.Error())
	}
	return out
}

func TestEventsV1CreateRequiresANewStyleEventWithoutDeprecatedFields(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(e *corev1.Event)
		want   []string
	}{
		{"as the recorder writes it", func(*corev1.Event) {}, nil},
		{"a series", func(e *corev1.Event) {
			e.Series = &corev1.EventSeries{Count: 2, LastObservedTime: e.EventTime}
		}, nil},
		{"no eventTime", func(e *corev1.Event) { e.EventTime = metav1.MicroTime{} }, []string{
			"eventTime: Required value",
		}},
		{"no reporting fields", func(e *corev1.Event) { e.ReportingController, e.ReportingInstance, e.Action = "", "", "" }, []string{
			"reportingController: Required value",
			// As upstream, the empty name also fails the qualified-name rules.
			`reportingController: Invalid value: "": name part must be non-empty`,
			`reportingController: Invalid value: "": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')`,
			"reportingInstance: Required value",
			"action: Required value",
		}},
		{"an unknown type", func(e *corev1.Event) { e.Type = "Info" }, []string{
			`type: Invalid value: "": has invalid value: Info`,
		}},
		{"deprecated fields", func(e *corev1.Event) {
			e.FirstTimestamp, e.LastTimestamp = metav1.Now(), metav1.Now()
			e.Count = 2
			e.Source = corev1.EventSource{Component: "kubelet"}
		}, []string{
			`firstTimestamp: Invalid value: "": needs to be unset`,
			`lastTimestamp: Invalid value: "": needs to be unset`,
			`count: Invalid value: "": needs to be unset`,
			`source: Invalid value: "": needs to be unset`,
		}},
		{"a series of one", func(e *corev1.Event) { e.Series = &corev1.EventSeries{Count: 1} }, []string{
			`series.count: Invalid value: "": should be at least 2`,
			"series.lastObservedTime: Required value",
		}},
		{"a name that is no DNS subdomain", func(e *corev1.Event) { e.Name = "Web_1" }, []string{
			`metadata.name: Invalid value: "Web_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := recorded()
			tc.change(e)
			got := errorStrings(validateEventsV1Create(e))
			if len(got) != len(tc.want) {
				t.Fatalf("errors:\n%q\nwant:\n%q", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("error %d:\n got %s\nwant %s", i, got[i], tc.want[i])
				}
			}
		})
	}
}

func TestEventsV1UpdateMayChangeOnlyTheSeries(t *testing.T) {
	old := recorded()
	old.ResourceVersion = "5"

	next := old.DeepCopy()
	next.Series = &corev1.EventSeries{Count: 2, LastObservedTime: metav1.NewMicroTime(old.EventTime.Add(time.Minute))}
	if errs := validateEventsV1Update(next, old); len(errs) != 0 {
		t.Fatalf("a new series was refused: %v", errs)
	}

	next = old.DeepCopy()
	next.Message = "rewritten"
	next.InvolvedObject.Name = "other"
	next.Series = &corev1.EventSeries{Count: 1, LastObservedTime: old.EventTime}
	got := errorStrings(validateEventsV1Update(next, old))
	want := []string{
		`series.count: Invalid value: "": should be at least 2`,
		"involvedObject: Invalid value: ",
		`message: Invalid value: "rewritten": field is immutable`,
	}
	if len(got) != len(want) {
		t.Fatalf("errors:\n%q\nwant:\n%q", got, want)
	}
	for i := range want {
		if len(got[i]) < len(want[i]) || got[i][:len(want[i])] != want[i] {
			t.Errorf("error %d:\n got %s\nwant %s...", i, got[i], want[i])
		}
	}
}

// A core event written without eventTime may not be edited into a new-style
// event through events.k8s.io, but its series-free fields stay as they were.
func TestEventsV1UpdateOfALegacyCoreEventKeepsItsDeprecatedFields(t *testing.T) {
	old := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "web.1", Namespace: "team-a", ResourceVersion: "3"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "team-a", Name: "web"},
		Reason:         "Killing", Message: "stopping container app", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "kubelet", Host: "node-1"}, Count: 4,
		FirstTimestamp: metav1.Now(), LastTimestamp: metav1.Now(),
	}
	next := old.DeepCopy()
	next.Labels = map[string]string{"seen": "yes"}
	if errs := validateEventsV1Update(next, old); len(errs) != 0 {
		t.Fatalf("a label on a legacy event was refused: %v", errs)
	}
	next.Count = 5
	if got := errorStrings(validateEventsV1Update(next, old)); len(got) != 1 || got[0] != "count: Invalid value: 5: field is immutable" {
		t.Fatalf("count change: %q", got)
	}
}
