package images

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

func TestMirrorServesDockerHubShortNameUnderItsOriginalName(t *testing.T) {
	requireRoot(t)
	var hits atomic.Int32
	host := newRegistry(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			next.ServeHTTP(w, r)
		})
	})
	img := newImage(t, "busybox", newLayer(t, file("bin/busybox", "bb")))
	digest := push(t, host+"/library/busybox:latest", img)
	hits.Store(0)
	// The first endpoint is down: mirrors are tried in order.
	regs := RegistryConfig{Mirrors: map[string]Mirror{dockerHub: {Endpoints: []string{"http://127.0.0.1:1", "http://" + host}}}}
	s := newTestStore(t, "", regs)

	got, _, err := s.Pull(context.Background(), "busybox", nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if hits.Load() == 0 {
		t.Fatal("the mirror was never asked")
	}
	if got.Name != "docker.io/library/busybox:latest" || got.RepoDigest != "docker.io/library/busybox@"+digest.String() {
		t.Errorf("Name %q RepoDigest %q, want docker.io names whatever mirror served them", got.Name, got.RepoDigest)
	}
	for _, ref := range []string{"busybox", "busybox:latest", "library/busybox", "docker.io/library/busybox:latest", "index.docker.io/library/busybox"} {
		if byName, err := s.Get(ref); err != nil || byName.ID != got.ID {
			t.Errorf("Get(%q) = %v, %v", ref, byName, err)
		}
	}
}

func TestMirrorRewriteMapsRepositoryPath(t *testing.T) {
	requireRoot(t)
	host := newRegistry(t, nil)
	img := newImage(t, "rewritten", newLayer(t, file("f", "f")))
	push(t, host+"/mirrored/library/nginx:1.27", img)
	regs := RegistryConfig{Mirrors: map[string]Mirror{"*": {
		Endpoints: []string{"http://" + host},
		Rewrite:   map[string]string{"^library/(.*)": "mirrored/library/$1"},
	}}}
	s := newTestStore(t, "", regs)

	got, _, err := s.Pull(context.Background(), "nginx:1.27", nil)
	if err != nil {
		t.Fatalf("Pull: %v", err)
	}
	if got.Name != "docker.io/library/nginx:1.27" || got.ID != configDigest(t, img) {
		t.Errorf("got %q %s", got.Name, got.ID)
	}
}

func TestMirrorMissingImageStillReportsNotFound(t *testing.T) {
	host := newRegistry(t, nil)
	// The mirror answers "unknown"; the upstream (a dead local port here)
	// cannot be reached. The answer that says something wins.
	regs := RegistryConfig{Mirrors: map[string]Mirror{"127.0.0.1:1": {Endpoints: []string{"http://" + host}}}}
	s := newTestStore(t, "", regs)
	_, _, err := s.Pull(context.Background(), "127.0.0.1:1/app:v1", nil)
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("err = %v, want ErrNotFound from the mirror", err)
	}
}

