// Package apiserver assembles orca's Kubernetes API server from
// k8s.io/apiserver's generic server, k8s.io/api types and etcd storage.
package apiserver

import (
	"crypto"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apiserver/pkg/authentication/authenticator"
	"k8s.io/apiserver/pkg/authentication/group"
	"k8s.io/apiserver/pkg/authentication/request/bearertoken"
	"k8s.io/apiserver/pkg/authentication/request/union"
	x509request "k8s.io/apiserver/pkg/authentication/request/x509"
	"k8s.io/apiserver/pkg/authorization/authorizerfactory"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/apiserver/pkg/server/dynamiccertificates"
	genericfilters "k8s.io/apiserver/pkg/server/filters"
	genericoptions "k8s.io/apiserver/pkg/server/options"
	serverstorage "k8s.io/apiserver/pkg/server/storage"
	"k8s.io/apiserver/pkg/storage/storagebackend"
	"k8s.io/client-go/transport"
	"k8s.io/component-base/compatibility"
	basever "k8s.io/component-base/version"

	"github.com/orca-pods/orca/internal/apis/defaults"
	"github.com/orca-pods/orca/internal/apiserver/openapi"
)

// Config is what the API server needs from its caller.
type Config struct {
	BindAddress net.IP
	Port        int
	// ServingCert and ServingKey are the TLS pair; ClientCAFile verifies
	// client certificates (the admin kubeconfig uses one).
	ServingCertFile, ServingKeyFile string
	ClientCAFile                    string
	// Tokens authenticates bearer tokens besides client certificates (node
	// agents); nil for none.
	Tokens authenticator.Token
	// ServiceAccountKey signs the tokens serviceaccounts/token issues and
	// verifies them when they come back as bearer tokens; nil: neither.
	ServiceAccountKey crypto.Signer
	// ServiceAccountIssuer is those tokens' iss and the API's audience
	// (default https://kubernetes.default.svc.cluster.local).
	ServiceAccountIssuer string
	// KubeletClientCertFile/KeyFile authenticate the API server to node
	// agents (logs, exec, port-forward); KubeletCAFile verifies the agents.
	KubeletClientCertFile, KubeletClientKeyFile, KubeletCAFile string
	// Etcd endpoints and TLS files.
	EtcdServers                           []string
	EtcdCAFile, EtcdCertFile, EtcdKeyFile string
	Logger                                *slog.Logger
}

// Server is a configured, not yet running, API server.
type Server struct {
	Generic          *genericapiserver.GenericAPIServer
	Scheme           *runtime.Scheme
	Codecs           serializer.CodecFactory
	kubeletTransport http.RoundTripper
	// tokens issues service account tokens; nil without a signing key.
	tokens *serviceAccountTokens
}

