package authentication

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	authenticationv1 "k8s.io/api/authentication/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/user"
	genericapirequest "k8s.io/apiserver/pkg/endpoints/request"
	"k8s.io/apiserver/pkg/registry/rest"
)

var robot = &user.DefaultInfo{
	Name: "system:serviceaccount:ns:robot", UID: "sa-uid",
	Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"},
	Extra:  map[string][]string{"authentication.kubernetes.io/pod-name": {"web"}},
}

var wantRobot = authenticationv1.UserInfo{
	Username: "system:serviceaccount:ns:robot", UID: "sa-uid",
	Groups: []string{"system:serviceaccounts", "system:serviceaccounts:ns", "system:authenticated"},
	Extra:  map[string]authenticationv1.ExtraValue{"authentication.kubernetes.io/pod-name": {"web"}},
}

// tokens knows one token, "good", valid for the audience "api" only.
var tokens = authenticator.RequestFunc(func(req *http.Request) (*authenticator.Response, bool, error) {
	token := strings.TrimPrefix(req.Header.Get("Authorization"), "Bearer ")
	auds, _ := authenticator.AudiencesFrom(req.Context())
	switch {
	case token != "good":
		return nil, false, nil
	case !auds.Has("api"):
		return nil, false, errors.New("wrong audience")
	}
	return &authenticator.Response{User: robot, Audiences: authenticator.Audiences{"api"}}, true, nil
})

func TestSelfSubjectReviewIsTheCaller(t *testing.T) {
	r := NewREST(tokens, []string{"api"})["selfsubjectreviews"].(rest.Creater)
	ctx := genericapirequest.WithUser(t.Context(), robot)
	obj, err := r.Create(ctx, &authenticationv1.SelfSubjectReview{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantRobot, obj.(*authenticationv1.SelfSubjectReview).Status.UserInfo); diff != "" {
		t.Errorf("userInfo (-want +got):\n%s", diff)
	}
}

func TestTokenReview(t *testing.T) {
	r := NewREST(tokens, []string{"api"})["tokenreviews"].(rest.Creater)
	review := func(token string, auds ...string) (*authenticationv1.TokenReview, error) {
		obj, err := r.Create(t.Context(), &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token, Audiences: auds}}, nil, nil)
		if err != nil {
			return nil, err
		}
		return obj.(*authenticationv1.TokenReview), nil
	}

	got, err := review("good")
	if err != nil {
		t.Fatal(err)
	}
	want := authenticationv1.TokenReviewStatus{Authenticated: true, User: wantRobot, Audiences: []string{"api"}}
	if diff := cmp.Diff(want, got.Status); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}

	if got, err := review("good", "vault"); err != nil || got.Status.Authenticated || got.Status.Error != "wrong audience" {
		t.Errorf("other audience: %+v, %v", got, err)
	}
	if got, err := review("bad"); err != nil || got.Status.Authenticated || got.Status.User.Username != "" {
		t.Errorf("unknown token: %+v, %v", got, err)
	}
	if _, err := review(""); !apierrors.IsBadRequest(err) {
		t.Errorf("empty token: err = %v, want BadRequest", err)
	}
}
