package printers

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

var podsGR = schema.GroupResource{Resource: "pods"}

func TestListMetadataAndRowObjects(t *testing.T) {
	remaining := int64(7)
	list := &corev1.PodList{
		ListMeta: metav1.ListMeta{ResourceVersion: "42", Continue: "token", RemainingItemCount: &remaining},
		Items: []corev1.Pod{
			*podCase{containers: []string{"a"}, phase: corev1.PodPending}.pod(),
			*podCase{containers: []string{"b"}, phase: corev1.PodPending}.pod(),
		},
	}
	list.Items[1].Name = "q"

	table, err := For(podsGR).ConvertToTable(context.Background(), list, &metav1.TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if table.ResourceVersion != "42" || table.Continue != "token" || table.RemainingItemCount == nil || *table.RemainingItemCount != 7 {
		t.Errorf("list meta = %+v", table.ListMeta)
	}
	if len(table.ColumnDefinitions) != 9 {
		t.Errorf("got %d columns, want 9 (the server always returns wide columns)", len(table.ColumnDefinitions))
	}
	if len(table.Rows) != 2 {
		t.Fatalf("got %d rows", len(table.Rows))
	}
	for i, row := range table.Rows {
		pod, ok := row.Object.Object.(*corev1.Pod)
		if !ok || pod != &list.Items[i] {
			t.Errorf("row %d object = %T %p, want the list item", i, row.Object.Object, row.Object.Object)
		}
		if len(row.Cells) != len(table.ColumnDefinitions) {
			t.Errorf("row %d has %d cells for %d columns", i, len(row.Cells), len(table.ColumnDefinitions))
		}
	}
}

func TestSingleObjectResourceVersion(t *testing.T) {
	pod := podCase{containers: []string{"a"}, phase: corev1.PodPending}.pod()
	pod.ResourceVersion = "17"
	table, err := For(podsGR).ConvertToTable(context.Background(), pod, nil)
	if err != nil {
		t.Fatal(err)
	}
	if table.ResourceVersion != "17" || table.Continue != "" || table.RemainingItemCount != nil {
		t.Errorf("list meta = %+v", table.ListMeta)
	}
	if len(table.Rows) != 1 || table.Rows[0].Object.Object != pod {
		t.Errorf("rows = %+v", table.Rows)
	}
}

func TestEmptyListHasEmptyRows(t *testing.T) {
	table, err := For(podsGR).ConvertToTable(context.Background(), &corev1.PodList{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if table.Rows == nil || len(table.Rows) != 0 {
		t.Errorf("rows = %#v, want empty non-nil slice", table.Rows)
	}
}

func TestNoHeadersOmitsColumns(t *testing.T) {
	for _, tc := range []struct {
		gr  schema.GroupResource
		obj runtime.Object
	}{
		{podsGR, &corev1.PodList{Items: []corev1.Pod{{}}}},
		// Resources without a printer go through the apiserver default.
		{schema.GroupResource{Resource: "limitranges"}, &corev1.LimitRangeList{Items: []corev1.LimitRange{{}}}},
	} {
		table, err := For(tc.gr).ConvertToTable(context.Background(), tc.obj, &metav1.TableOptions{NoHeaders: true})
		if err != nil {
			t.Fatal(err)
		}
		if table.ColumnDefinitions != nil {
			t.Errorf("%s: columns = %v, want none", tc.gr, table.ColumnDefinitions)
		}
		if len(table.Rows) != 1 {
			t.Errorf("%s: rows = %d, want 1", tc.gr, len(table.Rows))
		}
	}
}

func TestRejectsForeignOptionsAndTypes(t *testing.T) {
	pod := &corev1.Pod{}
	if _, err := For(podsGR).ConvertToTable(context.Background(), pod, &metav1.ListOptions{}); err == nil {
		t.Error("expected an error for non-TableOptions options")
	}
	var nilOpts *metav1.TableOptions
	if _, err := For(podsGR).ConvertToTable(context.Background(), pod, nilOpts); err != nil {
		t.Errorf("typed nil options: %v", err)
	}
	if _, err := For(podsGR).ConvertToTable(context.Background(), &corev1.Node{}, nil); err == nil || !strings.Contains(err.Error(), "no table handler") {
		t.Errorf("wrong object type: err = %v", err)
	}
}

func TestUnknownResourceUsesDefaultTable(t *testing.T) {
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Name: "lr", CreationTimestamp: metav1.NewTime(testNow)}}
	table, err := For(schema.GroupResource{Resource: "limitranges"}).ConvertToTable(context.Background(), lr, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range table.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "Name,Created At" {
		t.Errorf("columns = %v", names)
	}
	if got := table.Rows[0].Cells; got[0] != "lr" || got[1] != testNow.Format(time.RFC3339) {
		t.Errorf("cells = %v", got)
	}
}

// Every registered printer must produce exactly one cell per column, for
// an empty object too (no nil dereferences on unset optional fields).
func TestEveryPrinterMatchesItsColumns(t *testing.T) {
	for gr, build := range registry {
		c := build(fixedClock)
		for _, obj := range zeroObjectsFor(gr) {
			row, err := c.row(obj, testNow)
			if err != nil {
				t.Errorf("%s %T: %v", gr, obj, err)
				continue
			}
			if len(row.Cells) != len(c.columns) {
				t.Errorf("%s %T: %d cells for %d columns", gr, obj, len(row.Cells), len(c.columns))
			}
		}
	}
}

// zeroObjectsFor returns empty objects of each item type used by the golden
// fixtures for gr, so the two lists cannot drift apart.
func zeroObjectsFor(gr schema.GroupResource) []runtime.Object {
	var out []runtime.Object
	for _, g := range goldenCases() {
		if g.gr != gr {
			continue
		}
		items, err := meta.ExtractList(g.obj)
		if err != nil {
			items = []runtime.Object{g.obj}
		}
		for _, it := range items {
			out = append(out, reflect.New(reflect.TypeOf(it).Elem()).Interface().(runtime.Object))
		}
	}
	return out
}
