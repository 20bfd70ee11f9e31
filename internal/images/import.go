package images

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Import stores every image in a tarball: a docker-archive (docker save,
// identified by manifest.json) or an OCI image layout in a tar (index.json
// and oci-layout; nerdctl save, skopeo oci-archive:, buildx --output
// type=oci). Docker 25+ writes both; manifest.json is preferred there for
// its RepoTags. Images keep the names the archive gives them.
func (s *Store) Import(ctx context.Context, path string) ([]*Image, error) {
	a, err := openTarArchive(path)
	if err != nil {
		return nil, fmt.Errorf("importing %s: %w", path, err)
	}
	var found []archiveImage
	switch {
	case a.has("manifest.json"):
		found, err = a.dockerImages()
	case a.has("index.json"):
		found, err = a.ociImages()
	default:
		err = errors.New("neither a docker-archive (no manifest.json) nor an OCI archive (no index.json)")
	}
	if err != nil {
		return nil, fmt.Errorf("importing %s: %w", path, err)
	}
	unlock, err := flock(s.path("store.lock"), false)
	if err != nil {
		return nil, err
	}
	defer unlock()
	var out []*Image
	for _, ai := range found {
		img, err := s.importImage(ctx, ai)
		if err != nil {
			return out, fmt.Errorf("importing %s: %w", path, err)
		}
		if len(img.Names) == 0 {
			s.log.Warn("imported image has no name; it is reachable by ID only", "archive", path, "id", img.ID)
		}
		out = append(out, img)
	}
	return out, nil
}

func (s *Store) importImage(ctx context.Context, ai archiveImage) (*Image, error) {
	diffIDs, err := parseConfigDiffIDs(ai.rawConfig)
	if err != nil {
		return nil, err
	}
	if len(diffIDs) != len(ai.layers) {
		return nil, fmt.Errorf("image has %d layers but its config lists %d", len(ai.layers), len(diffIDs))
	}
	sources := make([]layerSource, len(diffIDs))
	for i, open := range ai.layers {
		sources[i] = layerSource{diffID: diffIDs[i], open: uncompressed(open), size: -1}
	}
	infos, _, err := s.ensureLayers(ctx, sources)
	if err != nil {
		return nil, err
	}
	asked := ""
	if len(ai.names) > 0 {
		asked = ai.names[0].String()
	}
	return s.store(ai.rawConfig, infos, ai.names, asked)
}

// ImportDir imports every *.tar in dir, as the agent does at start with
// AutoImportDir. A missing dir is not an error. One bad tarball does not
// stop the others; all failures are returned together.
func (s *Store) ImportDir(ctx context.Context, dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("importing from %s: %w", dir, err)
	}
	var errs []error
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if !strings.HasSuffix(e.Name(), ".tar") {
			continue
		}
		if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
			continue // symlinks to tarballs are fine, directories are not
		}
		imgs, err := s.Import(ctx, p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, img := range imgs {
			s.log.Info("imported image", "archive", p, "image", img.Name, "id", img.ID)
		}
	}
	return errors.Join(errs...)
}
