package volumes

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"
)

// rootDirMode is the mode of a plain (non-tmpfs) volume directory: the
// kubelet wraps these volumes in an emptyDir, which chmods its directory
// to 0777 whatever the umask. A tmpfs root keeps tmpfs's default 1777, as
// the kubelet passes no mode= option.
const rootDirMode = 0o777

// prepareDir creates dir and, for secret and projected volumes, mounts a
// tmpfs on it unless one is already there (SetUp is idempotent).
func prepareDir(dir string, tmpfs bool, sizeBytes int64) error {
	if err := os.MkdirAll(dir, rootDirMode); err != nil {
		return fmt.Errorf("create volume directory: %w", err)
	}
	if tmpfs {
		mounted, err := isMountPoint(dir)
		if err != nil {
			return err
		}
		if mounted {
			var st unix.Statfs_t
			if err := unix.Statfs(dir, &st); err != nil {
				return fmt.Errorf("statfs %s: %w", dir, err)
			}
			if st.Type == unix.TMPFS_MAGIC {
				return nil
			}
		}
	}
	// Chmod only when the permission bits differ, keeping the setgid bit
	// an fsGroup left on an existing volume.
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("stat volume directory: %w", err)
	}
	if fi.Mode().Perm() != rootDirMode {
		if err := os.Chmod(dir, fi.Mode()&(os.ModeSetgid|os.ModeSticky)|rootDirMode); err != nil {
			return fmt.Errorf("chmod volume directory: %w", err)
		}
	}
	if !tmpfs {
		return nil
	}
	var opts string
	if sizeBytes > 0 {
		opts = fmt.Sprintf("size=%d", sizeBytes)
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount tmpfs on %s: %w", dir, err)
	}
	return nil
}

// tearDownDir unmounts dir (every stacked mount) and removes it.
func tearDownDir(dir string) error {
	for range 16 {
		mounted, err := isMountPoint(dir)
		if err != nil {
			return err
		}
		if !mounted {
			break
		}
		if err := unix.Unmount(dir, unix.MNT_DETACH); err != nil {
			return fmt.Errorf("unmount %s: %w", dir, err)
		}
	}
	if mounted, _ := isMountPoint(dir); mounted {
		return fmt.Errorf("unmount %s: still a mount point", dir)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("remove volume directory: %w", err)
	}
	return nil
}

// isMountPoint reports whether path is the root of a mount. The statx
// mount-root attribute also catches bind mounts from the same filesystem,
// which a device comparison with the parent misses; that comparison is
// the fallback for kernels before 5.8.
func isMountPoint(path string) (bool, error) {
	var stx unix.Statx_t
	err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW|unix.AT_NO_AUTOMOUNT, unix.STATX_TYPE|unix.STATX_INO, &stx)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("statx %s: %w", path, err)
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT != 0 {
		return stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT != 0, nil
	}
	var parent unix.Stat_t
	if err := unix.Lstat(filepath.Dir(path), &parent); err != nil {
		return false, fmt.Errorf("stat %s: %w", filepath.Dir(path), err)
	}
	return unix.Mkdev(stx.Dev_major, stx.Dev_minor) != parent.Dev, nil
}

// setVolumeOwnership gives the whole volume to fsGroup the way the
// kubelet's SetVolumeOwnership does for these read-only volumes: every
// entry gets group fsGroup (symlinks via lchown); files gain r--r-----,
// directories r-xr-x--- plus setgid; symlinks keep their mode, since chmod
// would follow them.
func setVolumeOwnership(root string, fsGroup int64) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := os.Lchown(path, -1, int(fsGroup)); err != nil {
			return fmt.Errorf("chown %s: %w", path, err)
		}
		if d.Type()&fs.ModeSymlink != 0 {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(path, &st); err != nil {
			return fmt.Errorf("stat %s: %w", path, err)
		}
		mask := uint32(0o440)
		if d.IsDir() {
			mask |= 0o110 | unix.S_ISGID
		}
		if err := unix.Chmod(path, st.Mode&0o7777|mask); err != nil {
			return fmt.Errorf("chmod %s: %w", path, err)
		}
		return nil
	})
}

// tmpfsSize is the size= the kubelet gives the memory-backed emptyDir
// wrapping secret and projected volumes: node allocatable memory, lowered
// to the pod's memory limit when there is one (SizeMemoryBackedVolumes).
// Zero means no size option (the kernel default, half of RAM).
func tmpfsSize(pod *corev1.Pod, allocatable corev1.ResourceList) int64 {
	size := allocatable.Memory().Value()
	if limit := podMemoryLimit(pod); limit > 0 && (size <= 0 || limit <= size) {
		size = limit
	}
	return size
}

// podMemoryLimit is the pod cgroup's memory limit as the kubelet computes
// it: a pod-level limit, or else the aggregate of container limits, but
// only if every container declares one. Zero means unlimited.
func podMemoryLimit(pod *corev1.Pod) int64 {
	if !resourcehelper.IsPodLevelResourcesSet(pod) || pod.Spec.Resources.Limits.Memory().IsZero() {
		for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
			for i := range cs {
				if cs[i].Resources.Limits.Memory().IsZero() {
					return 0
				}
			}
		}
	}
	limits := resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{})
	return limits.Memory().Value()
}
