package images

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// unpackEntries runs a layer built from entries through the store's unpack
// path and returns the layer directory.
func unpackEntries(t *testing.T, s *Store, entries ...entry) (string, error) {
	t.Helper()
	data := tarBytes(t, entries...)
	sum := sha256.Sum256(data)
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	_, _, err := s.ensureLayer(context.Background(), diffID, func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	return s.layerDir(diffID.String()), err
}

func getxattr(t *testing.T, p, attr string) string {
	t.Helper()
	buf := make([]byte, 256)
	n, err := unix.Lgetxattr(p, attr, buf)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(buf[:n])
}

func assertNoWhiteoutNames(t *testing.T, root string) {
	t.Helper()
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.HasPrefix(d.Name(), ".wh.") {
			t.Errorf("whiteout marker left as a file: %s", p)
		}
		return nil
	})
}

func TestUnpackConvertsOCIWhiteoutsToOverlayfsWhiteouts(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t, "", RegistryConfig{})
	layer, err := unpackEntries(t, s,
		dir("etc/"), file("etc/keep", "k"), file("etc/.wh.passwd", ""),
		dir("var/"), file("var/.wh..wh..opq", ""), file("var/new", "n"),
		file(".wh..wh.plnk", ""),  // AUFS hard-link bookkeeping: dropped
		file("gone/.wh.deep", ""), // parent implied by the whiteout alone
	)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	for _, p := range []string{"etc/passwd", "gone/deep"} {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(layer, p), &st); err != nil {
			t.Fatalf("whiteout %s: %v", p, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != 0 {
			t.Errorf("%s: mode %o rdev %d, want a 0/0 character device", p, st.Mode, st.Rdev)
		}
	}
	if got := getxattr(t, filepath.Join(layer, "var"), opaqueXattr); got != "y" {
		t.Errorf("var %s = %q, want y", opaqueXattr, got)
	}
	if got := getxattr(t, filepath.Join(layer, "etc"), opaqueXattr); got != "<no data available>" {
		t.Errorf("etc is opaque (%q) but had no opaque marker", got)
	}
	if c := readFileString(t, filepath.Join(layer, "var/new")); c != "n" {
		t.Errorf("var/new = %q", c)
	}
	assertNoWhiteoutNames(t, layer)
}

