package apiserver

import (
	"fmt"
	"slices"

	"k8s.io/apiserver/pkg/registry/rest"
)

// selectable is a store that can list its field selector keys.
type selectable interface {
	rest.Storage
	SelectableFields() []string
}

// addFieldLabelConversions tells the scheme which field selectors each
// stored kind accepts, so an unknown one is refused with Kubernetes'
// `"x" is not a known field selector` error instead of matching nothing.
func (s *Server) addFieldLabelConversions(storages map[string]rest.Storage) error {
	for _, st := range storages {
		sel, ok := st.(selectable)
		if !ok {
			continue // subresources
		}
		keys := sel.SelectableFields()
		kinds, _, err := s.Scheme.ObjectKinds(sel.New())
		if err != nil {
			return err
		}
		for _, gvk := range kinds {
			if gvk.Version != "v1" {
				continue
			}
			err := s.Scheme.AddFieldLabelConversionFunc(gvk, func(label, value string) (string, string, error) {
				if slices.Contains(keys, label) {
					return label, value, nil
				}
				return "", "", fmt.Errorf("field label not supported: %s", label)
			})
			if err != nil {
				return err
			}
		}
	}
	return nil
}
