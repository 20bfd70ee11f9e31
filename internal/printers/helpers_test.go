package printers

import (
	"bytes"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// testNow is the fixed clock every test renders against.
var testNow = time.Date(2026, time.March, 14, 15, 9, 26, 0, time.UTC)

func fixedClock() time.Time { return testNow }

// ago returns a metav1.Time d before testNow.
func ago(d time.Duration) metav1.Time { return metav1.NewTime(testNow.Add(-d)) }

func agoPtr(d time.Duration) *metav1.Time { t := ago(d); return &t }

func boolPtr(b bool) *bool { return &b }

func strPtr(s string) *string { return &s }

var always = corev1.ContainerRestartPolicyAlways

// Container state shorthands.

func running() corev1.ContainerState {
	return corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(time.Hour)}}
}

func waiting(reason string) corev1.ContainerState {
	return corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}
}

func terminated(reason string, exit, signal int32) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		Reason: reason, ExitCode: exit, Signal: signal, FinishedAt: ago(time.Minute),
	}}
}

// lastTerminated is a lastState that finished d ago.
func lastTerminated(d time.Duration) corev1.ContainerState {
	return corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
		Reason: "Error", ExitCode: 1, FinishedAt: ago(d),
	}}
}

func cstatus(name string, state corev1.ContainerState, ready bool) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: name, State: state, Ready: ready}
}

func cond(t corev1.PodConditionType, s corev1.ConditionStatus) corev1.PodCondition {
	return corev1.PodCondition{Type: t, Status: s}
}

// containers makes spec containers with the given names.
func containers(names ...string) []corev1.Container {
	out := make([]corev1.Container, len(names))
	for i, n := range names {
		out[i] = corev1.Container{Name: n, Image: "registry.local/" + n + ":1"}
	}
	return out
}

// renderTable lays a Table out the way kubectl's table printer does
// (k8s.io/cli-runtime is not in orca's module graph, so this is a stand-in):
// upper-cased headers, priority>0 columns only with -o wide, and a
// tabwriter with kubectl's settings (min width 6, tab width 4, padding 3).
func renderTable(t *metav1.Table, wide bool) string {
	var buf bytes.Buffer
	w := tabwriter.NewWriter(&buf, 6, 4, 3, ' ', 0)
	var cols []int
	var headers []string
	for i, c := range t.ColumnDefinitions {
		if !wide && c.Priority != 0 {
			continue
		}
		cols = append(cols, i)
		headers = append(headers, strings.ToUpper(c.Name))
	}
	if len(headers) > 0 {
		fmt.Fprintln(w, strings.Join(headers, "\t"))
	}
	for _, row := range t.Rows {
		cells := make([]string, 0, len(cols))
		for _, i := range cols {
			cells = append(cells, cellText(row.Cells[i]))
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	_ = w.Flush()
	// kubectl's tabwriter leaves pad spaces after an empty last cell; strip
	// them so golden files survive editors that trim trailing whitespace.
	lines := strings.Split(buf.String(), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

// cellText mirrors kubectl: nil prints nothing, strings are cut at the first
// line break with "...", everything else uses fmt's default format.
func cellText(v interface{}) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		if i := strings.IndexAny(v, "\n\r\f"); i >= 0 {
			return v[:i] + "..."
		}
		return v
	default:
		return fmt.Sprint(v)
	}
}
