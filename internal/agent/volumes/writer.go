package volumes

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The on-disk layout of pkg/volume/util/atomic_writer.go:
//
//	<dir>/..2026_11_25_10_11_32.3908734659/   the files, in a timestamped dir
//	<dir>/..data -> ..2026_11_25_10_11_32.3908734659
//	<dir>/<top>  -> ..data/<top>               one per top-level user path
//
// Swapping ..data is a single rename, so a reader resolving <dir>/<key>
// sees either the old or the new file, never a mix.
const (
	dataDirName    = "..data"
	newDataDirName = "..data_tmp"

	maxFileNameLength = 255
	maxPathLength     = 4096

	// Directories inside the timestamped dir. The kubelet's MkdirAll(0777)
	// yields this under its usual umask 022; it is set explicitly here so
	// a stricter agent umask cannot lock non-root containers out.
	subDirMode = 0o755
	// The timestamped dir itself: the kubelet chmods it to 0755 so group
	// and other can traverse whatever the umask.
	tsDirMode = 0o755
)

// fileProjection is one file of a volume's payload.
type fileProjection struct {
	data []byte
	// mode is applied exactly (umask-independent); only the permission
	// bits count, as os.FileMode(mode) does in the kubelet.
	mode int32
	// fsUser, when set, becomes the file's owner (service account tokens).
	fsUser *int64
}

// atomicWriter projects payloads into dir. It is not safe for concurrent
// use on the same dir; the Manager serialises writes per volume, as the
// kubelet's operation executor does.
type atomicWriter struct {
	dir string
}

// write makes dir hold exactly payload and reports whether a new
// timestamped dir was published. setPerms, if set, runs on the volume after
// the new files are written and before they are published.
//
// It follows the kubelet's algorithm: validate; read ..data; compute the
// old paths gone from the payload; if nothing changed (same contents, no
// removals) write nothing, but still recreate any missing user-visible
// symlink (kubernetes#121472). Otherwise write a new timestamped dir, run
// setPerms, symlink ..data_tmp to it and rename that over ..data, create
// the new user-visible symlinks, remove the old ones no longer in the
// payload, and remove the previous timestamped dir.
func (w *atomicWriter) write(payload map[string]fileProjection, setPerms func() error) (bool, error) {
	clean, err := validatePayload(payload)
	if err != nil {
		return false, err
	}
	if _, err := os.Stat(w.dir); err != nil {
		return false, fmt.Errorf("volume directory: %w", err)
	}

	oldTs, err := w.currentTsDir()
	if err != nil {
		return false, err
	}
	var remove map[string]bool
	mustWrite := true
	if oldTs != "" {
		oldTsPath := filepath.Join(w.dir, oldTs)
		if remove, err = pathsToRemove(clean, oldTsPath); err != nil {
			return false, fmt.Errorf("determine user-visible files to remove: %w", err)
		}
		changed, err := payloadChanged(clean, oldTsPath)
		if err != nil {
			return false, fmt.Errorf("compare payload with %s: %w", oldTs, err)
		}
		mustWrite = changed || len(remove) > 0
	}

	if mustWrite {
		if err := w.publish(clean, setPerms); err != nil {
			return false, err
		}
	}
	if err := w.createUserVisibleFiles(clean); err != nil {
		return false, fmt.Errorf("create user-visible symlinks in %s: %w", w.dir, err)
	}
	if !mustWrite {
		return false, nil
	}
	if err := w.removeUserVisiblePaths(remove); err != nil {
		return true, fmt.Errorf("remove old user-visible paths: %w", err)
	}
	if err := w.removeOldTsDirs(); err != nil {
		return true, err
	}
	return true, nil
}

// currentTsDir returns the name ..data points to, or "" if there is none.
// A target that is not a timestamped dir next to it (a tampered link) is
// ignored rather than followed, so nothing outside the volume is removed
// later; the next publish replaces the link.
func (w *atomicWriter) currentTsDir() (string, error) {
	target, err := os.Readlink(filepath.Join(w.dir, dataDirName))
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("read %s link: %w", dataDirName, err)
	}
	if !isTsDirName(target) {
		return "", nil
	}
	if _, err := os.Lstat(filepath.Join(w.dir, target)); err != nil {
		// A dangling ..data: treat the volume as empty so it is rewritten.
		return "", nil
	}
	return target, nil
}

