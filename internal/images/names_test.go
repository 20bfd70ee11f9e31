package images

import "testing"

func TestParseReferenceNormalizesLikeDocker(t *testing.T) {
	const d = "sha256:" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
	for in, want := range map[string]string{
		"busybox":                          "docker.io/library/busybox:latest",
		"busybox:1.36":                     "docker.io/library/busybox:1.36",
		"library/busybox":                  "docker.io/library/busybox:latest",
		"docker.io/busybox":                "docker.io/library/busybox:latest",
		"index.docker.io/library/busybox":  "docker.io/library/busybox:latest",
		"team/app:v1":                      "docker.io/team/app:v1",
		"localhost:5000/x":                 "localhost:5000/x:latest",
		"localhost/x:v1":                   "localhost/x:v1",
		"quay.io/a/b/c:v2":                 "quay.io/a/b/c:v2",
		"busybox@" + d:                     "docker.io/library/busybox@" + d,
		"busybox:1.36@" + d:                "docker.io/library/busybox@" + d,
		"[::1]:5000/x":                     "[::1]:5000/x:latest",
		"registry.example.com:443/ns/img":  "registry.example.com:443/ns/img:latest",
		"registry-1.docker.io/library/foo": "docker.io/library/foo:latest",
	} {
		r, err := parseReference(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if r.String() != want {
			t.Errorf("%s -> %s, want %s", in, r, want)
		}
	}
}

func TestParseReferenceRejectsInvalidNames(t *testing.T) {
	for _, in := range []string{"", "Busybox", "busybox:", "a b", "busybox@sha256:short"} {
		if r, err := parseReference(in); err == nil {
			t.Errorf("%q parsed as %s", in, r)
		}
	}
}

func TestSplitNameSeparatesRepositoryFromTagOrDigest(t *testing.T) {
	for in, want := range map[string][2]string{
		"docker.io/library/busybox:latest": {"docker.io/library/busybox", "latest"},
		"localhost:5000/x:v1":              {"localhost:5000/x", "v1"},
		"localhost:5000/x":                 {"localhost:5000/x", ""},
		"quay.io/x@sha256:abc":             {"quay.io/x", "sha256:abc"},
	} {
		repo, tag := SplitName(in)
		if repo != want[0] || tag != want[1] {
			t.Errorf("%s -> %q %q, want %q %q", in, repo, tag, want[0], want[1])
		}
	}
}
