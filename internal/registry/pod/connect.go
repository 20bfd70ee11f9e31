package pod

import (
	"context"
	"fmt"
	"net/http"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/registry/rest"
)

// notYetREST answers a streaming subresource that needs a node agent,
// which this build does not have yet, with a clear 501.
type notYetREST struct {
	what    string
	new     func() runtime.Object
	methods []string
}

func (r *notYetREST) New() runtime.Object                               { return r.new() }
func (r *notYetREST) Destroy()                                          {}
func (r *notYetREST) NewConnectOptions() (runtime.Object, bool, string) { return r.new(), false, "" }
func (r *notYetREST) ConnectMethods() []string                          { return r.methods }

func (r *notYetREST) Connect(ctx context.Context, name string, opts runtime.Object, responder rest.Responder) (http.Handler, error) {
	return nil, &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusNotImplemented,
		Reason:  metav1.StatusReason("NotImplemented"),
		Message: fmt.Sprintf("pod %s is not available yet: orca has no node agent in this build", r.what),
	}}
}
