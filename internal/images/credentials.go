package images

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
)

// Credential is one registry login from a pod's imagePullSecrets.
type Credential struct {
	// Registry is the key as written in the docker config: "docker.io",
	// "https://index.docker.io/v1/", "quay.io/team", "*.example.com:5000".
	Registry      string
	Username      string
	Password      string
	Auth          string // base64("username:password"), as docker login stores it
	IdentityToken string
}

type dockerConfigEntry struct {
	Username      string `json:"username,omitempty"`
	Password      string `json:"password,omitempty"`
	Auth          string `json:"auth,omitempty"`
	IdentityToken string `json:"identitytoken,omitempty"`
}

// CredentialsFromDockerConfigJSON parses the .dockerconfigjson key of a
// kubernetes.io/dockerconfigjson secret: {"auths": {"<registry>": {...}}}.
func CredentialsFromDockerConfigJSON(data []byte) ([]Credential, error) {
	var cfg struct {
		Auths map[string]dockerConfigEntry `json:"auths"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("parsing .dockerconfigjson: %w", err)
	}
	return credentialsFromEntries(cfg.Auths)
}

// CredentialsFromDockerCfg parses the .dockercfg key of a legacy
// kubernetes.io/dockercfg secret, which is the "auths" map without the wrapper.
func CredentialsFromDockerCfg(data []byte) ([]Credential, error) {
	var auths map[string]dockerConfigEntry
	if err := json.Unmarshal(data, &auths); err != nil {
		return nil, fmt.Errorf("parsing .dockercfg: %w", err)
	}
	return credentialsFromEntries(auths)
}

func credentialsFromEntries(auths map[string]dockerConfigEntry) ([]Credential, error) {
	creds := make([]Credential, 0, len(auths))
	for registry, e := range auths {
		c := Credential{Registry: registry, Username: e.Username, Password: e.Password, Auth: e.Auth, IdentityToken: e.IdentityToken}
		if e.Auth != "" && e.Username == "" && e.Password == "" {
			user, pass, err := decodeAuth(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("registry %q: %w", registry, err)
			}
			c.Username, c.Password = user, pass
		}
		creds = append(creds, c)
	}
	sort.Slice(creds, func(i, j int) bool { return creds[i].Registry < creds[j].Registry })
	return creds, nil
}

func decodeAuth(auth string) (user, pass string, err error) {
	raw, err := base64.StdEncoding.DecodeString(auth)
	if err != nil {
		return "", "", fmt.Errorf("auth is not base64: %w", err)
	}
	user, pass, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", fmt.Errorf("auth is not base64(username:password)")
	}
	return user, pass, nil
}

func (c Credential) authenticator() authn.Authenticator {
	return authn.FromConfig(authn.AuthConfig{Username: c.Username, Password: c.Password, Auth: c.Auth, IdentityToken: c.IdentityToken})
}

// keyring matches credentials to images the way the kubelet's dockerconfig
// keyring does (pkg/credentialprovider/keyring.go): keys are schemeless URLs
// whose host may hold globs per dot-separated label, ports must be equal,
// the key's path must prefix the image's path, more specific keys win, and
// "index.docker.io" (what docker login writes as https://index.docker.io/v1/)
// also serves docker.io images.
type keyring struct {
	keys  []string // sorted most specific first
	creds map[string][]Credential
}

func newKeyring(creds []Credential) *keyring {
	k := &keyring{creds: map[string][]Credential{}}
	for _, c := range creds {
		key, ok := keyringKey(c.Registry)
		if !ok {
			continue
		}
		if _, seen := k.creds[key]; !seen {
			k.keys = append(k.keys, key)
		}
		k.creds[key] = append(k.creds[key], c)
	}
	// Reverse lexical order puts longer paths under the same host first,
	// exactly as the kubelet sorts its index.
	sort.Sort(sort.Reverse(sort.StringSlice(k.keys)))
	return k
}

func keyringKey(registry string) (string, bool) {
	v := registry
	if !strings.HasPrefix(v, "https://") && !strings.HasPrefix(v, "http://") {
		v = "https://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		return "", false
	}
	p := u.Path
	if strings.HasPrefix(p, "/v2/") || strings.HasPrefix(p, "/v1/") {
		p = p[3:]
	}
	if p == "" || p == "/" {
		return u.Host, true
	}
	return u.Host + strings.TrimSuffix(p, "/"), true
}

// lookup returns the credentials for an image repository such as
// "docker.io/library/busybox" or "127.0.0.1:5000/team/app".
func (k *keyring) lookup(image string) []Credential {
	var out []Credential
	for _, key := range k.keys {
		if urlsMatch(key, image) {
			out = append(out, k.creds[key]...)
		}
	}
	if len(out) == 0 && strings.HasPrefix(image, dockerHub+"/") {
		out = k.creds["index.docker.io"]
	}
	return out
}

// Resolve makes the keyring an authn.Keychain: the most specific matching
// credential, or anonymous.
func (k *keyring) Resolve(res authn.Resource) (authn.Authenticator, error) {
	reg := res.RegistryStr()
	image := hubAlias(reg) + strings.TrimPrefix(res.String(), reg)
	if creds := k.lookup(image); len(creds) > 0 {
		return creds[0].authenticator(), nil
	}
	return authn.Anonymous, nil
}

func urlsMatch(glob, target string) bool {
	g, err1 := url.Parse("https://" + glob)
	t, err2 := url.Parse("https://" + target)
	if err1 != nil || err2 != nil {
		return false
	}
	gParts, gPort := splitHost(g.Host)
	tParts, tPort := splitHost(t.Host)
	if gPort != tPort || len(gParts) != len(tParts) || !strings.HasPrefix(t.Path, g.Path) {
		return false
	}
	for i := range gParts {
		if ok, err := filepath.Match(gParts[i], tParts[i]); err != nil || !ok {
			return false
		}
	}
	return true
}

func splitHost(hostport string) ([]string, string) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		host, port = hostport, ""
	}
	return strings.Split(host, "."), port
}