// isTsDirName matches "..2006_01_02_15_04_05.<n>": the only ".." names the
// writer creates besides ..data and ..data_tmp.
func isTsDirName(name string) bool {
	return len(name) > 3 && strings.HasPrefix(name, "..") &&
		name[2] >= '0' && name[2] <= '9' && !strings.ContainsRune(name, '/')
}

// publish writes payload to a new timestamped dir and points ..data at it.
func (w *atomicWriter) publish(payload map[string]fileProjection, setPerms func() error) (err error) {
	tsDir, err := os.MkdirTemp(w.dir, time.Now().UTC().Format("..2006_01_02_15_04_05."))
	if err != nil {
		return fmt.Errorf("create timestamped directory: %w", err)
	}
	tmpLink := filepath.Join(w.dir, newDataDirName)
	defer func() {
		if err != nil {
			// Unlike the kubelet, do not leave a half-written dir behind.
			_ = os.Remove(tmpLink)
			_ = os.RemoveAll(tsDir)
		}
	}()
	if err := os.Chmod(tsDir, tsDirMode); err != nil {
		return fmt.Errorf("chmod %s: %w", tsDir, err)
	}
	for p, f := range payload {
		if err := writeFile(tsDir, p, f); err != nil {
			return fmt.Errorf("write %s: %w", p, err)
		}
	}
	if setPerms != nil {
		if err := setPerms(); err != nil {
			return fmt.Errorf("apply ownership: %w", err)
		}
	}
	// A ..data_tmp left by a crash between symlink and rename would make
	// every later update fail; it is ours, so drop it.
	if err := os.Remove(tmpLink); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove stale %s: %w", newDataDirName, err)
	}
	if err := os.Symlink(filepath.Base(tsDir), tmpLink); err != nil {
		return fmt.Errorf("create %s link: %w", newDataDirName, err)
	}
	if err := os.Rename(tmpLink, filepath.Join(w.dir, dataDirName)); err != nil {
		return fmt.Errorf("swap %s link: %w", dataDirName, err)
	}
	return nil
}

// writeFile creates root/rel with the projection's content, mode and owner.
func writeFile(root, rel string, f fileProjection) error {
	if d := filepath.Dir(rel); d != "." {
		if err := mkdirAll(root, d); err != nil {
			return err
		}
	}
	path := filepath.Join(root, rel)
	file, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL|syscall.O_NOFOLLOW, 0o600)
	if err != nil {
		return err
	}
	_, err = file.Write(f.data)
	if err == nil {
		// Set after creation: open(2) would apply the umask.
		err = file.Chmod(os.FileMode(f.mode) & os.ModePerm)
	}
	if err == nil && f.fsUser != nil {
		err = file.Chown(int(*f.fsUser), -1)
	}
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	return err
}

// mkdirAll creates root/rel component by component with subDirMode.
func mkdirAll(root, rel string) error {
	p := root
	for _, part := range strings.Split(rel, "/") {
		p = filepath.Join(p, part)
		err := os.Mkdir(p, subDirMode)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if err := os.Chmod(p, subDirMode); err != nil {
			return err
		}
	}
	return nil
}

// payloadChanged reports whether any payload file differs from its copy in
// the old timestamped dir. Only contents are compared, as the kubelet does:
// modes come from the pod spec, which cannot change.
func payloadChanged(payload map[string]fileProjection, oldTsPath string) (bool, error) {
	for p, f := range payload {
		path := filepath.Join(oldTsPath, p)
		fi, err := os.Lstat(path)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if !fi.Mode().IsRegular() {
			return true, nil
		}
		old, err := os.ReadFile(path)
		if err != nil {
			return false, err
		}
		if !bytes.Equal(old, f.data) {
			return true, nil
		}
	}
	return false, nil
}

