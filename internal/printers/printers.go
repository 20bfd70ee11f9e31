// Package printers builds the meta.k8s.io/v1 Table responses that kubectl
// requests (Accept: application/json;as=Table;g=meta.k8s.io;v=v1) for
// `kubectl get`. Since kubectl 1.x does no client-side formatting for
// built-in kinds, the columns and cell values produced here are exactly what
// users see, so they follow kube-apiserver's printers
// (pkg/printers/internalversion) column for column. That package works on
// internal types and cannot be imported; these implementations work on the
// k8s.io/api v1 types that orca stores.
package printers

import (
	"context"
	"fmt"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apiserver/pkg/registry/rest"
)

// rowFunc fills the cells (and row conditions) for a single, non-list object.
// now is sampled once per ConvertToTable call so every row of a list ages
// against the same instant.
type rowFunc func(obj runtime.Object, now time.Time) (metav1.TableRow, error)

// convertor is a rest.TableConvertor for one resource.
type convertor struct {
	columns []metav1.TableColumnDefinition
	row     rowFunc
	// adjustList, when set, may rewrite rows after all of them are built. It
	// exists for cells that depend on the whole list rather than one item
	// (the storage class "(default)" marker).
	adjustList func(items []runtime.Object, rows []metav1.TableRow)
	// now is injectable so tests get stable AGE / RESTARTS cells.
	now func() time.Time
}

var _ rest.TableConvertor = (*convertor)(nil)

// newConvertorFunc builds a convertor using the given clock.
type newConvertorFunc func(now func() time.Time) *convertor

// registry maps every resource with a dedicated printer to its constructor.
var registry = map[schema.GroupResource]newConvertorFunc{
	{Group: "", Resource: "pods"}:                             newPodConvertor,
	{Group: "", Resource: "nodes"}:                            newNodeConvertor,
	{Group: "", Resource: "events"}:                           newEventConvertor,
	{Group: "events.k8s.io", Resource: "events"}:              newEventConvertor,
	{Group: "", Resource: "namespaces"}:                       newNamespaceConvertor,
	{Group: "", Resource: "configmaps"}:                       newConfigMapConvertor,
	{Group: "", Resource: "secrets"}:                          newSecretConvertor,
	{Group: "", Resource: "serviceaccounts"}:                  newServiceAccountConvertor,
	{Group: "", Resource: "podtemplates"}:                     newPodTemplateConvertor,
	{Group: "", Resource: "resourcequotas"}:                   newResourceQuotaConvertor,
	{Group: "", Resource: "persistentvolumes"}:                newPersistentVolumeConvertor,
	{Group: "", Resource: "persistentvolumeclaims"}:           newPersistentVolumeClaimConvertor,
	{Group: "storage.k8s.io", Resource: "storageclasses"}:     newStorageClassConvertor,
	{Group: "coordination.k8s.io", Resource: "leases"}:        newLeaseConvertor,
	{Group: "scheduling.k8s.io", Resource: "priorityclasses"}: newPriorityClassConvertor,
}

// For returns the TableConvertor for a resource, e.g.
// For(schema.GroupResource{Resource: "pods"}). Resources without a dedicated
// printer (limitranges among them, as upstream has none either) get the
// generic apiserver table: NAME and CREATED AT.
func For(gr schema.GroupResource) rest.TableConvertor {
	return forClock(gr, time.Now)
}

// forClock is For with an explicit clock; tests use it for stable output.
func forClock(gr schema.GroupResource, now func() time.Time) rest.TableConvertor {
	if build, ok := registry[gr]; ok {
		return build(now)
	}
	return rest.NewDefaultTableConvertor(gr)
}

// ConvertToTable implements rest.TableConvertor. Like upstream's
// printerstorage.TableConvertor it always generates the wide variant: all
// columns, including priority>0 ones, are returned and kubectl hides the
// priority>0 columns unless -o wide is given.
func (c *convertor) ConvertToTable(_ context.Context, obj runtime.Object, tableOptions runtime.Object) (*metav1.Table, error) {
	noHeaders, err := noHeadersOption(tableOptions)
	if err != nil {
		return nil, err
	}

	items := []runtime.Object{obj}
	if meta.IsListType(obj) {
		if items, err = meta.ExtractList(obj); err != nil {
			return nil, err
		}
	}

	now := c.now()
	// A non-nil empty slice keeps "rows": [] on the wire, as upstream emits.
	rows := make([]metav1.TableRow, 0, len(items))
	for _, item := range items {
		row, err := c.row(item, now)
		if err != nil {
			return nil, err
		}
		// The apiserver later swaps this for PartialObjectMetadata or the
		// full object, depending on the client's includeObject choice.
		row.Object = runtime.RawExtension{Object: item}
		rows = append(rows, row)
	}
	if c.adjustList != nil && meta.IsListType(obj) {
		c.adjustList(items, rows)
	}

	table := &metav1.Table{Rows: rows}
	if !noHeaders {
		// Copy so a caller mutating the table cannot corrupt shared definitions.
		table.ColumnDefinitions = append([]metav1.TableColumnDefinition(nil), c.columns...)
	}
	if l, err := meta.ListAccessor(obj); err == nil {
		table.ResourceVersion = l.GetResourceVersion()
		table.Continue = l.GetContinue()
		table.RemainingItemCount = l.GetRemainingItemCount()
	} else if m, err := meta.CommonAccessor(obj); err == nil {
		table.ResourceVersion = m.GetResourceVersion()
	}
	return table, nil
}

// noHeadersOption reads NoHeaders from the options the apiserver passes in;
// anything other than *metav1.TableOptions is rejected, as upstream does.
func noHeadersOption(tableOptions runtime.Object) (bool, error) {
	if tableOptions == nil {
		return false, nil
	}
	opts, ok := tableOptions.(*metav1.TableOptions)
	if !ok {
		return false, fmt.Errorf("unrecognized type %T for table options, can't display tabular output", tableOptions)
	}
	return opts != nil && opts.NoHeaders, nil
}

// unexpectedType is returned when an object of the wrong Go type reaches a
// resource's printer; upstream fails the same way when no handler matches.
func unexpectedType(want string, obj runtime.Object) error {
	return fmt.Errorf("no table handler registered for this type %T (expected %s)", obj, want)
}

// Column descriptions reuse the API's own field documentation where upstream
// does, so `kubectl explain`-style text stays consistent.
var (
	objectMetaDoc = metav1.ObjectMeta{}.SwaggerDoc()
	nameColumn    = metav1.TableColumnDefinition{Name: "Name", Type: "string", Format: "name", Description: objectMetaDoc["name"]}
	ageColumn     = metav1.TableColumnDefinition{Name: "Age", Type: "string", Description: objectMetaDoc["creationTimestamp"]}
)
