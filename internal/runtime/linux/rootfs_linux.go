package linux

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// rootfsDirs are a container's overlayfs directories under RootDir/<id>.
type rootfsDirs struct {
	base, upper, work, merged string
}

func (r *Runtime) rootfsDirs(id string) rootfsDirs {
	base := filepath.Join(r.cfg.RootDir, id)
	return rootfsDirs{
		base:   base,
		upper:  filepath.Join(base, "upper"),
		work:   filepath.Join(base, "work"),
		merged: filepath.Join(base, "rootfs"),
	}
}

// mountRootfs stacks the image layers (given lowest first) read-only under
// the container's own upper dir and mounts the result at d.merged. It is a
// no-op when the overlay is already mounted.
func mountRootfs(layers []string, d rootfsDirs) error {
	if len(layers) == 0 {
		return errors.New("no rootfs layers")
	}
	if mounted, err := isMountPoint(d.merged); err == nil && mounted {
		return nil
	}
	for _, dir := range []string{d.upper, d.work, d.merged} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	// overlayfs wants the highest layer first. ':' separates layers and
	// ',' options; paths containing them would need escaping.
	lower := make([]string, 0, len(layers))
	for i := len(layers) - 1; i >= 0; i-- {
		l := layers[i]
		if strings.ContainsAny(l, ":,") {
			return fmt.Errorf("layer path %q contains ':' or ','", l)
		}
		lower = append(lower, l)
	}
	opts := fmt.Sprintf("lowerdir=%s,upperdir=%s,workdir=%s", strings.Join(lower, ":"), d.upper, d.work)
	// The mount data is limited to one page; images with very many layers
	// (or long paths) would need shorter (e.g. relative) layer paths.
	if len(opts) >= os.Getpagesize() {
		return fmt.Errorf("overlay options too long (%d bytes) for %d layers", len(opts), len(layers))
	}
	if err := unix.Mount("overlay", d.merged, "overlay", 0, opts); err != nil {
		return fmt.Errorf("mount overlay rootfs: %w", err)
	}
	return nil
}

// removeRootfs unmounts the overlay and deletes the container's dirs.
func removeRootfs(d rootfsDirs) error {
	if err := unmountAll(d.merged); err != nil {
		return fmt.Errorf("unmount rootfs: %w", err)
	}
	if err := os.RemoveAll(d.base); err != nil {
		return fmt.Errorf("remove rootfs: %w", err)
	}
	return nil
}

// isMountPoint compares path's device with its parent's, which is enough
// for an overlay mounted on a directory of another file system.
func isMountPoint(path string) (bool, error) {
	var st, pst unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return false, err
	}
	if err := unix.Lstat(filepath.Dir(path), &pst); err != nil {
		return false, err
	}
	return st.Dev != pst.Dev, nil
}
