package pods

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/agent/volumes"
	"github.com/orca-pods/orca/internal/runtime"
)

const (
	// volumeSetUpTimeout bounds reading a volume's objects from the API.
	volumeSetUpTimeout = 10 * time.Second
	// volumeUpdatePeriod is how often API-data volumes are refreshed; the
	// kubelet's is about a minute, users notice less.
	volumeUpdatePeriod = 15 * time.Second
)

// volumeError marks a volume that cannot be set up (FailedMount).
type volumeError struct{ volume, msg string }

func (e *volumeError) Error() string {
	return fmt.Sprintf("MountVolume.SetUp failed for volume %q : %s", e.volume, e.msg)
}

// setUpVolume prepares one pod volume on the host and returns its path.
// emptyDir lives under the pod's directory (a tmpfs for medium Memory);
// hostPath is checked against its declared type.
func (w *worker) setUpVolume(pod *corev1.Pod, v *corev1.Volume) (string, error) {
	switch {
	case v.EmptyDir != nil:
		dir := filepath.Join(w.podDir(pod), "volumes", "kubernetes.io~empty-dir", v.Name)
		if err := os.MkdirAll(dir, 0o777); err != nil {
			return "", &volumeError{v.Name, err.Error()}
		}
		// Kubernetes makes emptyDir world-writable regardless of umask.
		_ = os.Chmod(dir, 0o777)
		if v.EmptyDir.Medium == corev1.StorageMediumMemory && !isMountPoint(dir) {
			opts := "mode=0777"
			if v.EmptyDir.SizeLimit != nil && !v.EmptyDir.SizeLimit.IsZero() {
				opts += fmt.Sprintf(",size=%d", v.EmptyDir.SizeLimit.Value())
			}
			if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
				return "", &volumeError{v.Name, fmt.Sprintf("mount tmpfs: %v", err)}
			}
		}
		return dir, nil
	case v.HostPath != nil:
		return v.HostPath.Path, checkHostPath(v.Name, v.HostPath)
	case v.PersistentVolumeClaim != nil:
		return w.claimVolumePath(pod, v)
	case volumes.PluginDir(v) != "":
		dir := filepath.Join(w.podDir(pod), "volumes", volumes.PluginDir(v), v.Name)
		ctx, cancel := context.WithTimeout(w.m.ctx, volumeSetUpTimeout)
		defer cancel()
		if err := w.m.volumes.SetUp(ctx, pod, v, dir); err != nil {
			return "", &volumeError{v.Name, err.Error()}
		}
		return dir, nil
	}
	return "", &volumeError{v.Name, "volume type not supported by orca yet"}
}

// checkHostPath enforces hostPath.type as the kubelet does.
func checkHostPath(name string, hp *corev1.HostPathVolumeSource) error {
	t := corev1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	path := hp.Path
	fi, err := os.Stat(path)
	exists := err == nil
	fail := func(what string) error {
		return &volumeError{name, fmt.Sprintf("hostPath type check failed: %s is not a %s", path, what)}
	}
	switch t {
	case corev1.HostPathUnset:
		return nil
	case corev1.HostPathDirectoryOrCreate:
		if !exists {
			return os.MkdirAll(path, 0o755)
		}
		if !fi.IsDir() {
			return fail("directory")
		}
	case corev1.HostPathDirectory:
		if !exists || !fi.IsDir() {
			return fail("directory")
		}
	case corev1.HostPathFileOrCreate:
		if !exists {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE, 0o644)
			if err != nil {
				return &volumeError{name, err.Error()}
			}
			return f.Close()
		}
		if !fi.Mode().IsRegular() {
			return fail("file")
		}
	case corev1.HostPathFile:
		if !exists || !fi.Mode().IsRegular() {
			return fail("file")
		}
	case corev1.HostPathSocket:
		if !exists || fi.Mode()&os.ModeSocket == 0 {
			return fail("socket file")
		}
	case corev1.HostPathCharDev:
		if !exists || fi.Mode()&os.ModeCharDevice == 0 {
			return fail("character device")
		}
	case corev1.HostPathBlockDev:
		if !exists || fi.Mode()&os.ModeDevice == 0 || fi.Mode()&os.ModeCharDevice != 0 {
			return fail("block device")
		}
	}
	return nil
}

