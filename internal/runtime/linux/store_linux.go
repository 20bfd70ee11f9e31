package linux

import (
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/orca-pods/orca/internal/runtime"
)

// containerRecord is what survives the runtime process for each container
// (containers/<id>.json): enough to list it, rebuild its spec, and report
// how it ended if it ended while we were watching.
type containerRecord struct {
	Config runtime.ContainerConfig `json:"config"`
	Status runtime.ContainerStatus `json:"status"`
}

// writeJSON replaces path atomically (write a temporary file, rename), so
// a crash leaves either the old or the new content. No fsync: the state
// describes processes, which do not survive a power loss either.
func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return nil
}

func readJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// saveRecord writes the container's record; the caller holds c.mu or owns
// c exclusively.
func (r *Runtime) saveRecord(c *container) error {
	return writeJSON(r.recordPath(c.id), containerRecord{Config: c.cfg, Status: c.status})
}
