package images

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
)

func TestCredentialsFromDockerConfigJSONDecodesAuth(t *testing.T) {
	data := `{"auths":{
		"https://index.docker.io/v1/":{"auth":"YWxpY2U6czNjcjp0"},
		"quay.io":{"username":"bob","password":"pw","email":"b@example.com"},
		"gcr.io":{"identitytoken":"tok"}}}`
	got, err := CredentialsFromDockerConfigJSON([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	want := []Credential{
		{Registry: "gcr.io", IdentityToken: "tok"},
		{Registry: "https://index.docker.io/v1/", Username: "alice", Password: "s3cr:t", Auth: "YWxpY2U6czNjcjp0"},
		{Registry: "quay.io", Username: "bob", Password: "pw"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCredentialsFromLegacyDockerCfg(t *testing.T) {
	got, err := CredentialsFromDockerCfg([]byte(`{"registry.example.com:5000":{"auth":"dTpw"}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Credential{{Registry: "registry.example.com:5000", Username: "u", Password: "p", Auth: "dTpw"}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestCredentialsWithMalformedAuthAreRejected(t *testing.T) {
	for _, data := range []string{
		`{"auths":{"r.io":{"auth":"!!!"}}}`,
		`{"auths":{"r.io":{"auth":"bm9jb2xvbg=="}}}`, // "nocolon"
		`not json`,
	} {
		if _, err := CredentialsFromDockerConfigJSON([]byte(data)); err == nil {
			t.Errorf("%s: no error", data)
		}
	}
}

// TestKeyringMatchesLikeTheKubelet pins the kubelet dockerconfig keyring
// rules the store follows when choosing a pull secret for a registry.
func TestKeyringMatchesLikeTheKubelet(t *testing.T) {
	for _, tc := range []struct {
		key, image string
		match      bool
	}{
		{"docker.io", "docker.io/library/busybox", true},
		{"https://index.docker.io/v1/", "docker.io/library/busybox", true},
		{"index.docker.io", "docker.io/team/app", true},
		{"https://index.docker.io/v1/", "quay.io/team/app", false},
		{"quay.io", "quay.io/team/app", true},
		{"https://quay.io", "quay.io/team/app", true},
		{"quay.io/team", "quay.io/team/app", true},
		{"quay.io/team", "quay.io/other/app", false},
		{"*.example.com", "r.example.com/app", true},
		{"*.example.com", "example.com/app", false},
		{"r.example.com:5000", "r.example.com/app", false},
		{"r.example.com:5000", "r.example.com:5000/app", true},
	} {
		k := newKeyring([]Credential{{Registry: tc.key, Username: "u", Password: "p"}})
		if got := len(k.lookup(tc.image)) > 0; got != tc.match {
			t.Errorf("key %q image %q: match = %v, want %v", tc.key, tc.image, got, tc.match)
		}
	}
}

func TestKeyringPrefersMostSpecificKeyAndFallsBackToAnonymous(t *testing.T) {
	k := newKeyring([]Credential{
		{Registry: "quay.io", Username: "any"},
		{Registry: "quay.io/team", Username: "team"},
	})
	resolve := func(ref string) string {
		r, err := name.ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		a, err := k.Resolve(r.Context())
		if err != nil {
			t.Fatal(err)
		}
		if a == authn.Anonymous {
			return "anonymous"
		}
		cfg, _ := a.Authorization()
		return cfg.Username
	}
	for ref, want := range map[string]string{
		"quay.io/team/app": "team",
		"quay.io/other/x":  "any",
		"ghcr.io/x/y":      "anonymous",
	} {
		if got := resolve(ref); got != want {
			t.Errorf("%s: used %q, want %q", ref, got, want)
		}
	}
}
