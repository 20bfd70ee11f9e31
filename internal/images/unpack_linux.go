//go:build linux

package images

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"golang.org/x/sys/unix"
)

// opaqueXattr marks an overlayfs upper directory whose lower counterparts
// are hidden. Only real root can set trusted.* attributes, which is why the
// store needs root, as containerd's overlay snapshotter does.
const opaqueXattr = "trusted.overlay.opaque"

// unpackTar writes the layer tar stream r into dir, an empty directory, in
// the form overlayfs expects of a lower layer, following containerd's
// archive.Apply with its overlay whiteout converter:
//   - ".wh.<name>" becomes a 0/0 character device <name>, and
//     ".wh..wh..opq" the trusted.overlay.opaque=y xattr on its directory;
//   - modes (with setuid/setgid/sticky), owners, symlinks, hard links within
//     the layer, device nodes, fifos, xattrs and times are preserved;
//   - nothing is ever written outside dir: names climbing above it are
//     refused, and parent directories are resolved with symlinks followed
//     as if dir were "/" (filepath-securejoin), so a symlink planted by an
//     earlier entry cannot redirect a later one onto the host.
//
// dir is private to this unpack until it is renamed into the store, so no
// concurrent writer can swap a path component between resolve and use.
func unpackTar(r io.Reader, dir string, log *slog.Logger) error {
	u := &unpacker{root: dir, log: log}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("reading tar: %w", err)
		}
		if err := u.entry(hdr, tr); err != nil {
			return fmt.Errorf("entry %q: %w", hdr.Name, err)
		}
	}
	return u.finishDirs()
}

type unpacker struct {
	root string
	log  *slog.Logger
	// dirs get their times last: creating children bumps a directory's mtime.
	dirs []dirTimes
}

type dirTimes struct {
	path         string
	atime, mtime time.Time
}

func (u *unpacker) entry(hdr *tar.Header, content io.Reader) error {
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	rel, err := cleanEntryName(hdr.Name)
	if err != nil || rel == "" {
		return err // the layer root's own metadata is not applied, as in containerd
	}
	parentRel, base := path.Split(rel)
	parent, err := u.resolveDir(parentRel)
	if err != nil {
		return err
	}
	switch {
	case base == whiteoutOpaqueDir:
		return setOpaque(parent)
	case strings.HasPrefix(base, whiteoutMetaPrefix):
		return nil
	case strings.HasPrefix(base, whiteoutPrefix):
		target, err := whiteoutTarget(base)
		if err != nil {
			return err
		}
		return u.whiteout(filepath.Join(parent, target), hdr)
	}

	p := filepath.Join(parent, base)
	wasWhiteout := false
	if fi, err := os.Lstat(p); err == nil {
		wasWhiteout = isWhiteoutDevice(fi)
		// Replace whatever is there, except merge a directory into a
		// directory (a later entry may restate an earlier one's metadata).
		if !(fi.IsDir() && hdr.Typeflag == tar.TypeDir) {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
		}
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, fs.ErrExist) {
			return err
		}
		if wasWhiteout {
			// The layer deleted the lower directory and made a new one in
			// its place: the new one must not show the old contents.
			if err := setOpaque(p); err != nil {
				return err
			}
		}
	case tar.TypeReg:
		if err := writeRegular(p, content); err != nil {
			return err
		}
	case tar.TypeSymlink:
		// Stored verbatim: the target is resolved inside the container's
		// root when used, never while unpacking.
		if err := os.Symlink(hdr.Linkname, p); err != nil {
			return err
		}
	case tar.TypeLink:
		target, err := u.linkTarget(hdr.Linkname)
		if err != nil {
			return err
		}
		// A hard link shares its target's inode, metadata included.
		return os.Link(target, p)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		mode := map[byte]uint32{tar.TypeChar: unix.S_IFCHR, tar.TypeBlock: unix.S_IFBLK, tar.TypeFifo: unix.S_IFIFO}[hdr.Typeflag]
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if err := unix.Mknod(p, mode|uint32(hdr.Mode&0o7777), int(dev)); err != nil {
			return fmt.Errorf("mknod: %w", err)
		}
	default:
		u.log.Debug("skipping unsupported tar entry", "name", hdr.Name, "type", string(hdr.Typeflag))
		return nil
	}
	return u.setMetadata(p, hdr)
}