// mounts resolves a container's volumeMounts (with subPath) to host paths.
func (w *worker) mounts(pod *corev1.Pod, c *corev1.Container) ([]runtime.Mount, error) {
	vols := map[string]*corev1.Volume{}
	for i := range pod.Spec.Volumes {
		vols[pod.Spec.Volumes[i].Name] = &pod.Spec.Volumes[i]
	}
	var out []runtime.Mount
	for _, vm := range c.VolumeMounts {
		v, ok := vols[vm.Name]
		if !ok {
			return nil, fmt.Errorf("cannot find volume %q to mount into container %q", vm.Name, c.Name)
		}
		host, err := w.setUpVolume(pod, v)
		if err != nil {
			return nil, err
		}
		if vm.SubPath != "" {
			if filepath.IsAbs(vm.SubPath) || strings.Contains(vm.SubPath, "..") {
				return nil, fmt.Errorf("subPath %q must be a relative path without '..'", vm.SubPath)
			}
			if host, err = resolveSubPath(host, vm.SubPath); err != nil {
				w.log.Warn("subPath", "volumeMount", vm.Name, "err", err)
				return nil, configErrorf("failed to prepare subPath for volumeMount %q of container %q", vm.Name, c.Name)
			}
		}
		// The kubelet mounts API-data volumes read-only, whatever the
		// mount says: their files are the API's, swapped in atomically.
		ro := vm.ReadOnly || volumes.PluginDir(v) != "" || (v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ReadOnly)
		m := runtime.Mount{HostPath: host, ContainerPath: vm.MountPath, ReadOnly: ro, Propagation: "private"}
		if vm.MountPropagation != nil {
			switch *vm.MountPropagation {
			case corev1.MountPropagationHostToContainer:
				m.Propagation = "rslave"
			case corev1.MountPropagationBidirectional:
				m.Propagation = "rshared"
			}
		}
		out = append(out, m)
	}
	return out, nil
}

// updateVolumes refreshes the pod's configMap, secret, downwardAPI and
// projected volumes from the API, at most every volumeUpdatePeriod, so a
// changed ConfigMap reaches running containers (not through subPath).
func (w *worker) updateVolumes(ctx context.Context, pod *corev1.Pod) {
	now := w.m.cfg.Clock.Now()
	if now.Sub(w.state.volumesUpdated) < volumeUpdatePeriod {
		return
	}
	w.state.volumesUpdated = now
	for i := range pod.Spec.Volumes {
		v := &pod.Spec.Volumes[i]
		if volumes.PluginDir(v) == "" {
			continue
		}
		if _, err := w.m.volumes.Update(ctx, pod, v); err != nil {
			w.log.Debug("update volume", "volume", v.Name, "err", err)
		}
	}
}

// tearDownVolumes unmounts tmpfs volumes and removes the pod directory.
func (w *worker) tearDownVolumes(pod *corev1.Pod) error {
	if err := w.m.volumes.TearDownAll(filepath.Join(w.podDir(pod), "volumes")); err != nil {
		return err
	}
	dir := filepath.Join(w.podDir(pod), "volumes", "kubernetes.io~empty-dir")
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		if isMountPoint(p) {
			if err := unix.Unmount(p, unix.MNT_DETACH); err != nil {
				return fmt.Errorf("unmount %s: %w", p, err)
			}
		}
	}
	return os.RemoveAll(w.podDir(pod))
}

// isMountPoint compares a directory's device with its parent's.
func isMountPoint(path string) bool {
	var st, parent unix.Stat_t
	if unix.Lstat(path, &st) != nil || unix.Lstat(filepath.Dir(path), &parent) != nil {
		return false
	}
	return st.Dev != parent.Dev
}

// resolveSubPath returns the host path of sub inside the volume at base,
// creating missing directories as the kubelet does, and refuses a path
// that leaves the volume through a symlink (a container could have
// planted one pointing anywhere on the node).
func resolveSubPath(base, sub string) (string, error) {
	root, err := filepath.EvalSymlinks(base)
	if err != nil {
		return "", err
	}
	cur := root
	for _, part := range strings.Split(filepath.Clean(sub), string(filepath.Separator)) {
		next := filepath.Join(cur, part)
		if _, err := os.Lstat(next); os.IsNotExist(err) {
			if err := os.Mkdir(next, 0o750); err != nil {
				return "", err
			}
		} else if err != nil {
			return "", err
		}
		if next, err = filepath.EvalSymlinks(next); err != nil {
			return "", err
		}
		if next != root && !strings.HasPrefix(next, root+string(filepath.Separator)) {
			return "", fmt.Errorf("subpath %q resolves to %s, outside the volume %s", sub, next, root)
		}
		cur = next
	}
	return cur, nil
}
