package apiserver

import (
	"crypto"
	"fmt"
	"log/slog"

	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	"k8s.io/apiserver/pkg/registry/rest"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/client-go/kubernetes"

	sa "github.com/orca-pods/orca/internal/auth/serviceaccount"
	"github.com/orca-pods/orca/internal/registry/authentication"
	saregistry "github.com/orca-pods/orca/internal/registry/serviceaccount"
)

// serviceAccountTokens is what the API server needs to issue service
// account tokens (serviceaccounts/token) and to accept them.
type serviceAccountTokens struct {
	issuer *sa.Issuer
	// audiences are the API's own (kube-apiserver's --api-audiences,
	// which defaults to the issuer).
	audiences []string
	// bearer authenticates bearer tokens of every kind orca accepts, for
	// TokenReview.
	bearer authenticator.Request
	log    *slog.Logger
}

// addServiceAccountTokens makes the API accept the service account tokens
// cfg.ServiceAccountKey signs. It must run after newAdmission, whose
// informer factory it shares; nil when no key is configured.
func addServiceAccountTokens(rc *genericapiserver.RecommendedConfig, cfg Config) (*serviceAccountTokens, error) {
	if cfg.ServiceAccountKey == nil {
		return nil, nil
	}
	iss := cfg.ServiceAccountIssuer
	if iss == "" {
		iss = sa.DefaultIssuer
	}
	issuer, err := sa.NewIssuer(iss, cfg.ServiceAccountKey)
	if err != nil {
		return nil, err
	}
	client, err := kubernetes.NewForConfig(rc.LoopbackClientConfig)
	if err != nil {
		return nil, fmt.Errorf("loopback client: %w", err)
	}
	audiences := []string{iss}
	authn, err := sa.NewAuthenticator(sa.AuthenticatorConfig{
		Issuer: iss, Keys: []crypto.PublicKey{cfg.ServiceAccountKey.Public()}, APIAudiences: audiences,
		Getter: sa.NewClientGetter(client, rc.SharedInformerFactory),
		Logger: cfg.Logger.With("component", "serviceaccount-authenticator"),
	})
	if err != nil {
		return nil, err
	}
	// Requests are checked against these audiences; tokens for other
	// audiences (say a vault) are refused here.
	rc.Authentication.APIAudiences = audiences
	tokens := bearertoken.New(authn)
	bearer := []authenticator.Request{tokens}
	if cfg.Tokens != nil {
		bearer = append(bearer, bearertoken.New(cfg.Tokens))
	}
	rc.Authentication.Authenticator = union.New(rc.Authentication.Authenticator, tokens)
	return &serviceAccountTokens{
		issuer: issuer, audiences: audiences, log: cfg.Logger,
		bearer: group.NewAuthenticatedGroupAdder(union.New(bearer...)),
	}, nil
}

// tokenStorage returns serviceaccounts/token over the core storage, and the
// authentication.k8s.io storage; both nil without a signing key.
func (s *Server) tokenStorage(core map[string]rest.Storage) (rest.Storage, map[string]rest.Storage) {
	if s.tokens == nil {
		return nil, nil
	}
	token := saregistry.NewTokenREST(saregistry.TokenConfig{
		ServiceAccounts: core["serviceaccounts"].(rest.Getter),
		Pods:            core["pods"].(rest.Getter),
		Secrets:         core["secrets"].(rest.Getter),
		Nodes:           core["nodes"].(rest.Getter),
		Issuer:          s.tokens.issuer,
		APIAudiences:    s.tokens.audiences,
		// kube-apiserver's default, so kube-api-access tokens outlive
		// clients that read them once.
		ExtendExpiration: true,
		Logger:           s.tokens.log.With("component", "tokenrequest"),
	})
	return token, authentication.NewREST(s.tokens.bearer, s.tokens.audiences)
}
