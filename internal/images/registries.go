package images

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"sigs.k8s.io/yaml"
)

// RegistryConfig is the node's registry configuration, in the shape of
// k3s's /etc/rancher/k3s/registries.yaml so those files can be reused:
//
//	mirrors:
//	  docker.io:
//	    endpoint: ["http://127.0.0.1:5000", "https://mirror.example.com"]
//	    rewrite: {"^library/(.*)": "dockerhub/$1"}
//	  "*":
//	    endpoint: ["https://catch-all.example.com"]
//	configs:
//	  "mirror.example.com":
//	    auth: {username: u, password: p}
//	    tls: {ca_file: /etc/ssl/mirror-ca.pem, insecure_skip_verify: false}
type RegistryConfig struct {
	// Mirrors maps a registry host (or "*" for any registry without its own
	// entry) to the endpoints tried, in order, before the registry itself.
	Mirrors map[string]Mirror `json:"mirrors,omitempty"`
	// Configs maps an endpoint host[:port] (or "*") to its auth and TLS.
	Configs map[string]RegistryHostConfig `json:"configs,omitempty"`
}

// Mirror lists endpoints serving a registry's content.
type Mirror struct {
	// Endpoints are URLs; http:// means plain HTTP, no scheme means https.
	// The path may be empty or /v2 only.
	Endpoints []string `json:"endpoint,omitempty"`
	// Rewrite maps a regular expression on the repository path
	// ("library/busybox") to a replacement with $1-style groups. It applies
	// to mirror endpoints only; patterns are tried in lexical order and the
	// first match is used.
	Rewrite map[string]string `json:"rewrite,omitempty"`
}

// RegistryHostConfig is the auth and TLS for one endpoint host.
type RegistryHostConfig struct {
	Auth *RegistryAuth `json:"auth,omitempty"`
	TLS  *RegistryTLS  `json:"tls,omitempty"`
}

// RegistryAuth is a login used for every pull from the host.
type RegistryAuth struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// RegistryTLS configures HTTPS to the host.
type RegistryTLS struct {
	CAFile             string `json:"ca_file,omitempty"`
	CertFile           string `json:"cert_file,omitempty"`
	KeyFile            string `json:"key_file,omitempty"`
	InsecureSkipVerify bool   `json:"insecure_skip_verify,omitempty"`
}

// LoadRegistryConfig reads a registries.yaml file. A missing file is an
// empty configuration (pull straight from each registry), as in k3s.
func LoadRegistryConfig(path string) (RegistryConfig, error) {
	var cfg RegistryConfig
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return cfg, nil
	}
	if err != nil {
		return cfg, fmt.Errorf("reading registry config: %w", err)
	}
	if err := yaml.Unmarshal(data, &cfg); err != nil {
		return cfg, fmt.Errorf("parsing registry config %s: %w", path, err)
	}
	if _, err := compileRegistries(cfg); err != nil {
		return cfg, fmt.Errorf("registry config %s: %w", path, err)
	}
	return cfg, nil
}

// endpoint is one place to pull a reference from.
type endpoint struct {
	Host      string // host[:port] as dialed; "docker.io" for Docker Hub
	PlainHTTP bool
	Repo      string // repository path at this endpoint (after rewrite)
	Mirror    bool
}

type compiledMirror struct {
	endpoints []endpoint // Repo unset: filled per reference
	rewrites  []rewrite
}

type rewrite struct {
	re   *regexp.Regexp
	repl string
}

// registries is a validated RegistryConfig with TLS material loaded.
type registries struct {
	mirrors    map[string]compiledMirror
	configs    map[string]RegistryHostConfig
	transports map[string]http.RoundTripper // by host, when TLS is customized
}

