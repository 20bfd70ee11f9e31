package images

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// dockerHub is the registry short names resolve to. Names are stored and
// shown in this familiar form (as containerd's CRI plugin does), while
// go-containerregistry spells the same registry "index.docker.io".
const dockerHub = "docker.io"

// reference is a normalized image name: docker.io/library/busybox:latest or
// localhost:5000/x@sha256:... . When a name carries both a tag and a digest
// the digest wins, because that is what gets pulled.
type reference struct {
	Registry string // docker.io, quay.io, localhost:5000
	Repo     string // library/busybox
	Tag      string // set when Digest is empty
	Digest   string // sha256:<hex>
}

// parseReference normalizes a user-written image name the way Docker and the
// kubelet do: a missing registry means docker.io, a missing namespace on
// docker.io means library/, and a missing tag means latest.
func parseReference(s string) (reference, error) {
	r, err := name.ParseReference(s)
	if err != nil {
		return reference{}, fmt.Errorf("invalid image name %q: %w", s, err)
	}
	ref := reference{Registry: hubAlias(r.Context().RegistryStr()), Repo: r.Context().RepositoryStr()}
	switch r := r.(type) {
	case name.Digest:
		ref.Digest = r.DigestStr()
	case name.Tag:
		ref.Tag = r.TagStr()
	}
	return ref, nil
}

// hubAlias maps Docker Hub's API host names to the familiar "docker.io".
func hubAlias(registry string) string {
	switch registry {
	case name.DefaultRegistry, "registry-1.docker.io":
		return dockerHub
	}
	return registry
}

// Repository is the name without tag or digest: docker.io/library/busybox.
func (r reference) Repository() string { return r.Registry + "/" + r.Repo }

// String is the canonical form used as the key in the name index.
func (r reference) String() string {
	if r.Digest != "" {
		return r.Repository() + "@" + r.Digest
	}
	return r.Repository() + ":" + r.Tag
}

// withDigest is the repo digest form of r for an image pulled as digest d.
func (r reference) withDigest(d string) reference {
	return reference{Registry: r.Registry, Repo: r.Repo, Digest: d}
}

// isDigestRef tells a stored repo digest key from a tag key.
func isDigestRef(key string) bool { return strings.Contains(key, "@") }

// SplitName splits a stored name into repository and tag (or digest) for
// display, as crictl's IMAGE and TAG columns: "docker.io/library/busybox",
// "latest". A repo digest yields the digest as its second value.
func SplitName(n string) (repo, tagOrDigest string) {
	if i := strings.LastIndex(n, "@"); i >= 0 {
		return n[:i], n[i+1:]
	}
	// The tag separator is the last colon after the last slash, so a
	// registry port (localhost:5000/x) is not mistaken for a tag.
	if i := strings.LastIndex(n, ":"); i > strings.LastIndex(n, "/") {
		return n[:i], n[i+1:]
	}
	return n, ""
}

var hexPrefix = regexp.MustCompile(`^(sha256:)?[0-9a-f]{4,64}$`)

// idPrefix returns the hex part of s when s could be an image ID or a
// unique prefix of one (at least 4 hex digits, optionally "sha256:").
func idPrefix(s string) (string, bool) {
	if !hexPrefix.MatchString(s) {
		return "", false
	}
	return strings.TrimPrefix(s, "sha256:"), true
}
