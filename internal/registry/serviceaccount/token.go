// Package serviceaccount serves serviceaccounts/token, the TokenRequest
// API (`kubectl create token`, and the node agent for kube-api-access
// volumes): it issues a signed token for an account, optionally bound to a
// pod, secret or node so that deleting that object revokes it.
package serviceaccount

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation/field"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
	"k8s.io/utils/ptr"

	sa "github.com/orca-pods/orca/internal/auth/serviceaccount"
)

const (
	// defaultExpirationSeconds is TokenRequestSpec's API default.
	defaultExpirationSeconds = 60 * 60
	minExpirationSeconds     = 10 * 60
	maxExpirationSeconds     = 1 << 32
)

var tokenRequestKind = authenticationv1.SchemeGroupVersion.WithKind("TokenRequest")

// TokenConfig wires a TokenREST.
type TokenConfig struct {
	// Storage of the objects a request names.
	ServiceAccounts, Pods, Secrets, Nodes rest.Getter
	Issuer                                *sa.Issuer
	// APIAudiences are the audiences of a token that asks for none.
	APIAudiences []string
	// ExtendExpiration issues pod-bound tokens asking for exactly
	// sa.WarnOnlyExpirationSeconds for a year instead, warning after the
	// hour (kube-apiserver's --service-account-extend-token-expiration).
	ExtendExpiration bool
	Logger           *slog.Logger
}

// TokenREST serves serviceaccounts/token.
type TokenREST struct {
	cfg TokenConfig
	now func() time.Time
}

var (
	_ rest.NamedCreater                   = (*TokenREST)(nil)
	_ rest.GroupVersionKindProvider       = (*TokenREST)(nil)
	_ rest.SubresourceObjectMetaPreserver = (*TokenREST)(nil)
)

// NewTokenREST returns the storage for serviceaccounts/token.
func NewTokenREST(cfg TokenConfig) *TokenREST {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	return &TokenREST{cfg: cfg, now: time.Now}
}

func (r *TokenREST) New() runtime.Object { return &authenticationv1.TokenRequest{} }
func (r *TokenREST) Destroy()            {}

// GroupVersionKind tells the installer that this core subresource takes an
// authentication.k8s.io/v1 object.
func (r *TokenREST) GroupVersionKind(schema.GroupVersion) schema.GroupVersionKind {
	return tokenRequestKind
}

// PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate keeps the
// creation timestamp Create sets; nothing is stored.
func (r *TokenREST) PreserveRequestObjectMetaSystemFieldsOnSubresourceCreate() bool { return true }

// Create issues a token for service account name in the request's
// namespace, following kube-apiserver's TokenREST.
func (r *TokenREST) Create(ctx context.Context, name string, obj runtime.Object, createValidation rest.ValidateObjectFunc, options *metav1.CreateOptions) (runtime.Object, error) {
	req, ok := obj.(*authenticationv1.TokenRequest)
	if !ok {
		return nil, apierrors.NewBadRequest(fmt.Sprintf("not a TokenRequest: %T", obj))
	}
	namespace, ok := genericapirequest.NamespaceFrom(ctx)
	if !ok || namespace == "" {
		return nil, apierrors.NewBadRequest("namespace is required")
	}
	if req.Name != "" && req.Name != name {
		return nil, apierrors.NewInvalid(tokenRequestKind.GroupKind(), name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "name"), req.Name, "must match the service account name if specified")})
	}
	if req.Namespace != "" && req.Namespace != namespace {
		return nil, apierrors.NewInvalid(tokenRequestKind.GroupKind(), name, field.ErrorList{
			field.Invalid(field.NewPath("metadata", "namespace"), req.Namespace, "must match the service account namespace if specified")})
	}

	saObj, err := r.cfg.ServiceAccounts.Get(ctx, name, &metav1.GetOptions{})
	if err != nil {
		return nil, err
	}
	account := saObj.(*corev1.ServiceAccount)

	if len(req.Spec.Audiences) == 0 {
		req.Spec.Audiences = slices.Clone(r.cfg.APIAudiences)
	}
	if req.Spec.ExpirationSeconds == nil {
		req.Spec.ExpirationSeconds = ptr.To[int64](defaultExpirationSeconds)
	}
	req.Name, req.Namespace = account.Name, account.Namespace
	// Taken before signing, so the reported expiry is never after exp.
	now := r.now()
	req.CreationTimestamp = metav1.NewTime(now)
	req.Status = authenticationv1.TokenRequestStatus{}

	if errs := validateTokenRequest(req); len(errs) > 0 {
		return nil, apierrors.NewInvalid(tokenRequestKind.GroupKind(), "", errs)
	}
	if createValidation != nil {
		if err := createValidation(ctx, req.DeepCopyObject()); err != nil {
			return nil, err
		}
	}

	tok := sa.Token{ServiceAccount: account, Audiences: req.Spec.Audiences, IssuedAt: now}
	if err := r.bind(ctx, name, req.Spec.BoundObjectRef, &tok); err != nil {
		return nil, err
	}

	seconds := *req.Spec.ExpirationSeconds
	tok.Lifetime = time.Duration(seconds) * time.Second
	// The kube-api-access lifetime marks tokens whose holders may never
	// reread them: make them last, and record when they went stale.
	if r.cfg.ExtendExpiration && tok.Pod != nil && seconds == sa.WarnOnlyExpirationSeconds && r.apiAudiences(req.Spec.Audiences) {
		tok.WarnAfter = tok.Lifetime
		tok.Lifetime = sa.ExtendedExpiration
	}
	token, jti, err := r.cfg.Issuer.Issue(tok)
	if err != nil {
		return nil, apierrors.NewInternalError(fmt.Errorf("failed to generate token: %w", err))
	}
	r.cfg.Logger.Debug("issued service account token", "namespace", namespace, "serviceAccount", name,
		"credentialID", "JTI="+jti, "audiences", req.Spec.Audiences, "expirationSeconds", seconds)

	out := req.DeepCopy()
	// The requested lifetime, even when the token itself lasts longer:
	// clients refresh on this schedule.
	out.Status = authenticationv1.TokenRequestStatus{
		Token:               token,
		ExpirationTimestamp: metav1.NewTime(now.Add(time.Duration(seconds) * time.Second)),
	}
	return out, nil
}