// New builds the API server with every resource installed.
func New(cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if len(cfg.EtcdServers) == 0 {
		return nil, errors.New("apiserver: no etcd servers")
	}
	scheme, codecs, err := NewScheme()
	if err != nil {
		return nil, err
	}
	defaults.Register(scheme)

	rc := genericapiserver.NewRecommendedConfig(codecs)
	// The API behaves as the Kubernetes release of the libraries it is built
	// from; /version reports the gitVersion the Makefile sets.
	rc.EffectiveVersion = compatibility.NewEffectiveVersionFromString(basever.DefaultKubeBinaryVersion, "", "")

	serving := genericoptions.NewSecureServingOptions().WithLoopback()
	serving.BindAddress = cfg.BindAddress
	serving.BindPort = cfg.Port
	serving.ServerCert.CertKey = genericoptions.CertKey{CertFile: cfg.ServingCertFile, KeyFile: cfg.ServingKeyFile}
	if err := serving.ApplyTo(&rc.SecureServing, &rc.LoopbackClientConfig); err != nil {
		return nil, fmt.Errorf("secure serving: %w", err)
	}
	if err := applyAuth(&rc.Config, cfg); err != nil {
		return nil, err
	}

	backend := storagebackend.NewDefaultConfig("/registry", nil)
	backend.Transport.ServerList = cfg.EtcdServers
	backend.Transport.TrustedCAFile = cfg.EtcdCAFile
	backend.Transport.CertFile = cfg.EtcdCertFile
	backend.Transport.KeyFile = cfg.EtcdKeyFile
	etcdOpts := genericoptions.NewEtcdOptions(backend)
	// Protobuf in etcd, as kube-apiserver stores core types.
	etcdOpts.DefaultStorageMediaType = runtime.ContentTypeProtobuf
	factory := serverstorage.NewDefaultStorageFactory(*backend, etcdOpts.DefaultStorageMediaType,
		codecs, serverstorage.NewDefaultResourceEncodingConfig(scheme), serverstorage.NewResourceConfig(), nil)
	if err := etcdOpts.ApplyWithStorageFactoryTo(factory, &rc.Config); err != nil {
		return nil, fmt.Errorf("etcd storage: %w", err)
	}

	namer := openapinamer.NewDefinitionNamer(scheme)
	rc.OpenAPIConfig = genericapiserver.DefaultOpenAPIConfig(openapi.GetOpenAPIDefinitions, namer)
	rc.OpenAPIConfig.Info.Title = "Kubernetes"
	rc.OpenAPIV3Config = genericapiserver.DefaultOpenAPIV3Config(openapi.GetOpenAPIDefinitions, namer)
	rc.OpenAPIV3Config.Info.Title = "Kubernetes"

	// Long enough for `kubectl logs -f` and exec sessions later on.
	rc.MinRequestTimeout = 1800
	rc.RequestTimeout = 60 * time.Second
	// Streams last as long as the client wants, like watches: without this
	// the request timeout ends a WebSocket exec (and logs -f) after 60 s.
	// kube-apiserver's list.
	rc.LongRunningFunc = genericfilters.BasicLongRunningRequestCheck(
		sets.NewString("watch", "proxy"),
		sets.NewString("attach", "exec", "proxy", "log", "portforward"),
	)

	admission, err := newAdmission(rc)
	if err != nil {
		return nil, err
	}
	rc.AdmissionControl = admission
	tokens, err := addServiceAccountTokens(rc, cfg)
	if err != nil {
		return nil, err
	}
	// Every authenticated user is in system:authenticated, as in Kubernetes.
	rc.Authentication.Authenticator = group.NewAuthenticatedGroupAdder(rc.Authentication.Authenticator)

	generic, err := rc.Complete().New("orca-apiserver", genericapiserver.NewEmptyDelegate())
	if err != nil {
		return nil, fmt.Errorf("create generic api server: %w", err)
	}
	transport, err := kubeletTransport(cfg)
	if err != nil {
		return nil, err
	}
	s := &Server{Generic: generic, Scheme: scheme, Codecs: codecs, kubeletTransport: transport, tokens: tokens}
	if err := s.install(rc.RESTOptionsGetter); err != nil {
		return nil, err
	}
	return s, nil
}

// applyAuth authenticates client certificates signed by the cluster CA and
// optional bearer tokens. Every authenticated user may do everything until
// orca has authorization rules; unauthenticated requests get 401.
func applyAuth(c *genericapiserver.Config, cfg Config) error {
	caBytes, err := os.ReadFile(cfg.ClientCAFile)
	if err != nil {
		return fmt.Errorf("read client ca: %w", err)
	}
	ca, err := dynamiccertificates.NewStaticCAContent("client-ca", caBytes)
	if err != nil {
		return fmt.Errorf("client ca: %w", err)
	}
	if err := c.Authentication.ApplyClientCert(ca, c.SecureServing); err != nil {
		return err
	}
	authenticators := []authenticator.Request{x509request.NewDynamic(ca.VerifyOptions, x509request.CommonNameUserConversion)}
	if cfg.Tokens != nil {
		authenticators = append(authenticators, bearertoken.New(cfg.Tokens))
	}
	c.Authentication.Authenticator = union.New(authenticators...)
	c.Authorization.Authorizer = authorizerfactory.NewAlwaysAllowAuthorizer()
	return nil
}

// kubeletTransport is the HTTPS client the API server uses toward node
// agents: it presents the API server's client certificate and trusts the
// cluster CA.
func kubeletTransport(cfg Config) (http.RoundTripper, error) {
	if cfg.KubeletClientCertFile == "" {
		return http.DefaultTransport, nil
	}
	return transport.New(&transport.Config{TLS: transport.TLSConfig{
		CAFile: cfg.KubeletCAFile, CertFile: cfg.KubeletClientCertFile, KeyFile: cfg.KubeletClientKeyFile,
	}})
}
