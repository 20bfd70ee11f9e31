package images

import (
	"encoding/json"
	"fmt"
	"io"
)

// dockerManifestEntry is one image in a docker-archive's manifest.json, the
// format `docker save` writes.
type dockerManifestEntry struct {
	Config   string
	RepoTags []string
	Layers   []string
}

// dockerImages reads every image of a docker-archive. Layers may be plain
// tar (classic docker save) or compressed; their content is verified later
// against the config's diffIDs, and the config itself is what the image ID
// is computed from, so the chain of trust needs no manifest digest here.
func (a *tarArchive) dockerImages() ([]archiveImage, error) {
	data, err := a.readFile("manifest.json")
	if err != nil {
		return nil, err
	}
	var entries []dockerManifestEntry
	if err := json.Unmarshal(data, &entries); err != nil {
		return nil, fmt.Errorf("%s: parsing manifest.json: %w", a.path, err)
	}
	var out []archiveImage
	for _, e := range entries {
		raw, err := a.readFile(e.Config)
		if err != nil {
			return nil, err
		}
		img := archiveImage{rawConfig: raw}
		for _, t := range e.RepoTags {
			r, err := parseReference(t)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", a.path, err)
			}
			img.names = append(img.names, r)
		}
		for _, l := range e.Layers {
			img.layers = append(img.layers, func() (io.ReadCloser, error) { return a.open(l) })
		}
		out = append(out, img)
	}
	return out, nil
}