// bind looks up the object the token is bound to and checks its UID.
func (r *TokenREST) bind(ctx context.Context, account string, ref *authenticationv1.BoundObjectReference, tok *sa.Token) error {
	if ref == nil {
		return nil
	}
	gvk := schema.FromAPIVersionAndKind(ref.APIVersion, ref.Kind)
	var uid types.UID
	switch {
	case gvk.Group == "" && gvk.Kind == "Pod":
		obj, err := r.cfg.Pods.Get(lookupContext(ctx, "pods", ref.Name, true), ref.Name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		pod := obj.(*corev1.Pod)
		if pod.Spec.ServiceAccountName != account {
			return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to pod running with different serviceaccount name.", account))
		}
		tok.Pod, uid = pod, pod.UID
		// The pod's node goes into the token as information; a node that
		// cannot be read leaves it out.
		if pod.Spec.NodeName != "" {
			nodeCtx := lookupContext(ctx, "nodes", pod.Spec.NodeName, false)
			if obj, err := r.cfg.Nodes.Get(nodeCtx, pod.Spec.NodeName, &metav1.GetOptions{ResourceVersion: "0"}); err == nil {
				tok.Node = obj.(*corev1.Node)
			}
		}
	case gvk.Group == "" && gvk.Kind == "Secret":
		obj, err := r.cfg.Secrets.Get(lookupContext(ctx, "secrets", ref.Name, true), ref.Name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		tok.Secret = obj.(*corev1.Secret)
		uid = tok.Secret.UID
	case gvk.Group == "" && gvk.Kind == "Node":
		obj, err := r.cfg.Nodes.Get(lookupContext(ctx, "nodes", ref.Name, false), ref.Name, &metav1.GetOptions{})
		if err != nil {
			return err
		}
		tok.Node = obj.(*corev1.Node)
		uid = tok.Node.UID
	default:
		return apierrors.NewBadRequest(fmt.Sprintf("cannot bind token for serviceaccount %q to object of type %s", account, gvk.String()))
	}
	if ref.UID != "" && ref.UID != uid {
		return apierrors.NewConflict(schema.GroupResource{Group: gvk.Group, Resource: gvk.Kind}, ref.Name,
			fmt.Errorf("the UID in the bound object reference (%s) does not match the UID in record. The object might have been deleted and then recreated", ref.UID))
	}
	return nil
}

// lookupContext is ctx for a GET of another resource: the stores name the
// resource of their errors after the request info (`pods "x" not found`,
// not serviceaccounts), and cluster-scoped ones want no namespace.
func lookupContext(ctx context.Context, resource, name string, namespaced bool) context.Context {
	if !namespaced {
		ctx = genericapirequest.WithNamespace(ctx, "")
	}
	info, ok := genericapirequest.RequestInfoFrom(ctx)
	if !ok {
		return ctx
	}
	namespace := ""
	if namespaced {
		namespace = info.Namespace
	}
	return genericapirequest.WithRequestInfo(ctx, &genericapirequest.RequestInfo{
		IsResourceRequest: true, Verb: "get", APIVersion: "v1",
		Namespace: namespace, Resource: resource, Name: name, Parts: []string{resource, name},
	})
}

// apiAudiences reports whether every requested audience is the API's own.
func (r *TokenREST) apiAudiences(auds []string) bool {
	for _, a := range auds {
		if !slices.Contains(r.cfg.APIAudiences, a) {
			return false
		}
	}
	return true
}

// validateTokenRequest is kube-apiserver's ValidateTokenRequest.
func validateTokenRequest(req *authenticationv1.TokenRequest) field.ErrorList {
	var errs field.ErrorList
	path := field.NewPath("spec", "expirationSeconds")
	seconds := *req.Spec.ExpirationSeconds
	if seconds < minExpirationSeconds {
		errs = append(errs, field.Invalid(path, seconds, "may not specify a duration less than 10 minutes"))
	}
	if seconds > maxExpirationSeconds {
		errs = append(errs, field.Invalid(path, seconds, "may not specify a duration larger than 2^32 seconds"))
	}
	return errs
}
