package images

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The node runs linux/amd64 containers only.
var nodePlatform = v1.Platform{OS: "linux", Architecture: "amd64"}

// errPlatformMissing: a multi-arch index without a linux/amd64 image.
var errPlatformMissing = errors.New("no matching platform")

// PullStats is what the kubelet reports in its "Pulled" event.
type PullStats struct {
	// Bytes are the blob bytes downloaded: manifests, config, and the
	// compressed size of layers that were not already present.
	Bytes    int64
	Duration time.Duration
}

// Pull fetches ref for linux/amd64, trying the configured mirrors of its
// registry in order and then the registry itself. creds are a pod's
// imagePullSecrets; they are offered to the hosts they name, and the
// registries.yaml auth of a host is used when none matches.
//
// When every endpoint fails, the error is the most telling one (a registry
// that answered beats one that could not be reached), reads
// "<ref>: <sentinel>: <registry's message>", and wraps ErrNotFound,
// ErrUnauthorized or ErrRegistryUnavailable when one applies.
func (s *Store) Pull(ctx context.Context, ref string, creds []Credential) (*Image, PullStats, error) {
	start := time.Now()
	r, err := parseReference(ref)
	if err != nil {
		return nil, PullStats{}, err
	}
	// Shared: Remove must not collect a layer this pull found present
	// before the pull's record references it.
	unlock, err := flock(s.path("store.lock"), false)
	if err != nil {
		return nil, PullStats{}, err
	}
	defer unlock()

	keys := authn.NewMultiKeychain(newKeyring(creds), s.registries)
	var best error
	for _, ep := range s.registries.endpoints(r) {
		img, n, err := s.pullFrom(ctx, r, ep, keys)
		if err == nil {
			stats := PullStats{Bytes: n, Duration: time.Since(start)}
			s.log.Info("pulled image", "image", r.String(), "endpoint", ep.Host, "id", img.ID,
				"bytes", stats.Bytes, "duration", stats.Duration)
			return img, stats, nil
		}
		err = pullError(r.String(), err)
		if ctx.Err() != nil {
			return nil, PullStats{Duration: time.Since(start)}, err
		}
		s.log.Debug("pull from endpoint failed", "image", r.String(), "endpoint", ep.Host, "err", err)
		if morePrecise(err, best) {
			best = err
		}
	}
	return nil, PullStats{Duration: time.Since(start)}, best
}

// pullFrom pulls r from one endpoint and stores it under r's own name.
func (s *Store) pullFrom(ctx context.Context, r reference, ep endpoint, keys authn.Keychain) (*Image, int64, error) {
	var nameOpts []name.Option
	if ep.PlainHTTP {
		nameOpts = append(nameOpts, name.Insecure)
	}
	reg, err := name.NewRegistry(ep.Host, nameOpts...)
	if err != nil {
		return nil, 0, err
	}
	var src name.Reference = reg.Repo(ep.Repo).Tag(r.Tag)
	if r.Digest != "" {
		src = reg.Repo(ep.Repo).Digest(r.Digest)
	}
	desc, err := remote.Get(src,
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(keys),
		remote.WithTransport(s.registries.transport(ep.Host)),
		remote.WithPlatform(nodePlatform),
		remote.WithUserAgent("orca"),
	)
	if err != nil {
		return nil, 0, err
	}
	img, manifestBytes, err := platformImage(desc)
	if err != nil {
		return nil, 0, err
	}
	rawConfig, err := img.RawConfigFile()
	if err != nil {
		return nil, 0, err
	}
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, 0, fmt.Errorf("parsing image config: %w", err)
	}
	layers, err := img.Layers()
	if err != nil {
		return nil, 0, err
	}
	if len(layers) != len(cfg.RootFS.DiffIDs) {
		return nil, 0, fmt.Errorf("image has %d layers but its config lists %d", len(layers), len(cfg.RootFS.DiffIDs))
	}
	sources := make([]layerSource, len(layers))
	for i, l := range layers {
		size, err := l.Size()
		if err != nil {
			size = -1
		}
		sources[i] = layerSource{diffID: cfg.RootFS.DiffIDs[i], open: l.Uncompressed, size: size}
	}
	infos, layerBytes, err := s.ensureLayers(ctx, sources)
	if err != nil {
		return nil, 0, err
	}
	refs := []reference{r.withDigest(desc.Digest.String())}
	if r.Tag != "" {
		refs = append(refs, r)
	}
	stored, err := s.store(rawConfig, infos, refs, r.String())
	if err != nil {
		return nil, 0, err
	}
	return stored, desc.Size + manifestBytes + int64(len(rawConfig)) + layerBytes, nil
}

// platformImage resolves a multi-arch index to its linux/amd64 image; a
// child without a platform counts as linux/amd64, as in go-containerregistry.
// It also returns the size of the child manifest fetched for that.
func platformImage(desc *remote.Descriptor) (v1.Image, int64, error) {
	if desc.MediaType != types.OCIImageIndex && desc.MediaType != types.DockerManifestList {
		img, err := desc.Image()
		return img, 0, err
	}
	idx, err := desc.ImageIndex()
	if err != nil {
		return nil, 0, err
	}
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, 0, err
	}
	var have []string
	for _, m := range im.Manifests {
		p := m.Platform
		if p == nil || (p.OS == nodePlatform.OS && p.Architecture == nodePlatform.Architecture) {
			img, err := idx.Image(m.Digest)
			return img, m.Size, err
		}
		if p.OS != "unknown" { // attestation manifests
			have = append(have, platformString(*p))
		}
	}
	return nil, 0, fmt.Errorf("%w: index %s has no %s image (it has %s)", errPlatformMissing,
		desc.Digest, platformString(nodePlatform), strings.Join(have, ", "))
}

func platformString(p v1.Platform) string {
	s := p.OS + "/" + p.Architecture
	if p.Variant != "" {
		s += "/" + p.Variant
	}
	return s
}

// store records an image and its names, and returns it as asked by name.
// Callers hold the store lock shared.
func (s *Store) store(rawConfig []byte, layers []layerInfo, refs []reference, asked string) (*Image, error) {
	id, err := s.writeRecord(rawConfig, layers)
	if err != nil {
		return nil, err
	}
	if len(refs) > 0 {
		if err := s.updateIndex(func(idx *nameIndex) {
			for _, r := range refs {
				idx.Refs[r.String()] = id
			}
		}); err != nil {
			return nil, err
		}
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	return s.image(idx, id, asked)
}
