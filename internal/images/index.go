package images

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
)

// nameIndex maps normalized references (docker.io/library/busybox:latest,
// docker.io/library/busybox@sha256:...) to image IDs. It is the only place
// names live, so retagging is one atomic file replacement.
type nameIndex struct {
	Refs map[string]string `json:"refs"`
}

func (s *Store) readIndex() (*nameIndex, error) {
	idx := &nameIndex{Refs: map[string]string{}}
	data, err := os.ReadFile(s.path("names.json"))
	if errors.Is(err, os.ErrNotExist) {
		return idx, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading name index: %w", err)
	}
	if err := json.Unmarshal(data, idx); err != nil {
		return nil, fmt.Errorf("parsing name index: %w", err)
	}
	if idx.Refs == nil {
		idx.Refs = map[string]string{}
	}
	return idx, nil
}

// updateIndex applies fn to the index under names.lock, so concurrent
// writers (pulls, imports, removals, in this process or another) never lose
// each other's names.
func (s *Store) updateIndex(fn func(*nameIndex)) error {
	unlock, err := flock(s.path("names.lock"), true)
	if err != nil {
		return err
	}
	defer unlock()
	idx, err := s.readIndex()
	if err != nil {
		return err
	}
	fn(idx)
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(s.path("names.json"), data)
}

// refsTo lists the references naming id, sorted.
func (idx *nameIndex) refsTo(id string) []string {
	var out []string
	for ref, target := range idx.Refs {
		if target == id {
			out = append(out, ref)
		}
	}
	sort.Strings(out)
	return out
}
