// Package authentication serves authentication.k8s.io/v1: SelfSubjectReview
// (`kubectl auth whoami`) and TokenReview (a workload asking the API
// server who a bearer token belongs to). Neither is stored.
package authentication

import (
	"context"
	"fmt"
	"net/http"

	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

// NewREST returns the group's storage, keyed by resource. tokens
// authenticates the tokens TokenReview is asked about; apiAudiences are
// the audiences of a review that names none.
func NewREST(tokens authenticator.Request, apiAudiences []string) map[string]rest.Storage {
	return map[string]rest.Storage{
		"selfsubjectreviews": &selfSubjectReviewREST{},
		"tokenreviews":       &tokenReviewREST{tokens: tokens, apiAudiences: apiAudiences},
	}
}

func userInfo(u user.Info) authenticationv1.UserInfo {
	out := authenticationv1.UserInfo{Username: u.GetName(), UID: u.GetUID(), Groups: u.GetGroups()}
	for k, v := range u.GetExtra() {
		if out.Extra == nil {
			out.Extra = map[string]authenticationv1.ExtraValue{}
		}
		out.Extra[k] = v
	}
	return out
}

// selfSubjectReviewREST answers with the caller's own identity.
type selfSubjectReviewREST struct{}

var (
	_ rest.Creater              = (*selfSubjectReviewREST)(nil)
	_ rest.Scoper               = (*selfSubjectReviewREST)(nil)
	_ rest.SingularNameProvider = (*selfSubjectReviewREST)(nil)
	_ rest.Creater              = (*tokenReviewREST)(nil)
	_ rest.SingularNameProvider = (*tokenReviewREST)(nil)
)

func (r *selfSubjectReviewREST) New() runtime.Object     { return &authenticationv1.SelfSubjectReview{} }
func (r *selfSubjectReviewREST) Destroy()                {}
func (r *selfSubjectReviewREST) NamespaceScoped() bool   { return false }
func (r *selfSubjectReviewREST) GetSingularName() string { return "selfsubjectreview" }

func (r *selfSubjectReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	if _, ok := obj.(*authenticationv1.SelfSubjectReview); !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a SelfSubjectReview: %T", obj))
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	u, ok := genericapirequest.UserFrom(ctx)
	if !ok {
		return nil, apierrors.NewBadRequest("no user present on request")
	}
	return &authenticationv1.SelfSubjectReview{
		ObjectMeta: metav1.ObjectMeta{CreationTimestamp: metav1.Now()},
		Status:     authenticationv1.SelfSubjectReviewStatus{UserInfo: userInfo(u)},
	}, nil
}

// tokenReviewREST authenticates the token in a review's spec.
type tokenReviewREST struct {
	tokens       authenticator.Request
	apiAudiences []string
}

func (r *tokenReviewREST) New() runtime.Object     { return &authenticationv1.TokenReview{} }
func (r *tokenReviewREST) Destroy()                {}
func (r *tokenReviewREST) NamespaceScoped() bool   { return false }
func (r *tokenReviewREST) GetSingularName() string { return "tokenreview" }

func (r *tokenReviewREST) Create(ctx context.Context, obj runtime.Object, createValidation rest.ValidateObjectFunc, _ *metav1.CreateOptions) (runtime.Object, error) {
	review, ok := obj.(*authenticationv1.TokenReview)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenReview: %T", obj))
	}
	if review.Spec.Token == "" {
		return nil, apierrors.NewBadRequest("token is required for TokenReview in authentication")
	}
	if createValidation != nil {
		if err := createValidation(ctx, obj.DeepCopyObject()); err != nil {
			return nil, err
		}
	}
	// The authenticators read requests; hand them one carrying the token.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return nil, apierrors.NewInternalError(err)
	}
	req.Header.Set("Authorization", "Bearer "+review.Spec.Token)
	auds := review.Spec.Audiences
	if len(auds) == 0 {
		auds = r.apiAudiences
	}
	if len(auds) > 0 {
		req = req.WithContext(authenticator.WithAudiences(req.Context(), auds))
	}
	out := review.DeepCopy()
	out.Status = authenticationv1.TokenReviewStatus{}
	resp, ok, err := r.tokens.AuthenticateRequest(req)
	if err != nil {
		out.Status.Error = err.Error()
	}
	if !ok || resp == nil || resp.User == nil {
		return out, nil
	}
	if len(auds) > 0 && len(authenticator.Audiences(auds).Intersect(resp.Audiences)) == 0 {
		out.Status.Error = "token audiences do not match the review's"
		return out, nil
	}
	out.Status.Authenticated = true
	out.Status.User = userInfo(resp.User)
	out.Status.Audiences = resp.Audiences
	return out, nil
}
