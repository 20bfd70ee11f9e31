package images

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// Remove deletes the image ref resolves to, with all its tags and repo
// digests (CRI RemoveImage semantics, which the kubelet's image GC relies
// on), then deletes layers no remaining image uses. The caller must not
// remove an image a running container still uses: its layers are mounted.
func (s *Store) Remove(ref string) error {
	// Exclusive: a pull holding the shared lock may have found a layer
	// present and be about to reference it from a new record.
	unlock, err := flock(s.path("store.lock"), true)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	id, _, err := s.resolve(idx, ref)
	if err != nil {
		return err
	}
	if err := s.updateIndex(func(idx *nameIndex) {
		for _, r := range idx.refsTo(id) {
			delete(idx.Refs, r)
		}
	}); err != nil {
		return fmt.Errorf("removing %s: %w", ref, err)
	}
	if err := s.removeDir(s.recordDir(id)); err != nil {
		return fmt.Errorf("removing %s: %w", ref, err)
	}
	s.mu.Lock()
	delete(s.records, id)
	s.mu.Unlock()
	s.log.Info("removed image", "image", ref, "id", id)
	return s.collectLayers()
}

// collectLayers deletes layer directories no image record refers to.
func (s *Store) collectLayers() error {
	used := map[string]bool{}
	records, err := os.ReadDir(s.path("imagedb", "sha256"))
	if err != nil {
		return fmt.Errorf("collecting layers: %w", err)
	}
	for _, e := range records {
		rec, err := s.readRecord("sha256:" + e.Name())
		if err != nil {
			return fmt.Errorf("collecting layers: %w", err)
		}
		for _, d := range rec.DiffIDs {
			used[trimAlgo(d)] = true
		}
	}
	layers, err := os.ReadDir(s.path("layers", "sha256"))
	if err != nil {
		return fmt.Errorf("collecting layers: %w", err)
	}
	var errs []error
	for _, e := range layers {
		if !e.IsDir() || used[e.Name()] {
			continue
		}
		if err := s.removeDir(s.path("layers", "sha256", e.Name())); err != nil {
			errs = append(errs, err)
			continue
		}
		if err := os.Remove(s.path("layers", "sha256", e.Name()+".json")); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
		s.log.Debug("removed unused layer", "diffID", "sha256:"+e.Name())
	}
	return errors.Join(errs...)
}

// removeDir makes dir disappear atomically by renaming it into tmp/, then
// deletes it there; a crash midway leaves only garbage in tmp/.
func (s *Store) removeDir(dir string) error {
	trash, err := os.MkdirTemp(s.path("tmp"), "trash-")
	if err != nil {
		return err
	}
	if err := os.Rename(dir, filepath.Join(trash, "d")); err != nil && !errors.Is(err, os.ErrNotExist) {
		os.Remove(trash)
		return err
	}
	return os.RemoveAll(trash)
}