func TestRegistriesYAMLInK3sShapeLoads(t *testing.T) {
	p := filepath.Join(t.TempDir(), "registries.yaml")
	yaml := `
mirrors:
  docker.io:
    endpoint:
      - "http://127.0.0.1:5000"
      - "https://mirror.example.com/v2"
    rewrite:
      "^rancher/(.*)": "mirrorproject/rancher-images/$1"
  "*":
    endpoint: ["https://catchall.example.com"]
configs:
  "mirror.example.com":
    auth:
      username: u
      password: p
    tls:
      insecure_skip_verify: true
`
	if err := os.WriteFile(p, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := LoadRegistryConfig(p)
	if err != nil {
		t.Fatalf("LoadRegistryConfig: %v", err)
	}
	want := RegistryConfig{
		Mirrors: map[string]Mirror{
			"docker.io": {Endpoints: []string{"http://127.0.0.1:5000", "https://mirror.example.com/v2"},
				Rewrite: map[string]string{"^rancher/(.*)": "mirrorproject/rancher-images/$1"}},
			"*": {Endpoints: []string{"https://catchall.example.com"}},
		},
		Configs: map[string]RegistryHostConfig{"mirror.example.com": {
			Auth: &RegistryAuth{Username: "u", Password: "p"},
			TLS:  &RegistryTLS{InsecureSkipVerify: true},
		}},
	}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Fatalf("config (-want +got):\n%s", diff)
	}

	regs, err := compileRegistries(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := parseReference("rancher/klipper-lb:v0.4")
	wantEps := []endpoint{
		{Host: "127.0.0.1:5000", PlainHTTP: true, Repo: "mirrorproject/rancher-images/klipper-lb", Mirror: true},
		{Host: "mirror.example.com", Repo: "mirrorproject/rancher-images/klipper-lb", Mirror: true},
		{Host: "docker.io", Repo: "rancher/klipper-lb"},
	}
	if diff := cmp.Diff(wantEps, regs.endpoints(r)); diff != "" {
		t.Errorf("docker.io endpoints (-want +got):\n%s", diff)
	}
	q, _ := parseReference("quay.io/team/app")
	wantEps = []endpoint{
		{Host: "catchall.example.com", Repo: "team/app", Mirror: true},
		{Host: "quay.io", Repo: "team/app"},
	}
	if diff := cmp.Diff(wantEps, regs.endpoints(q)); diff != "" {
		t.Errorf("quay.io endpoints via \"*\" (-want +got):\n%s", diff)
	}
}

func TestRegistryConfigErrorsNameTheProblem(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  RegistryConfig
		want string
	}{
		{"bad regex", RegistryConfig{Mirrors: map[string]Mirror{"docker.io": {Rewrite: map[string]string{"(": "x"}}}},
			"mirror \"docker.io\" rewrite: error parsing regexp: missing closing ): `(`"},
		{"endpoint path", RegistryConfig{Mirrors: map[string]Mirror{"docker.io": {Endpoints: []string{"https://m.example.com/prefix"}}}},
			"mirror \"docker.io\": endpoint \"https://m.example.com/prefix\": paths other than /v2 are not supported"},
		{"missing CA", RegistryConfig{Configs: map[string]RegistryHostConfig{"r.example.com": {TLS: &RegistryTLS{CAFile: "/nonexistent/ca.pem"}}}},
			"configs \"r.example.com\": reading ca_file: open /nonexistent/ca.pem: no such file or directory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compileRegistries(tc.cfg)
			if err == nil || err.Error() != tc.want {
				t.Errorf("err = %v\nwant %s", err, tc.want)
			}
		})
	}
}

func TestMissingRegistriesYAMLIsEmptyConfig(t *testing.T) {
	cfg, err := LoadRegistryConfig(filepath.Join(t.TempDir(), "absent.yaml"))
	if err != nil || len(cfg.Mirrors) != 0 || len(cfg.Configs) != 0 {
		t.Errorf("got %+v, %v; want empty config", cfg, err)
	}
}

func TestRegistryTLSConfigTrustsConfiguredCA(t *testing.T) {
	requireRoot(t)
	srv := httptest.NewUnstartedServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point
	srv.StartTLS()
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "https://")
	img := newImage(t, "tls", newLayer(t, file("t", "t")))
	ref, _ := name.ParseReference(host + "/secure/app:v1")
	if err := remote.Write(ref, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o644); err != nil {
		t.Fatal(err)
	}

	if _, _, err := newTestStore(t, "", RegistryConfig{}).Pull(context.Background(), host+"/secure/app:v1", nil); err == nil ||
		!strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("without ca_file: err = %v, want an unknown-authority error", err)
	} else {
		t.Logf("without ca_file: %v", err)
	}
	for _, tlsCfg := range []*RegistryTLS{{CAFile: ca}, {InsecureSkipVerify: true}} {
		regs := RegistryConfig{Configs: map[string]RegistryHostConfig{host: {TLS: tlsCfg}}}
		if _, _, err := newTestStore(t, "", regs).Pull(context.Background(), host+"/secure/app:v1", nil); err != nil {
			t.Errorf("with %+v: %v", *tlsCfg, err)
		}
	}
}
