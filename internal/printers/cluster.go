package printers

import (
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	schedulingv1 "k8s.io/api/scheduling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Printers for coordination.k8s.io and scheduling.k8s.io kinds.

func newLeaseConvertor(now func() time.Time) *convertor {
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Holder", Type: "string", Description: coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]},
			ageColumn,
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			l, ok := obj.(*coordinationv1.Lease)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.Lease", obj)
			}
			// An unheld lease shows an empty cell, not <none>, as upstream.
			return metav1.TableRow{Cells: []interface{}{l.Name, derefOr(l.Spec.HolderIdentity, ""), since(l.CreationTimestamp, now)}}, nil
		},
	}
}

// newPriorityClassConvertor: upstream declares PreemptionPolicy as a
// priority-0 column after Age and fills it because the apiserver always
// prints "wide", so `kubectl get priorityclasses` shows it by default.
func newPriorityClassConvertor(now func() time.Time) *convertor {
	doc := schedulingv1.PriorityClass{}.SwaggerDoc()
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Value", Type: "integer", Description: doc["value"]},
			{Name: "Global-Default", Type: "boolean", Description: doc["globalDefault"]},
			ageColumn,
			{Name: "PreemptionPolicy", Type: "string", Description: doc["preemptionPolicy"]},
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			pc, ok := obj.(*schedulingv1.PriorityClass)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.PriorityClass", obj)
			}
			policy := ""
			if pc.PreemptionPolicy != nil {
				policy = string(*pc.PreemptionPolicy)
			}
			return metav1.TableRow{Cells: []interface{}{
				pc.Name, int64(pc.Value), pc.GlobalDefault, since(pc.CreationTimestamp, now), policy,
			}}, nil
		},
	}
}
