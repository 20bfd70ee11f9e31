package images

import (
	"bytes"
	"fmt"
	"io"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// Annotations naming an image in an OCI layout's index.json. containerd
// (and Docker 25+, nerdctl, BuildKit) write the full name in the first;
// the OCI spec's ref.name is often only a tag, which cannot name an image
// by itself, so it counts only when it holds a repository.
const (
	annotationImageName = "io.containerd.image.name"
	annotationRefName   = "org.opencontainers.image.ref.name"
)

// ociImages reads the linux/amd64 images of an OCI image layout archived
// as a tar (oci-layout, index.json, blobs/). Manifests, indexes and configs
// are checked against their digests; layers against the config's diffIDs.
func (a *tarArchive) ociImages() ([]archiveImage, error) {
	data, err := a.readFile("index.json")
	if err != nil {
		return nil, err
	}
	index, err := v1.ParseIndexManifest(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: parsing index.json: %w", a.path, err)
	}
	var out []archiveImage
	for _, d := range index.Manifests {
		img, ok, err := a.ociImage(d, 0)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		if r, ok := ociName(d.Annotations); ok {
			img.names = append(img.names, r, r.withDigest(d.Digest.String()))
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: %w: the archive holds no %s image", a.path, errPlatformMissing, platformString(nodePlatform))
	}
	return out, nil
}

func ociName(annotations map[string]string) (reference, bool) {
	n := annotations[annotationImageName]
	if n == "" {
		n = annotations[annotationRefName]
		if !strings.ContainsAny(n, "/:") {
			return reference{}, false
		}
	}
	r, err := parseReference(n)
	return r, err == nil
}

// ociImage resolves a descriptor to the linux/amd64 image it holds, if any.
func (a *tarArchive) ociImage(d v1.Descriptor, depth int) (archiveImage, bool, error) {
	if p := d.Platform; p != nil && (p.OS != nodePlatform.OS || p.Architecture != nodePlatform.Architecture) {
		return archiveImage{}, false, nil
	}
	switch d.MediaType {
	case types.OCIImageIndex, types.DockerManifestList:
		if depth > 4 {
			return archiveImage{}, false, fmt.Errorf("%s: indexes nested too deep", a.path)
		}
		raw, err := a.readBlob(blobPath(d.Digest), d.Digest)
		if err != nil {
			return archiveImage{}, false, err
		}
		index, err := v1.ParseIndexManifest(bytes.NewReader(raw))
		if err != nil {
			return archiveImage{}, false, fmt.Errorf("%s: parsing index %s: %w", a.path, d.Digest, err)
		}
		for _, child := range index.Manifests {
			if img, ok, err := a.ociImage(child, depth+1); err != nil || ok {
				return img, ok, err
			}
		}
		return archiveImage{}, false, nil
	case types.OCIManifestSchema1, types.DockerManifestSchema2:
		raw, err := a.readBlob(blobPath(d.Digest), d.Digest)
		if err != nil {
			return archiveImage{}, false, err
		}
		m, err := v1.ParseManifest(bytes.NewReader(raw))
		if err != nil {
			return archiveImage{}, false, fmt.Errorf("%s: parsing manifest %s: %w", a.path, d.Digest, err)
		}
		img := archiveImage{}
		if img.rawConfig, err = a.readBlob(blobPath(m.Config.Digest), m.Config.Digest); err != nil {
			return archiveImage{}, false, err
		}
		for _, l := range m.Layers {
			p := blobPath(l.Digest)
			img.layers = append(img.layers, func() (io.ReadCloser, error) { return a.open(p) })
		}
		return img, true, nil
	default:
		return archiveImage{}, false, nil // signatures, SBOMs and other artifacts
	}
}

func blobPath(h v1.Hash) string { return "blobs/" + h.Algorithm + "/" + h.Hex }
