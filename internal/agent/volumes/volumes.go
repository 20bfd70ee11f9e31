// Package volumes materialises the kubelet's projection volume types on
// the host — configMap, secret, downwardAPI and projected — for the pod
// worker to bind-mount into containers, with the semantics of the
// kubelet's plugins (pkg/volume/{configmap,secret,downwardapi,projected})
// and of its AtomicWriter (pkg/volume/util/atomic_writer.go):
//
//   - each volume directory holds a timestamped dir with the files, a
//     ..data symlink to it and one symlink per top-level path into ..data;
//     an update writes a new timestamped dir and renames a ..data_tmp
//     symlink over ..data, so readers never see a partial update, then
//     drops the paths that left the payload and the old dir; an unchanged
//     payload writes nothing;
//   - secret and projected volumes live on a tmpfs (mode 1777, sized like
//     the kubelet's memory-backed emptyDir), configMap and downwardAPI in
//     a plain 0777 directory; timestamped and nested dirs are 0755, files
//     get exactly their defaultMode or item mode (default 0644);
//   - with a pod fsGroup, after each write the whole volume gets group
//     fsGroup, files gain 0440 and directories 0550 plus setgid, as the
//     kubelet's SetVolumeOwnership does for these read-only volumes;
//   - a missing object or key fails the set-up with the kubelet's error
//     text (the worker wraps it as FailedMount), unless the reference is
//     optional, in which case it is skipped.
//
// The kubelet re-runs set-up on every pod sync (about every minute plus
// its object cache TTL) so volumes follow their ConfigMaps, Secrets and
// the pod's labels and annotations; the worker calls Update for that.
package volumes

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Plugin directory names, the kubelet's escaped plugin names: the caller
// puts volume <name> at <podDir>/volumes/<plugin dir>/<name>.
const (
	ConfigMapPluginDir   = "kubernetes.io~configmap"
	SecretPluginDir      = "kubernetes.io~secret"
	DownwardAPIPluginDir = "kubernetes.io~downward-api"
	ProjectedPluginDir   = "kubernetes.io~projected"
)

// PluginDir returns the plugin directory for vol, or "" if vol is not a
// projection volume this package handles.
func PluginDir(vol *corev1.Volume) string {
	switch {
	case vol.ConfigMap != nil:
		return ConfigMapPluginDir
	case vol.Secret != nil:
		return SecretPluginDir
	case vol.DownwardAPI != nil:
		return DownwardAPIPluginDir
	case vol.Projected != nil:
		return ProjectedPluginDir
	}
	return ""
}

// onTmpfs reports whether the kubelet keeps vol in memory: secrets, and
// projected volumes since they may hold secrets and tokens.
func onTmpfs(vol *corev1.Volume) bool {
	return vol.Secret != nil || vol.Projected != nil
}

// TokenSource returns a service account token for a projected volume's
// serviceAccountToken source (audience, expirationSeconds, path), bound
// to pod. It is called on every SetUp and Update, so it should cache and
// refresh tokens itself (the kubelet refreshes at 80% of their TTL).
type TokenSource func(ctx context.Context, pod *corev1.Pod, source *corev1.ServiceAccountTokenProjection) ([]byte, error)

// Config supplies the objects volumes are built from.
type Config struct {
	// ConfigMaps and Secrets get an object by namespace and name (a client
	// Get or an informer cache); a missing object must be reported with an
	// error for which apierrors.IsNotFound holds.
	ConfigMaps func(ctx context.Context, namespace, name string) (*corev1.ConfigMap, error)
	Secrets    func(ctx context.Context, namespace, name string) (*corev1.Secret, error)
	// NodeAllocatable gives what a downwardAPI resourceFieldRef reports for
	// a container without a cpu, memory or ephemeral-storage limit, and
	// bounds the size of secret and projected tmpfs mounts. Nil: none.
	NodeAllocatable func() corev1.ResourceList
	// TokenSource backs serviceAccountToken projections; nil fails them
	// as not supported.
	TokenSource TokenSource
}

// Manager sets up, updates and tears down projection volumes. It is safe
// for concurrent use; operations on one volume are serialised.
type Manager struct {
	cfg Config

	mu   sync.Mutex
	vols map[volumeKey]*volumeState
}

type volumeKey struct {
	pod  types.UID
	name string
}

type volumeState struct {
	dir  string      // guarded by Manager.mu
	gone atomic.Bool // torn down; no longer in the map

	mu    sync.Mutex // serialises set-up, updates and tear-down
	ready bool       // set up successfully; guarded by mu
}

// New returns a Manager reading objects through cfg.
func New(cfg Config) *Manager {
	return &Manager{cfg: cfg, vols: map[volumeKey]*volumeState{}}
}

