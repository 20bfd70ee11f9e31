package logrotate

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

const (
	// timestampFormat is the suffix of a rotated log, as the kubelet's.
	timestampFormat = "20060102-150405"
	compressSuffix  = ".gz"
	tmpSuffix       = ".tmp"
)

// rotate compresses and prunes the earlier rotated files of the log at
// path, then renames it and has the runtime reopen it.
func (m *Manager) rotate(ctx context.Context, id, path string) error {
	target := path + "." + m.now().Format(timestampFormat)
	for _, p := range []string{target, target + compressSuffix} {
		if _, err := os.Lstat(p); err == nil {
			// Rotated less than a second ago (a short Interval and a
			// fast writer): renaming would replace that file. The next
			// round, in another second, will rotate.
			m.log.Debug("log rotation: rotated file exists, retrying later", "path", p)
			return nil
		}
	}
	rotated, err := rotatedFiles(path)
	if err != nil {
		return err
	}
	if rotated, err = removeUnused(rotated); err != nil {
		return err
	}
	// After this rotation there will be the new current file and the
	// file renamed now; the others may be MaxFiles-2. Oldest go first, so
	// that a reader going through them in order is least disturbed.
	keep := max(m.maxFiles-2, 0)
	for len(rotated) > keep {
		if err := os.Remove(rotated[0]); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("remove old log: %w", err)
		}
		rotated = rotated[1:]
	}
	for _, f := range rotated {
		if !strings.HasSuffix(f, compressSuffix) {
			if err := compress(f); err != nil {
				return err
			}
		}
	}
	return m.rotateCurrent(ctx, id, path, target)
}

// rotateCurrent renames the current log to target and asks the runtime
// for a new one; if the runtime fails, the rename is undone.
func (m *Manager) rotateCurrent(ctx context.Context, id, path, target string) error {
	if err := os.Rename(path, target); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	if err := m.rt.ReopenContainerLog(ctx, id); err != nil {
		if rerr := os.Rename(target, path); rerr != nil {
			// The container may still write to target; its lines are
			// there, not lost, but the current log is missing until the
			// next round reopens it.
			return fmt.Errorf("reopen log: %w (and renaming it back failed: %v)", err, rerr)
		}
		return fmt.Errorf("reopen log: %w", err)
	}
	return nil
}

// rotatedFiles lists the rotated files of the log at path, compressed or
// not, with leftovers: <path>.<anything>, oldest first (the timestamps sort
// as strings).
func rotatedFiles(path string) ([]string, error) {
	dir, base := filepath.Split(path)
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("list rotated logs: %w", err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), base+".") && e.Type().IsRegular() {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// removeUnused removes what an interrupted compression left: temporary
// files, and uncompressed files whose .gz is complete (the .gz is renamed
// into place only once written). It returns the files still in use.
func removeUnused(files []string) ([]string, error) {
	have := make(map[string]bool, len(files))
	for _, f := range files {
		have[f] = true
	}
	var inUse []string
	for _, f := range files {
		if strings.HasSuffix(f, tmpSuffix) || have[f+compressSuffix] {
			if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("remove unused log: %w", err)
			}
			continue
		}
		inUse = append(inUse, f)
	}
	return inUse, nil
}

// compress writes f to f.gz (through f.gz.tmp, renamed when complete, so a
// .gz is never partial) and removes f.
func compress(f string) (err error) {
	in, err := os.Open(f)
	if err != nil {
		return fmt.Errorf("compress log: %w", err)
	}
	defer in.Close()
	info, err := in.Stat()
	if err != nil {
		return fmt.Errorf("compress log: %w", err)
	}
	tmp := f + compressSuffix + tmpSuffix
	out, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, info.Mode().Perm())
	if err != nil {
		return fmt.Errorf("compress log: %w", err)
	}
	defer func() {
		if err != nil {
			out.Close()
			os.Remove(tmp)
		}
	}()
	zw := gzip.NewWriter(out)
	if _, err := io.Copy(zw, in); err != nil {
		return fmt.Errorf("compress log %s: %w", f, err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress log %s: %w", f, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("compress log %s: %w", f, err)
	}
	if err := os.Rename(tmp, f+compressSuffix); err != nil {
		return fmt.Errorf("compress log %s: %w", f, err)
	}
	if err := os.Remove(f); err != nil {
		return fmt.Errorf("compress log %s: %w", f, err)
	}
	return nil
}