func compileRegistries(cfg RegistryConfig) (*registries, error) {
	r := &registries{mirrors: map[string]compiledMirror{}, configs: cfg.Configs, transports: map[string]http.RoundTripper{}}
	for host, m := range cfg.Mirrors {
		var cm compiledMirror
		for _, raw := range m.Endpoints {
			ep, err := parseEndpoint(raw)
			if err != nil {
				return nil, fmt.Errorf("mirror %q: %w", host, err)
			}
			cm.endpoints = append(cm.endpoints, ep)
		}
		patterns := make([]string, 0, len(m.Rewrite))
		for p := range m.Rewrite {
			patterns = append(patterns, p)
		}
		sort.Strings(patterns)
		for _, p := range patterns {
			re, err := regexp.Compile(p)
			if err != nil {
				return nil, fmt.Errorf("mirror %q rewrite: %w", host, err)
			}
			cm.rewrites = append(cm.rewrites, rewrite{re: re, repl: m.Rewrite[p]})
		}
		r.mirrors[host] = cm
	}
	for host, c := range cfg.Configs {
		if c.TLS == nil {
			continue
		}
		t, err := tlsTransport(*c.TLS)
		if err != nil {
			return nil, fmt.Errorf("configs %q: %w", host, err)
		}
		r.transports[host] = t
	}
	return r, nil
}

func parseEndpoint(raw string) (endpoint, error) {
	v := raw
	if !strings.Contains(v, "://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return endpoint{}, fmt.Errorf("invalid endpoint %q", raw)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return endpoint{}, fmt.Errorf("endpoint %q: scheme must be http or https", raw)
	}
	if p := strings.TrimSuffix(u.Path, "/"); p != "" && p != "/v2" {
		return endpoint{}, fmt.Errorf("endpoint %q: paths other than /v2 are not supported", raw)
	}
	return endpoint{Host: u.Host, PlainHTTP: u.Scheme == "http", Mirror: true}, nil
}

func tlsTransport(c RegistryTLS) (http.RoundTripper, error) {
	tc := &tls.Config{InsecureSkipVerify: c.InsecureSkipVerify} //nolint:gosec // the operator asked for it
	if c.CAFile != "" {
		pool, err := x509.SystemCertPool()
		if err != nil {
			pool = x509.NewCertPool()
		}
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("reading ca_file: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ca_file %s holds no PEM certificates", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("loading client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	base, ok := remote.DefaultTransport.(*http.Transport)
	if !ok {
		base = http.DefaultTransport.(*http.Transport)
	}
	t := base.Clone()
	t.TLSClientConfig = tc
	return t, nil
}

// endpoints lists where to pull ref from: its mirrors (or the "*" mirrors)
// in order, then the registry itself, which k3s also always falls back to.
func (r *registries) endpoints(ref reference) []endpoint {
	m, ok := r.mirrors[ref.Registry]
	if !ok {
		m = r.mirrors["*"]
	}
	upstream := endpoint{Host: ref.Registry, Repo: ref.Repo}
	var out []endpoint
	for _, ep := range m.endpoints {
		if ep.Host == upstream.Host && !ep.PlainHTTP {
			continue // the registry itself is tried last anyway
		}
		ep.Repo = ref.Repo
		for _, rw := range m.rewrites {
			if rw.re.MatchString(ref.Repo) {
				ep.Repo = rw.re.ReplaceAllString(ref.Repo, rw.repl)
				break
			}
		}
		out = append(out, ep)
	}
	return append(out, upstream)
}

// hostKeys lists the configs keys that may describe host, most specific
// first: Docker Hub's several names count as one, "*" matches any host.
func hostKeys(host string) []string {
	keys := []string{host}
	if hubAlias(host) == dockerHub {
		keys = append(keys, dockerHub, "index.docker.io", "registry-1.docker.io")
	}
	return append(keys, "*")
}

// hostConfig returns the configs key and entry that apply to host.
func (r *registries) hostConfig(host string) (string, RegistryHostConfig, bool) {
	for _, k := range hostKeys(host) {
		if c, ok := r.configs[k]; ok {
			return k, c, true
		}
	}
	return "", RegistryHostConfig{}, false
}

// transport is the HTTP transport for host: the default one unless its
// configs entry customizes TLS.
func (r *registries) transport(host string) http.RoundTripper {
	if k, _, ok := r.hostConfig(host); ok {
		if t, ok := r.transports[k]; ok {
			return t
		}
	}
	return remote.DefaultTransport
}

// Resolve makes the configs' auth entries an authn.Keychain.
func (r *registries) Resolve(res authn.Resource) (authn.Authenticator, error) {
	_, c, ok := r.hostConfig(res.RegistryStr())
	if !ok || c.Auth == nil {
		return authn.Anonymous, nil
	}
	a := c.Auth
	return authn.FromConfig(authn.AuthConfig{Username: a.Username, Password: a.Password, Auth: a.Auth, IdentityToken: a.IdentityToken}), nil
}