// SetUp materialises vol of pod in dir, the host directory the caller
// picked for it (see PluginDir), creating it (and its tmpfs) as needed.
// It is idempotent, so it can be called again after an agent restart, and
// it remembers dir for Update. Errors are the bare kubelet texts, e.g.
// `configmap "x" not found`, for the caller to wrap as FailedMount.
func (m *Manager) SetUp(ctx context.Context, pod *corev1.Pod, vol *corev1.Volume, dir string) error {
	if PluginDir(vol) == "" {
		return fmt.Errorf("volume %q is not a configMap, secret, downwardAPI or projected volume", vol.Name)
	}
	if !filepath.IsAbs(dir) {
		return fmt.Errorf("volume directory %q is not absolute", dir)
	}
	dir = filepath.Clean(dir)
	st := m.state(volumeKey{pod.UID, vol.Name}, dir)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone.Load() {
		return fmt.Errorf("volume %q was torn down during set-up", vol.Name)
	}
	// As the kubelet: fetch first, so a missing object creates nothing.
	payload, err := m.collect(ctx, pod, vol)
	if err != nil {
		return err
	}
	_, statErr := os.Lstat(filepath.Join(dir, dataDirName))
	fresh := statErr != nil
	if err := prepareDir(dir, onTmpfs(vol), tmpfsSize(pod, m.nodeAllocatable())); err != nil {
		return err
	}
	if _, err := m.write(pod, dir, payload); err != nil {
		if fresh {
			// The kubelet tears a volume down when its first set-up fails,
			// so no tmpfs outlives a pod that never starts.
			_ = tearDownDir(dir)
		}
		return err
	}
	st.ready = true
	return nil
}

// Update re-projects a volume set up earlier by SetUp and reports whether
// its content changed. On error (say the ConfigMap was deleted) the volume
// keeps its previous content, as in the kubelet.
func (m *Manager) Update(ctx context.Context, pod *corev1.Pod, vol *corev1.Volume) (changed bool, err error) {
	m.mu.Lock()
	st := m.vols[volumeKey{pod.UID, vol.Name}]
	var dir string
	if st != nil {
		dir = st.dir
	}
	m.mu.Unlock()
	if st == nil {
		return false, fmt.Errorf("volume %q of pod %s/%s is not set up", vol.Name, pod.Namespace, pod.Name)
	}
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.gone.Load() || !st.ready {
		return false, fmt.Errorf("volume %q of pod %s/%s is not set up", vol.Name, pod.Namespace, pod.Name)
	}
	payload, err := m.collect(ctx, pod, vol)
	if err != nil {
		return false, err
	}
	return m.write(pod, dir, payload)
}

// TearDown unmounts dir if it is a mount point (the tmpfs of a secret or
// projected volume), removes it and forgets the volume. A missing dir is
// not an error.
func (m *Manager) TearDown(dir string) error {
	dir = filepath.Clean(dir)
	var states []*volumeState
	m.mu.Lock()
	for k, st := range m.vols {
		if st.dir == dir {
			st.gone.Store(true)
			delete(m.vols, k)
			states = append(states, st)
		}
	}
	m.mu.Unlock()
	// Hold the volumes so an update in progress finishes first and none
	// starts while the directory goes away.
	for _, st := range states {
		st.mu.Lock()
		defer st.mu.Unlock()
	}
	return tearDownDir(dir)
}

// TearDownAll tears down every projection volume under volumesDir, a
// pod's <podDir>/volumes, for pod clean-up.
func (m *Manager) TearDownAll(volumesDir string) error {
	var errs []error
	for _, plugin := range []string{ConfigMapPluginDir, SecretPluginDir, DownwardAPIPluginDir, ProjectedPluginDir} {
		pluginDir := filepath.Join(volumesDir, plugin)
		entries, err := os.ReadDir(pluginDir)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if err := m.TearDown(filepath.Join(pluginDir, e.Name())); err != nil {
				errs = append(errs, err)
			}
		}
		if err := os.Remove(pluginDir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// state returns the bookkeeping of a volume, creating it, and records dir.
func (m *Manager) state(k volumeKey, dir string) *volumeState {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.vols[k]
	if st == nil {
		st = &volumeState{}
		m.vols[k] = st
	}
	st.dir = dir
	return st
}

// write projects payload into dir, applying the pod's fsGroup.
func (m *Manager) write(pod *corev1.Pod, dir string, payload map[string]fileProjection) (bool, error) {
	var setPerms func() error
	if g := fsGroup(pod); g != nil {
		gid := *g
		setPerms = func() error { return setVolumeOwnership(dir, gid) }
	}
	w := &atomicWriter{dir: dir}
	return w.write(payload, setPerms)
}

func (m *Manager) nodeAllocatable() corev1.ResourceList {
	if m.cfg.NodeAllocatable == nil {
		return nil
	}
	return m.cfg.NodeAllocatable()
}
