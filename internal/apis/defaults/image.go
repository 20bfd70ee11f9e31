package defaults

import (
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// ImagePullPolicy returns the pull policy upstream defaults for an image
// reference: Always when the reference resolves to the "latest" tag (written
// out, or implied by giving neither tag nor digest), IfNotPresent otherwise.
//
// Upstream reads the tag with k8s.io/kubernetes/pkg/util/parsers, which uses
// github.com/distribution/reference's ParseNormalizedNamed and ignores parse
// errors. An unparsable reference therefore has no tag and gets
// IfNotPresent, not Always; validation rejects it later. A reference with
// both a tag and a digest keeps its tag, so "x:latest@sha256:..." is Always.
func ImagePullPolicy(image string) corev1.PullPolicy {
	if imageTag(image) == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// The grammar of github.com/distribution/reference (regexp.go), restated so
// the same strings parse. Go's regexp is what that package uses, so the
// submatch semantics are identical.
const (
	refAlphaNumeric = `[a-z0-9]+`
	refSeparator    = `(?:[._]|__|[-]+)`
	refPathComp     = refAlphaNumeric + `(?:` + refSeparator + refAlphaNumeric + `)*`
	refDomainComp   = `(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])`
	refDomainName   = refDomainComp + `(?:\.` + refDomainComp + `)*`
	refIPv6         = `\[(?:[a-fA-F0-9:]+)\]`
	refDomain       = `(?:` + refDomainName + `|` + refIPv6 + `)(?::[0-9]+)?`
	refPath         = refPathComp + `(?:/` + refPathComp + `)*`
	refName         = `(?:` + refDomain + `/)?` + refPath
	refTag          = `[\w][\w.-]{0,127}`
	refDigest       = `[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}`
)

var (
	referenceRE  = regexp.MustCompile(`^(` + refName + `)(?::(` + refTag + `))?(?:@(` + refDigest + `))?$`)
	nameRE       = regexp.MustCompile(`^(?:(` + refDomain + `)/)?(` + refPath + `)$`)
	identifierRE = regexp.MustCompile(`^[a-f0-9]{64}$`)
)

const (
	defaultRegistry      = "docker.io"
	legacyDefaultDomain  = "index.docker.io"
	officialRepoPrefix   = "library/"
	maxRepositoryPathLen = 255
)

// imageTag reports the tag as parsers.ParseImageName does: the explicit tag;
// "latest" when there is neither tag nor digest; "" for digest-only or
// unparsable references.
func imageTag(image string) string {
	// A bare 64-hex string is an image ID, which is refused as a name.
	if identifierRE.MatchString(image) {
		return ""
	}
	domain, remainder := splitDockerDomain(image)
	remote := remainder
	if i := strings.IndexByte(remainder, ':'); i >= 0 {
		remote = remainder[:i]
	}
	if strings.ToLower(remote) != remote {
		return "" // repository names must be lowercase
	}

	m := referenceRE.FindStringSubmatch(domain + "/" + remainder)
	if m == nil {
		return ""
	}
	path := m[1]
	if nm := nameRE.FindStringSubmatch(m[1]); nm != nil {
		path = nm[2]
	}
	if len(path) > maxRepositoryPathLen {
		return ""
	}
	tag, digest := m[2], m[3]
	if digest != "" && !validDigest(digest) {
		return ""
	}
	if tag == "" && digest == "" {
		return "latest"
	}
	return tag
}

// splitDockerDomain separates a registry host from the repository path the
// way ParseNormalizedNamed does: the first component is a host only if it
// contains "." or ":", is "localhost", or has upper case letters; otherwise
// the image lives on Docker Hub, where single-component names are official
// "library/" images.
func splitDockerDomain(name string) (domain, remainder string) {
	i := strings.IndexByte(name, '/')
	if i == -1 || (!strings.ContainsAny(name[:i], ".:") && name[:i] != "localhost" && strings.ToLower(name[:i]) == name[:i]) {
		domain, remainder = defaultRegistry, name
	} else {
		domain, remainder = name[:i], name[i+1:]
	}
	if domain == legacyDefaultDomain {
		domain = defaultRegistry
	}
	if domain == defaultRegistry && !strings.ContainsRune(remainder, '/') {
		remainder = officialRepoPrefix + remainder
	}
	return domain, remainder
}

// validDigest mirrors go-digest's Validate for the algorithms the kubelet
// links in (sha256, sha384, sha512): a known algorithm and lowercase hex of
// exactly its length. Anything else fails to parse upstream.
func validDigest(d string) bool {
	alg, hex, ok := strings.Cut(d, ":")
	if !ok {
		return false
	}
	var want int
	switch alg {
	case "sha256":
		want = 64
	case "sha384":
		want = 96
	case "sha512":
		want = 128
	default:
		return false
	}
	if len(hex) != want {
		return false
	}
	for _, r := range hex {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return true
}