// TestOverlayMountHidesWhitedOutFiles checks the conversion against the
// kernel itself: mounted as lowerdirs, the layers show what the image
// spec's whiteout semantics say they should.
func TestOverlayMountHidesWhitedOutFiles(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t, "", RegistryConfig{})
	lower, err := unpackEntries(t, s,
		dir("etc/"), file("etc/passwd", "root"), file("etc/group", "root"),
		dir("var/"), file("var/old", "o"),
		dir("opt/"), file("opt/old", "o"),
		dir("srv/"), file("srv/old", "o"))
	if err != nil {
		t.Fatal(err)
	}
	upper, err := unpackEntries(t, s,
		file("etc/.wh.passwd", ""),
		file("var/.wh..wh..opq", ""), file("var/new", "n"),
		// Deleted and recreated in one layer, whiteout first...
		file(".wh.opt", ""), dir("opt/"), file("opt/new", "n"),
		// ...and whiteout last: the whiteout applies to lower layers only.
		dir("srv/"), file("srv/new", "n"), file(".wh.srv", ""))
	if err != nil {
		t.Fatal(err)
	}
	mnt := t.TempDir()
	if err := unix.Mount("overlay", mnt, "overlay", unix.MS_RDONLY, "lowerdir="+upper+":"+lower); err != nil {
		t.Skipf("skipping: cannot mount overlayfs here: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(mnt, unix.MNT_DETACH) })

	for p, want := range map[string]bool{
		"etc/passwd": false, "etc/group": true,
		"var/old": false, "var/new": true,
		"opt/old": false, "opt/new": true,
		"srv/old": false, "srv/new": true,
	} {
		_, err := os.Stat(filepath.Join(mnt, p))
		if got := err == nil; got != want {
			t.Errorf("%s visible = %v, want %v (stat: %v)", p, got, want, err)
		}
	}
}

func TestUnpackRefusesEntriesEscapingTheLayer(t *testing.T) {
	requireRoot(t)
	for _, tc := range []struct {
		name    string
		entries []entry
	}{
		{"dot-dot file", []entry{file("../evil", "x")}},
		{"dot-dot inside path", []entry{dir("a/"), file("a/../../evil", "x")}},
		{"absolute dot-dot", []entry{file("/../evil", "x")}},
		{"hard link target outside", []entry{hardlink("passwd", "../../../../etc/passwd")}},
		{"whiteout of dot-dot", []entry{file("a/.wh..", "")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newTestStore(t, "", RegistryConfig{})
			layer, err := unpackEntries(t, s, tc.entries...)
			if !errors.Is(err, errUnsafePath) {
				t.Fatalf("err = %v, want errUnsafePath", err)
			}
			if _, statErr := os.Stat(layer); !errors.Is(statErr, os.ErrNotExist) {
				t.Errorf("refused layer is visible at %s", layer)
			}
			if tmp := tmpEntries(t, s); len(tmp) != 0 {
				t.Errorf("tmp/ left behind: %q", tmp)
			}
			if _, err := os.Stat(s.path("tmp", "evil")); err == nil {
				t.Errorf("entry escaped into %s", s.path("tmp", "evil"))
			}
		})
	}
}

func TestUnpackSymlinkCannotRedirectWritesOutsideTheLayer(t *testing.T) {
	requireRoot(t)
	outside := t.TempDir()
	s := newTestStore(t, "", RegistryConfig{})
	layer, err := unpackEntries(t, s,
		symlink("abs", outside),
		file("abs/pwned", "x"),
		symlink("rel", "../../../../../../../.."+outside),
		file("rel/pwned2", "x"),
	)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Fatalf("wrote outside the layer: %v", entries)
	}
	// Resolved as if the layer were "/": the files land inside it.
	for _, p := range []string{"pwned", "pwned2"} {
		if _, err := os.Stat(filepath.Join(layer, outside, p)); err != nil {
			t.Errorf("%s not inside the layer: %v", p, err)
		}
	}
	if target, _ := os.Readlink(filepath.Join(layer, "abs")); target != outside {
		t.Errorf("symlink target rewritten to %q", target)
	}
}

func TestUnpackPreservesModesOwnersLinksDevicesXattrsAndTimes(t *testing.T) {
	requireRoot(t)
	mtime := time.Unix(1600000000, 0)
	su := file("bin/su", "su")
	su.hdr.Mode = 0o4755
	secret := file("home/u/secret", "s")
	secret.hdr.Mode, secret.hdr.Uid, secret.hdr.Gid = 0o600, 1000, 1001
	noted := file("etc/noted", "n")
	noted.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.note": "hi", "SCHILY.xattr.trusted.overlay.opaque": "y"}
	home := dir("home/u/")
	home.hdr.Uid, home.hdr.Gid, home.hdr.ModTime = 1000, 1001, mtime
	null := entry{hdr: tar.Header{Name: "dev/null", Typeflag: tar.TypeChar, Mode: 0o666, Devmajor: 1, Devminor: 3}}
	fifo := entry{hdr: tar.Header{Name: "run/fifo", Typeflag: tar.TypeFifo, Mode: 0o600}}
	sticky := dir("tmp/")
	sticky.hdr.Mode = 0o1777

	s := newTestStore(t, "", RegistryConfig{})
	layer, err := unpackEntries(t, s, su, file("bin/busybox", "bb"), hardlink("bin/ls", "bin/busybox"),
		symlink("bin/sh", "busybox"), home, secret, noted, null, fifo, sticky)
	if err != nil {
		t.Fatalf("unpack: %v", err)
	}
	stat := func(p string) unix.Stat_t {
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(layer, p), &st); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		return st
	}
	if st := stat("bin/su"); st.Mode&0o7777 != 0o4755 {
		t.Errorf("bin/su mode %o, want 4755", st.Mode&0o7777)
	}
	if st := stat("home/u/secret"); st.Mode&0o7777 != 0o600 || st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("secret mode %o owner %d:%d, want 600 1000:1001", st.Mode&0o7777, st.Uid, st.Gid)
	}
	if st := stat("home/u"); st.Uid != 1000 || time.Unix(st.Mtim.Unix()).Unix() != mtime.Unix() {
		t.Errorf("home/u owner %d mtime %v, want 1000 %v (set after its children)", st.Uid, time.Unix(st.Mtim.Unix()), mtime)
	}
	if a, b := stat("bin/ls"), stat("bin/busybox"); a.Ino != b.Ino {
		t.Errorf("bin/ls is not a hard link to bin/busybox")
	}
	if target, err := os.Readlink(filepath.Join(layer, "bin/sh")); err != nil || target != "busybox" {
		t.Errorf("bin/sh -> %q (%v)", target, err)
	}
	if st := stat("dev/null"); st.Mode&unix.S_IFMT != unix.S_IFCHR || unix.Major(st.Rdev) != 1 || unix.Minor(st.Rdev) != 3 {
		t.Errorf("dev/null mode %o rdev %d:%d", st.Mode, unix.Major(st.Rdev), unix.Minor(st.Rdev))
	}
	if st := stat("run/fifo"); st.Mode&unix.S_IFMT != unix.S_IFIFO {
		t.Errorf("run/fifo mode %o, want fifo", st.Mode)
	}
	if st := stat("tmp"); st.Mode&0o7777 != 0o1777 {
		t.Errorf("tmp mode %o, want 1777", st.Mode&0o7777)
	}
	if got := getxattr(t, filepath.Join(layer, "etc/noted"), "user.note"); got != "hi" {
		t.Errorf("user.note = %q", got)
	}
	if got := getxattr(t, filepath.Join(layer, "etc/noted"), opaqueXattr); got != "<no data available>" {
		t.Errorf("an overlay xattr from the tar was applied: %q", got)
	}
}

