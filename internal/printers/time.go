package printers

import (
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// unknownTime is what kubectl shows for an unset timestamp.
const unknownTime = "<unknown>"

// none is the placeholder upstream prints for empty optional cells.
const none = "<none>"

// since renders the age of t relative to now ("5m", "3d4h"), matching
// upstream translateTimestampSince but with an explicit clock.
func since(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return unknownTime
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// sinceMicro is since for the MicroTime fields of events.
func sinceMicro(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return unknownTime
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

// orNone substitutes the <none> placeholder for an empty string.
func orNone(s string) string {
	if s == "" {
		return none
	}
	return s
}