// resolveDir returns the directory for a parent path inside the layer,
// creating missing parts (0755, as containerd does for implied parents).
func (u *unpacker) resolveDir(rel string) (string, error) {
	if rel == "" {
		return u.root, nil
	}
	p, err := securejoin.SecureJoin(u.root, rel)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(p, 0o755); err != nil {
		return "", err
	}
	return p, nil
}

// linkTarget resolves a hard link's target inside the layer. The target's
// own name is not followed if it is a symlink: link(2) links the symlink.
func (u *unpacker) linkTarget(linkname string) (string, error) {
	rel, err := cleanEntryName(linkname)
	if err != nil {
		return "", fmt.Errorf("hard link target: %w", err)
	}
	if rel == "" {
		return "", errors.New("hard link to the layer root")
	}
	parentRel, base := path.Split(rel)
	parent, err := securejoin.SecureJoin(u.root, parentRel)
	if err != nil {
		return "", err
	}
	target := filepath.Join(parent, base)
	if _, err := os.Lstat(target); err != nil {
		return "", fmt.Errorf("hard link target %q: %w", linkname, err)
	}
	return target, nil
}

// whiteout records that this layer deletes p from the layers below.
func (u *unpacker) whiteout(p string, hdr *tar.Header) error {
	if fi, err := os.Lstat(p); err == nil {
		// This layer also has p: the whiteout applies to lower layers
		// only (image-spec), and p already hides a lower file; a lower
		// directory's contents must be hidden explicitly.
		if fi.IsDir() {
			return setOpaque(p)
		}
		return nil
	}
	if err := unix.Mknod(p, unix.S_IFCHR, 0); err != nil {
		return fmt.Errorf("creating whiteout: %w", err)
	}
	return os.Lchown(p, hdr.Uid, hdr.Gid)
}

func isWhiteoutDevice(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&fs.ModeCharDevice != 0 && st.Rdev == 0
}

func setOpaque(dir string) error {
	if err := unix.Setxattr(dir, opaqueXattr, []byte("y"), 0); err != nil {
		return fmt.Errorf("marking %s opaque: %w", dir, err)
	}
	return nil
}

func writeRegular(p string, content io.Reader) error {
	// O_EXCL: p was just cleared, so this never follows a symlink.
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, content); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func (u *unpacker) setMetadata(p string, hdr *tar.Header) error {
	if err := os.Lchown(p, hdr.Uid, hdr.Gid); err != nil {
		return err
	}
	for key, value := range hdr.PAXRecords {
		name, ok := strings.CutPrefix(key, "SCHILY.xattr.")
		if !ok {
			continue
		}
		if strings.HasPrefix(name, "trusted.overlay.") {
			// overlayfs would obey these (opaque, redirect, metacopy); an
			// image may only ask for that through whiteout entries.
			u.log.Debug("dropping overlay xattr from layer", "name", hdr.Name, "xattr", name)
			continue
		}
		if err := unix.Lsetxattr(p, name, []byte(value), 0); err != nil {
			if errors.Is(err, unix.ENOTSUP) || errors.Is(err, unix.EPERM) {
				u.log.Debug("cannot set xattr", "name", hdr.Name, "xattr", name, "err", err)
				continue
			}
			return fmt.Errorf("setting xattr %s: %w", name, err)
		}
	}
	if hdr.Typeflag != tar.TypeSymlink {
		// After chown, which clears setuid and setgid.
		if err := os.Chmod(p, hdr.FileInfo().Mode()); err != nil {
			return err
		}
	}
	atime := hdr.AccessTime
	if atime.IsZero() {
		atime = hdr.ModTime
	}
	if hdr.Typeflag == tar.TypeDir {
		u.dirs = append(u.dirs, dirTimes{path: p, atime: atime, mtime: hdr.ModTime})
		return nil
	}
	return setTimes(p, atime, hdr.ModTime)
}

func (u *unpacker) finishDirs() error {
	for i := len(u.dirs) - 1; i >= 0; i-- {
		d := u.dirs[i]
		if err := setTimes(d.path, d.atime, d.mtime); err != nil {
			return err
		}
	}
	return nil
}

func setTimes(p string, atime, mtime time.Time) error {
	if mtime.IsZero() {
		return nil
	}
	ts := []unix.Timespec{unix.NsecToTimespec(atime.UnixNano()), unix.NsecToTimespec(mtime.UnixNano())}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return fmt.Errorf("setting times: %w", err)
	}
	return nil
}

// syncFS flushes the filesystem holding dir, so a layer renamed into place
// survives a crash with its contents; one syncfs beats an fsync per file.
func syncFS(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return unix.Syncfs(int(f.Fd()))
}
