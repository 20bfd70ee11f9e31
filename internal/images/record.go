package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// record is an image as stored in imagedb/sha256/<id>/. It is immutable:
// the same ID always means the same config, hence the same layers.
type record struct {
	ID      string    `json:"id"`      // sha256:<hex> of config.json
	DiffIDs []string  `json:"diffIDs"` // lowest layer first
	Size    int64     `json:"size"`    // sum of the unpacked layer tar streams
	Stored  time.Time `json:"stored"`

	config *v1.ConfigFile
}

func configID(rawConfig []byte) string {
	sum := sha256.Sum256(rawConfig)
	return "sha256:" + hex.EncodeToString(sum[:])
}

func (s *Store) recordDir(id string) string {
	return s.path("imagedb", "sha256", trimAlgo(id))
}

func trimAlgo(digest string) string {
	if len(digest) > len("sha256:") && digest[:len("sha256:")] == "sha256:" {
		return digest[len("sha256:"):]
	}
	return digest
}

// writeRecord stores an image's config and layer list unless an image with
// this ID is already stored. The directory is assembled in tmp/ and renamed
// into place, so a reader finds both files or neither.
func (s *Store) writeRecord(rawConfig []byte, layers []layerInfo) (string, error) {
	id := configID(rawConfig)
	final := s.recordDir(id)
	if _, err := os.Stat(final); err == nil {
		return id, nil
	}
	rec := record{ID: id, Stored: time.Now().UTC()}
	for _, l := range layers {
		rec.DiffIDs = append(rec.DiffIDs, l.DiffID)
		rec.Size += l.Size
	}
	meta, err := json.MarshalIndent(rec, "", "  ")
	if err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(s.path("tmp"), "image-")
	if err != nil {
		return "", fmt.Errorf("storing image %s: %w", id, err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up after failures
	for name, data := range map[string][]byte{"config.json": rawConfig, "image.json": meta} {
		if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
			return "", fmt.Errorf("storing image %s: %w", id, err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return "", err
	}
	if err := syncFS(tmp); err != nil {
		return "", fmt.Errorf("storing image %s: %w", id, err)
	}
	if err := os.Rename(tmp, final); err != nil && !isExist(err) {
		return "", fmt.Errorf("storing image %s: %w", id, err)
	}
	return id, syncDir(filepath.Dir(final))
}

// readRecord loads an image record, from the cache when possible.
func (s *Store) readRecord(id string) (*record, error) {
	s.mu.Lock()
	rec, ok := s.records[id]
	s.mu.Unlock()
	if ok {
		return rec, nil
	}
	dir := s.recordDir(id)
	meta, err := os.ReadFile(filepath.Join(dir, "image.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("image %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("reading image %s: %w", id, err)
	}
	rec = &record{}
	if err := json.Unmarshal(meta, rec); err != nil {
		return nil, fmt.Errorf("parsing image %s: %w", id, err)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("reading image %s config: %w", id, err)
	}
	if rec.config, err = v1.ParseConfigFile(bytes.NewReader(raw)); err != nil {
		return nil, fmt.Errorf("parsing image %s config: %w", id, err)
	}
	s.mu.Lock()
	s.records[id] = rec
	s.mu.Unlock()
	return rec, nil
}

// ImageConfig is what the runtime needs from an image's config to start a
// container from it.
type ImageConfig struct {
	Entrypoint   []string
	Cmd          []string
	Env          []string
	WorkingDir   string
	User         string
	ExposedPorts []string // "80/tcp", sorted
	StopSignal   string
	Labels       map[string]string
}

func (r *record) imageConfig() ImageConfig {
	c := r.config.Config
	out := ImageConfig{
		Entrypoint: c.Entrypoint,
		Cmd:        c.Cmd,
		Env:        c.Env,
		WorkingDir: c.WorkingDir,
		User:       c.User,
		StopSignal: c.StopSignal,
		Labels:     c.Labels,
	}
	for p := range c.ExposedPorts {
		out.ExposedPorts = append(out.ExposedPorts, p)
	}
	sort.Strings(out.ExposedPorts)
	return out
}