func TestLayerNotMatchingItsDiffIDIsRejectedAndNeverVisible(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t, "", RegistryConfig{})
	data := tarBytes(t, file("a", "tampered"))
	want := v1.Hash{Algorithm: "sha256", Hex: strings.Repeat("ab", 32)}
	_, _, err := s.ensureLayer(context.Background(), want, func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if !errors.Is(err, errDigestMismatch) {
		t.Fatalf("err = %v, want errDigestMismatch", err)
	}
	if _, err := os.Stat(s.layerDir(want.String())); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("mismatching layer is visible")
	}
	if tmp := tmpEntries(t, s); len(tmp) != 0 {
		t.Errorf("tmp/ left behind: %q", tmp)
	}
}

func TestConcurrentUnpacksOfOneDigestReadTheStreamOnce(t *testing.T) {
	requireRoot(t)
	s := newTestStore(t, "", RegistryConfig{})
	data := tarBytes(t, file("a", "a"))
	sum := sha256.Sum256(data)
	diffID := v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
	var opens atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := s.ensureLayer(context.Background(), diffID, func() (io.ReadCloser, error) {
				opens.Add(1)
				return io.NopCloser(bytes.NewReader(data)), nil
			})
			if err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if n := opens.Load(); n != 1 {
		t.Errorf("layer stream opened %d times, want 1", n)
	}
}

func TestDiskFullMidUnpackLeavesNoHalfLayer(t *testing.T) {
	requireRoot(t)
	root := t.TempDir()
	if err := unix.Mount("tmpfs", root, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("skipping: cannot mount a small tmpfs to fill: %v", err)
	}
	t.Cleanup(func() { unix.Unmount(root, unix.MNT_DETACH) })
	s := newTestStore(t, root, RegistryConfig{})

	big := file("big", strings.Repeat("x", 2<<20))
	layer, err := unpackEntries(t, s, file("small", "s"), big)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("err = %v, want ENOSPC", err)
	}
	if _, err := os.Stat(layer); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("half layer visible at %s", layer)
	}
	if tmp := tmpEntries(t, s); len(tmp) != 0 {
		t.Errorf("tmp/ left behind: %q", tmp)
	}
	// The space came back: a layer that fits unpacks fine.
	if _, err := unpackEntries(t, s, file("small", "s")); err != nil {
		t.Errorf("unpack after ENOSPC: %v", err)
	}
}
