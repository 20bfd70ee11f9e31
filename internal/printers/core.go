package printers

import (
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
)

// Printers for the simpler core/v1 kinds.

func newNamespaceConvertor(now func() time.Time) *convertor {
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Status", Type: "string", Description: "The phase of the namespace (Active or Terminating)."},
			ageColumn,
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			ns, ok := obj.(*corev1.Namespace)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.Namespace", obj)
			}
			return metav1.TableRow{Cells: []interface{}{ns.Name, string(ns.Status.Phase), since(ns.CreationTimestamp, now)}}, nil
		},
	}
}

func newConfigMapConvertor(now func() time.Time) *convertor {
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Data", Type: "string", Description: corev1.ConfigMap{}.SwaggerDoc()["data"]},
			ageColumn,
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			cm, ok := obj.(*corev1.ConfigMap)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.ConfigMap", obj)
			}
			// Text and binary keys are disjoint (validation), so a sum is a key count.
			return metav1.TableRow{Cells: []interface{}{cm.Name, int64(len(cm.Data) + len(cm.BinaryData)), since(cm.CreationTimestamp, now)}}, nil
		},
	}
}

func newSecretConvertor(now func() time.Time) *convertor {
	doc := corev1.Secret{}.SwaggerDoc()
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Type", Type: "string", Description: doc["type"]},
			{Name: "Data", Type: "string", Description: doc["data"]},
			ageColumn,
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			s, ok := obj.(*corev1.Secret)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.Secret", obj)
			}
			return metav1.TableRow{Cells: []interface{}{s.Name, string(s.Type), int64(secretKeys(s)), since(s.CreationTimestamp, now)}}, nil
		},
	}
}

// secretKeys counts data keys. Upstream counts the internal type's data,
// which v1->internal conversion merges stringData into; orca keeps v1
// objects, so count the union to get the same number if stringData is
// still present.
func secretKeys(s *corev1.Secret) int {
	n := len(s.Data)
	for k := range s.StringData {
		if _, dup := s.Data[k]; !dup {
			n++
		}
	}
	return n
}

func newServiceAccountConvertor(now func() time.Time) *convertor {
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Secrets", Type: "string", Description: corev1.ServiceAccount{}.SwaggerDoc()["secrets"]},
			ageColumn,
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			sa, ok := obj.(*corev1.ServiceAccount)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.ServiceAccount", obj)
			}
			return metav1.TableRow{Cells: []interface{}{sa.Name, int64(len(sa.Secrets)), since(sa.CreationTimestamp, now)}}, nil
		},
	}
}

// newPodTemplateConvertor has no AGE column: upstream prints none for pod
// templates either.
func newPodTemplateConvertor(now func() time.Time) *convertor {
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Containers", Type: "string", Description: "Names of the containers in the template."},
			{Name: "Images", Type: "string", Description: "Images of the containers in the template."},
			{Name: "Pod Labels", Type: "string", Description: "Labels of the pod template."},
		},
		row: func(obj runtime.Object, _ time.Time) (metav1.TableRow, error) {
			pt, ok := obj.(*corev1.PodTemplate)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.PodTemplate", obj)
			}
			names, images := containerCells(pt.Template.Spec.Containers)
			return metav1.TableRow{Cells: []interface{}{pt.Name, names, images, labels.FormatLabels(pt.Template.Labels)}}, nil
		},
	}
}

// containerCells joins container names and images with commas.
func containerCells(containers []corev1.Container) (names, images string) {
	n := make([]string, len(containers))
	im := make([]string, len(containers))
	for i, c := range containers {
		n[i], im[i] = c.Name, c.Image
	}
	return strings.Join(n, ","), strings.Join(im, ",")
}

func newResourceQuotaConvertor(now func() time.Time) *convertor {
	return &convertor{
		now: now,
		columns: []metav1.TableColumnDefinition{
			nameColumn,
			{Name: "Request", Type: "string", Description: "Used/hard amounts of the quota's non-limit resources."},
			{Name: "Limit", Type: "string", Description: "Used/hard amounts of the quota's limits.* resources."},
			ageColumn,
		},
		row: func(obj runtime.Object, now time.Time) (metav1.TableRow, error) {
			q, ok := obj.(*corev1.ResourceQuota)
			if !ok {
				return metav1.TableRow{}, unexpectedType("*v1.ResourceQuota", obj)
			}
			request, limit := quotaCells(q)
			return metav1.TableRow{Cells: []interface{}{q.Name, request, limit, since(q.CreationTimestamp, now)}}, nil
		},
	}
}

// quotaCells renders "name: used/hard" pairs sorted by resource name, split
// into limits.* resources and everything else.
func quotaCells(q *corev1.ResourceQuota) (request, limit string) {
	names := make([]string, 0, len(q.Status.Hard))
	for name := range q.Status.Hard {
		names = append(names, string(name))
	}
	sort.Strings(names)

	var req, lim []string
	for _, name := range names {
		used := q.Status.Used[corev1.ResourceName(name)]
		hard := q.Status.Hard[corev1.ResourceName(name)]
		cell := fmt.Sprintf("%s: %s/%s", name, used.String(), hard.String())
		if prefix, _, found := strings.Cut(name, "."); found && prefix == "limits" {
			lim = append(lim, cell)
		} else {
			req = append(req, cell)
		}
	}
	return strings.Join(req, ", "), strings.Join(lim, ", ")
}