// pathsToRemove lists the paths of the old timestamped dir that neither
// are in the payload nor are parent dirs of a payload path.
func pathsToRemove(payload map[string]fileProjection, oldTsPath string) (map[string]bool, error) {
	keep := map[string]bool{}
	for p := range payload {
		for ; p != "." && p != "/"; p = filepath.Dir(p) {
			keep[p] = true
		}
	}
	remove := map[string]bool{}
	err := filepath.WalkDir(oldTsPath, func(path string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(oldTsPath, path)
		if err != nil {
			return err
		}
		if rel != "." && !keep[rel] {
			remove[rel] = true
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return remove, err
}

// createUserVisibleFiles links each top-level payload path into ..data.
func (w *atomicWriter) createUserVisibleFiles(payload map[string]fileProjection) error {
	for p := range payload {
		top, _, _ := strings.Cut(p, "/")
		link := filepath.Join(w.dir, top)
		if _, err := os.Lstat(link); !errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := os.Symlink(filepath.Join(dataDirName, top), link); err != nil {
			return err
		}
	}
	return nil
}

// removeUserVisiblePaths removes the top-level symlinks of removed paths;
// nested ones vanish with the old timestamped dir.
func (w *atomicWriter) removeUserVisiblePaths(paths map[string]bool) error {
	var last error
	for p := range paths {
		if strings.Contains(p, "/") {
			continue
		}
		if err := os.Remove(filepath.Join(w.dir, p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			last = err
		}
	}
	return last
}

// removeOldTsDirs removes every timestamped dir but the one ..data points
// to: the previous one, as the kubelet does, plus any left by a crash.
func (w *atomicWriter) removeOldTsDirs() error {
	current, err := os.Readlink(filepath.Join(w.dir, dataDirName))
	if err != nil {
		return fmt.Errorf("read %s link: %w", dataDirName, err)
	}
	entries, err := os.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("list %s: %w", w.dir, err)
	}
	for _, e := range entries {
		if e.IsDir() && isTsDirName(e.Name()) && e.Name() != current {
			if err := os.RemoveAll(filepath.Join(w.dir, e.Name())); err != nil {
				return fmt.Errorf("remove old data directory %s: %w", e.Name(), err)
			}
		}
	}
	return nil
}

// validatePayload checks every path and returns the payload keyed by the
// cleaned paths.
func validatePayload(payload map[string]fileProjection) (map[string]fileProjection, error) {
	clean := make(map[string]fileProjection, len(payload))
	for p, f := range payload {
		if err := validatePath(p); err != nil {
			return nil, err
		}
		clean[filepath.Clean(p)] = f
	}
	return clean, nil
}

// validatePath applies the kubelet's rules (not empty, relative, no ".."
// element, not starting with "..", names up to 255 and paths up to 4096
// bytes) with its error texts. It also checks the cleaned path, which the
// kubelet does not: "./..data" would otherwise shadow the writer's own
// names, and "." would be the volume root itself.
func validatePath(p string) error {
	if p == "" {
		return fmt.Errorf("invalid path: must not be empty: %q", p)
	}
	if filepath.IsAbs(p) {
		return fmt.Errorf("invalid path: must be relative path: %s", p)
	}
	if len(p) > maxPathLength {
		return fmt.Errorf("invalid path: must be less than or equal to %d characters", maxPathLength)
	}
	items := strings.Split(p, "/")
	for _, item := range items {
		if item == ".." {
			return fmt.Errorf("invalid path: must not contain '..': %s", p)
		}
		if len(item) > maxFileNameLength {
			return fmt.Errorf("invalid path: filenames must be less than or equal to %d characters", maxFileNameLength)
		}
	}
	if strings.HasPrefix(items[0], "..") && len(items[0]) > 2 {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	c := filepath.Clean(p)
	if c == "." {
		return fmt.Errorf("invalid path: must name a file inside the volume: %s", p)
	}
	if strings.HasPrefix(c, "..") {
		return fmt.Errorf("invalid path: must not start with '..': %s", p)
	}
	return nil
}
