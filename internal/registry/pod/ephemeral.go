package pod

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	genericregistry "k8s.io/apiserver/pkg/registry/generic/registry"
	"k8s.io/apiserver/pkg/registry/rest"

	"github.com/orca-pods/orca/internal/apis/validation"
	"github.com/orca-pods/orca/internal/registry"
)

// ephemeralREST serves pods/ephemeralcontainers (kubectl debug): a pod
// update that may only add ephemeral containers.
type ephemeralREST struct {
	store *genericregistry.Store
}

func newEphemeralREST(main *registry.Store, typer runtime.ObjectTyper) *ephemeralREST {
	s := registry.NewStrategy[*corev1.Pod](typer, true)
	s.PrepareUpdate = func(_ context.Context, pod, old *corev1.Pod) {
		added := pod.Spec.EphemeralContainers
		*pod = *old.DeepCopy()
		pod.Spec.EphemeralContainers = added
	}
	s.CheckChange = validation.ValidatePodEphemeralContainersUpdate
	st := *main.Store
	st.CreateStrategy, st.DeleteStrategy = nil, nil
	st.UpdateStrategy, st.ResetFieldsStrategy = s, s
	return &ephemeralREST{store: &st}
}

func (r *ephemeralREST) New() runtime.Object { return &corev1.Pod{} }
func (r *ephemeralREST) Destroy()            {}

func (r *ephemeralREST) Get(ctx context.Context, name string, options *metav1.GetOptions) (runtime.Object, error) {
	return r.store.Get(ctx, name, options)
}

func (r *ephemeralREST) Update(ctx context.Context, name string, objInfo rest.UpdatedObjectInfo, createValidation rest.ValidateObjectFunc, updateValidation rest.ValidateObjectUpdateFunc, forceAllowCreate bool, options *metav1.UpdateOptions) (runtime.Object, bool, error) {
	return r.store.Update(ctx, name, objInfo, createValidation, updateValidation, false, options)
}
