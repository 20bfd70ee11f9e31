package volumes

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// objects is a fake API: ConfigMaps and Secrets by name in namespace "ns",
// missing ones reported as a client-go Get would.
type objects struct {
	mu         sync.Mutex
	configMaps map[string]*corev1.ConfigMap
	secrets    map[string]*corev1.Secret
}

func (o *objects) config() Config {
	return Config{
		ConfigMaps: func(_ context.Context, ns, name string) (*corev1.ConfigMap, error) {
			o.mu.Lock()
			defer o.mu.Unlock()
			if cm, ok := o.configMaps[ns+"/"+name]; ok {
				return cm.DeepCopy(), nil
			}
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "configmaps"}, name)
		},
		Secrets: func(_ context.Context, ns, name string) (*corev1.Secret, error) {
			o.mu.Lock()
			defer o.mu.Unlock()
			if s, ok := o.secrets[ns+"/"+name]; ok {
				return s.DeepCopy(), nil
			}
			return nil, apierrors.NewNotFound(schema.GroupResource{Resource: "secrets"}, name)
		},
		NodeAllocatable: func() corev1.ResourceList {
			return corev1.ResourceList{
				corev1.ResourceCPU:              resource.MustParse("4"),
				corev1.ResourceMemory:           resource.MustParse("8Gi"),
				corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
			}
		},
	}
}

func (o *objects) setConfigMap(name string, data map[string]string, binary map[string][]byte) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.configMaps == nil {
		o.configMaps = map[string]*corev1.ConfigMap{}
	}
	o.configMaps["ns/"+name] = &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Data: data, BinaryData: binary}
}

func (o *objects) deleteConfigMap(name string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	delete(o.configMaps, "ns/"+name)
}

func (o *objects) setSecret(name string, data map[string]string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.secrets == nil {
		o.secrets = map[string]*corev1.Secret{}
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	o.secrets["ns/"+name] = s
}

func testPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Namespace: "ns", Name: "web", UID: "1f0c5e3a-5d2b-4c7e-9a61-0d2f3b4c5d6e",
			Labels:      map[string]string{"app": "web", "tier": "front"},
			Annotations: map[string]string{"note": "say \"hi\"\nbye", "a.example.com/x": "1"},
		},
		Spec: corev1.PodSpec{
			NodeName: "node-1",
			Containers: []corev1.Container{{
				Name: "app",
				Resources: corev1.ResourceRequirements{
					Limits: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("1500m"),
						corev1.ResourceMemory: resource.MustParse("64Mi"),
					},
					Requests: corev1.ResourceList{
						corev1.ResourceCPU:    resource.MustParse("250m"),
						corev1.ResourceMemory: resource.MustParse("100M"),
					},
				},
			}, {
				Name: "nolimits",
			}},
		},
		Status: corev1.PodStatus{PodIP: "10.0.0.7", HostIP: "192.168.1.2"},
	}
}

func ptr[T any](v T) *T { return &v }

// setUp sets vol up under a fresh temp dir and registers its tear-down.
func setUp(t *testing.T, m *Manager, pod *corev1.Pod, vol *corev1.Volume) (string, error) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "volumes", PluginDir(vol), vol.Name)
	// Registered after t.TempDir, so it runs before the temp dir removal.
	t.Cleanup(func() {
		if err := m.TearDown(dir); err != nil {
			t.Errorf("TearDown: %v", err)
		}
	})
	return dir, m.SetUp(context.Background(), pod, vol, dir)
}

// userFiles maps each regular file reachable through the volume's
// user-visible paths to its content.
func userFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), "..") {
			continue
		}
		top := filepath.Join(dir, e.Name())
		fi, err := os.Stat(top)
		if err != nil {
			t.Fatal(err)
		}
		if !fi.IsDir() {
			out[e.Name()] = readFile(t, top)
			continue
		}
		// The trailing slash makes the walk follow the top-level symlink.
		err = filepath.WalkDir(top+"/", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(dir, path)
			out[rel] = readFile(t, path)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return out
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func statOf(t *testing.T, path string) *unix.Stat_t {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return &st
}

func TestPluginDir(t *testing.T) {
	for _, tc := range []struct {
		src  corev1.VolumeSource
		want string
	}{
		{corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{}}, "kubernetes.io~configmap"},
		{corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{}}, "kubernetes.io~secret"},
		{corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{}}, "kubernetes.io~downward-api"},
		{corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{}}, "kubernetes.io~projected"},
		{corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}, ""},
	} {
		if got := PluginDir(&corev1.Volume{Name: "v", VolumeSource: tc.src}); got != tc.want {
			t.Errorf("PluginDir = %q, want %q", got, tc.want)
		}
	}
	m := New(Config{})
	err := m.SetUp(context.Background(), testPod(), &corev1.Volume{Name: "v", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}, t.TempDir())
	if err == nil {
		t.Error("SetUp accepted an emptyDir")
	}
}

func TestConfigMapAllKeys(t *testing.T) {
	var o objects
	o.setConfigMap("cfg", map[string]string{"app.conf": "port=80\n", "empty": ""}, map[string][]byte{"blob": {0, 1, 2, 0xff}})
	m := New(o.config())
	vol := &corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
	}}}
	dir, err := setUp(t, m, testPod(), vol)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"app.conf": "port=80\n", "empty": "", "blob": "\x00\x01\x02\xff"}
	if got := userFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	if got := modeOf(t, dir); got != fs.ModeDir|0o777 {
		t.Errorf("volume dir mode = %v, want drwxrwxrwx", got)
	}
	if got := modeOf(t, filepath.Join(dir, "..data", "app.conf")); got != 0o644 {
		t.Errorf("file mode = %v, want the default 0644", got)
	}
	if mounted, _ := isMountPoint(dir); mounted {
		t.Error("a configMap volume got a mount")
	}

	// SetUp again (an agent restart) changes nothing.
	ts := dataTarget(t, dir)
	if err := m.SetUp(context.Background(), testPod(), vol, dir); err != nil {
		t.Fatal(err)
	}
	if got := dataTarget(t, dir); got != ts {
		t.Errorf("repeated SetUp rewrote the volume")
	}
}

func TestConfigMapItems(t *testing.T) {
	var o objects
	o.setConfigMap("cfg", map[string]string{"a": "A", "b": "B", "c": "C"}, map[string][]byte{"bin": []byte("BIN")})
	m := New(o.config())
	vol := &corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
		DefaultMode:          ptr[int32](0o640),
		Items: []corev1.KeyToPath{
			{Key: "a", Path: "first"},
			{Key: "b", Path: "nested/dir/second", Mode: ptr[int32](0o600)},
			{Key: "bin", Path: "bin.dat"},
		},
	}}}
	dir, err := setUp(t, m, testPod(), vol)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"first": "A", "nested/dir/second": "B", "bin.dat": "BIN"}
	if got := userFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	for path, mode := range map[string]fs.FileMode{"first": 0o640, "nested/dir/second": 0o600, "nested": fs.ModeDir | 0o755} {
		if got := modeOf(t, filepath.Join(dir, "..data", path)); got != mode {
			t.Errorf("mode of %s = %v, want %v", path, got, mode)
		}
	}
	if got, _ := os.Readlink(filepath.Join(dir, "nested")); got != "..data/nested" {
		t.Errorf("nested -> %q, want ..data/nested", got)
	}
}

func TestConfigMapMissing(t *testing.T) {
	var o objects
	o.setConfigMap("cfg", map[string]string{"a": "A"}, nil)
	m := New(o.config())
	cmVol := func(name string, optional bool, items ...corev1.KeyToPath) *corev1.Volume {
		return &corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: name}, Optional: &optional, Items: items,
		}}}
	}

	dir, err := setUp(t, m, testPod(), cmVol("nope", false))
	if err == nil || err.Error() != `configmap "nope" not found` || !apierrors.IsNotFound(err) {
		t.Errorf("missing configmap: %v", err)
	}
	if _, serr := os.Stat(dir); !errors.Is(serr, fs.ErrNotExist) {
		t.Errorf("a failed SetUp left %s: %v", dir, serr)
	}

	_, err = setUp(t, m, testPod(), cmVol("cfg", false, corev1.KeyToPath{Key: "a", Path: "a"}, corev1.KeyToPath{Key: "zz", Path: "z"}))
	if err == nil || err.Error() != "configmap references non-existent config key: zz" {
		t.Errorf("missing key: %v", err)
	}

	dir, err = setUp(t, m, testPod(), cmVol("nope", true))
	if err != nil {
		t.Fatalf("optional missing configmap: %v", err)
	}
	if got := userFiles(t, dir); len(got) != 0 {
		t.Errorf("optional missing configmap gave files %q", got)
	}
	dataTarget(t, dir) // an empty volume still has ..data

	dir, err = setUp(t, m, testPod(), cmVol("cfg", true, corev1.KeyToPath{Key: "a", Path: "a"}, corev1.KeyToPath{Key: "zz", Path: "z"}))
	if err != nil {
		t.Fatalf("optional missing key: %v", err)
	}
	if got := userFiles(t, dir); !equalMaps(got, map[string]string{"a": "A"}) {
		t.Errorf("optional missing key gave files %q", got)
	}
}

func TestConfigMapInvalidItemPath(t *testing.T) {
	var o objects
	o.setConfigMap("cfg", map[string]string{"a": "A"}, nil)
	m := New(o.config())
	vol := &corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
		Items:                []corev1.KeyToPath{{Key: "a", Path: "../../etc/x"}},
	}}}
	_, err := setUp(t, m, testPod(), vol)
	if err == nil || err.Error() != "invalid path: must not contain '..': ../../etc/x" {
		t.Errorf("SetUp = %v", err)
	}
}

func TestSecretOnTmpfs(t *testing.T) {
	var o objects
	o.setSecret("creds", map[string]string{"user": "admin", "pass": "hunter2"})
	m := New(o.config())
	pod := testPod()
	pod.Spec.Containers[1].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")}
	vol := &corev1.Volume{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: "creds", DefaultMode: ptr[int32](0o400),
	}}}
	dir, err := setUp(t, m, pod, vol)
	if err != nil {
		t.Fatal(err)
	}
	if mounted, err := isMountPoint(dir); !mounted || err != nil {
		t.Fatalf("secret volume is not a mount point: %v", err)
	}
	var sfs unix.Statfs_t
	if err := unix.Statfs(dir, &sfs); err != nil || sfs.Type != unix.TMPFS_MAGIC {
		t.Fatalf("secret volume is not on tmpfs (type %#x, %v)", sfs.Type, err)
	}
	// Sized like the kubelet: the pod's memory limit (64Mi+32Mi) < allocatable.
	if got := int64(sfs.Blocks) * sfs.Bsize; got != 96<<20 {
		t.Errorf("tmpfs size = %d, want %d", got, 96<<20)
	}
	if got := modeOf(t, dir); got != fs.ModeDir|fs.ModeSticky|0o777 {
		t.Errorf("volume dir mode = %v, want drwxrwxrwt", got)
	}
	want := map[string]string{"user": "admin", "pass": "hunter2"}
	if got := userFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	if got := modeOf(t, filepath.Join(dir, "..data", "pass")); got != 0o400 {
		t.Errorf("file mode = %v, want 0400", got)
	}

	// Idempotent: no second tmpfs on top.
	if err := m.SetUp(context.Background(), pod, vol, dir); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(readFile(t, "/proc/self/mounts"), " "+dir+" "); n != 1 {
		t.Errorf("%d mounts on %s after a second SetUp", n, dir)
	}

	if err := m.TearDown(dir); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(readFile(t, "/proc/self/mounts"), " "+dir+" ") {
		t.Error("tmpfs still mounted after TearDown")
	}
	if _, err := os.Stat(dir); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("volume dir left after TearDown: %v", err)
	}
	if _, err := m.Update(context.Background(), pod, vol); err == nil {
		t.Error("Update after TearDown succeeded")
	}
}

func TestSecretMissing(t *testing.T) {
	var o objects
	o.setSecret("creds", map[string]string{"user": "admin"})
	m := New(o.config())
	vol := func(name string, optional bool, items ...corev1.KeyToPath) *corev1.Volume {
		return &corev1.Volume{Name: "creds", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: name, Optional: &optional, Items: items,
		}}}
	}
	dir, err := setUp(t, m, testPod(), vol("nope", false))
	if err == nil || err.Error() != `secret "nope" not found` || !apierrors.IsNotFound(err) {
		t.Errorf("missing secret: %v", err)
	}
	if strings.Contains(readFile(t, "/proc/self/mounts"), " "+dir+" ") {
		t.Error("a failed SetUp left a tmpfs")
	}
	_, err = setUp(t, m, testPod(), vol("creds", false, corev1.KeyToPath{Key: "token", Path: "token"}))
	if err == nil || err.Error() != "references non-existent secret key: token" {
		t.Errorf("missing key: %v", err)
	}
	// A first set-up failing after the mount (here on an invalid path)
	// tears the volume down again, as the kubelet does.
	dir, err = setUp(t, m, testPod(), vol("creds", false, corev1.KeyToPath{Key: "user", Path: "../user"}))
	if err == nil || err.Error() != "invalid path: must not contain '..': ../user" {
		t.Errorf("invalid path: %v", err)
	}
	if _, serr := os.Stat(dir); !errors.Is(serr, fs.ErrNotExist) || strings.Contains(readFile(t, "/proc/self/mounts"), " "+dir+" ") {
		t.Errorf("a failed first SetUp left its tmpfs or dir: %v", serr)
	}

	dir, err = setUp(t, m, testPod(), vol("nope", true, corev1.KeyToPath{Key: "token", Path: "token"}))
	if err != nil {
		t.Fatalf("optional missing secret: %v", err)
	}
	if got := userFiles(t, dir); len(got) != 0 {
		t.Errorf("optional missing secret gave %q", got)
	}
}

func TestProjected(t *testing.T) {
	var o objects
	o.setConfigMap("kube-root-ca.crt", map[string]string{"ca.crt": "CA", "other": "x"}, nil)
	o.setSecret("creds", map[string]string{"user": "admin", "pass": "pw"})
	m := New(o.config())
	vol := &corev1.Volume{Name: "all-in-one", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr[int32](0o440),
		Sources: []corev1.VolumeProjection{
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
			{Secret: &corev1.SecretProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: "creds"},
				Items:                []corev1.KeyToPath{{Key: "pass", Path: "secret/pass", Mode: ptr[int32](0o400)}},
			}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{
				{Path: "namespace", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.namespace"}},
				{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu", Divisor: resource.MustParse("1m")}},
			}}},
		},
	}}}
	dir, err := setUp(t, m, testPod(), vol)
	if err != nil {
		t.Fatal(err)
	}
	if mounted, _ := isMountPoint(dir); !mounted {
		t.Error("projected volume is not on its own tmpfs")
	}
	want := map[string]string{"ca.crt": "CA", "secret/pass": "pw", "namespace": "ns", "cpu": "1500"}
	if got := userFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	for path, mode := range map[string]fs.FileMode{"ca.crt": 0o440, "secret/pass": 0o400, "namespace": 0o440} {
		if got := modeOf(t, filepath.Join(dir, "..data", path)); got != mode {
			t.Errorf("mode of %s = %v, want %v", path, got, mode)
		}
	}

	// Every failing source is reported; the volume is left as it was.
	o.deleteConfigMap("kube-root-ca.crt")
	vol.Projected.Sources = append(vol.Projected.Sources, corev1.VolumeProjection{Secret: &corev1.SecretProjection{
		LocalObjectReference: corev1.LocalObjectReference{Name: "creds"},
		Items:                []corev1.KeyToPath{{Key: "nokey", Path: "x"}},
	}})
	_, err = m.Update(context.Background(), testPod(), vol)
	if err == nil || err.Error() != `[configmap "kube-root-ca.crt" not found, references non-existent secret key: nokey]` {
		t.Errorf("Update = %v", err)
	}
	if got := userFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("after a failed update files = %q, want %q", got, want)
	}
}

func TestProjectedServiceAccountToken(t *testing.T) {
	var o objects
	o.setConfigMap("kube-root-ca.crt", map[string]string{"ca.crt": "CA"}, nil)
	vol := &corev1.Volume{Name: "kube-api-access-abcde", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{
		DefaultMode: ptr[int32](0o644),
		Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr[int64](3607)}},
			{ConfigMap: &corev1.ConfigMapProjection{
				LocalObjectReference: corev1.LocalObjectReference{Name: "kube-root-ca.crt"},
				Items:                []corev1.KeyToPath{{Key: "ca.crt", Path: "ca.crt"}},
			}},
		},
	}}}

	_, err := setUp(t, New(o.config()), testPod(), vol)
	if err == nil || err.Error() != "projected volume source serviceAccountToken is not supported yet" {
		t.Errorf("without a TokenSource: %v", err)
	}
	ctb := vol.DeepCopy()
	ctb.Projected.Sources[0] = corev1.VolumeProjection{ClusterTrustBundle: &corev1.ClusterTrustBundleProjection{Path: "b"}}
	_, err = setUp(t, New(o.config()), testPod(), ctb)
	if err == nil || err.Error() != "projected volume source clusterTrustBundle is not supported yet" {
		t.Errorf("clusterTrustBundle: %v", err)
	}

	cfg := o.config()
	var gotSource *corev1.ServiceAccountTokenProjection
	cfg.TokenSource = func(_ context.Context, pod *corev1.Pod, src *corev1.ServiceAccountTokenProjection) ([]byte, error) {
		gotSource = src
		return []byte("jwt-for-" + pod.Name), nil
	}
	m := New(cfg)
	dir, err := setUp(t, m, testPod(), vol)
	if err != nil {
		t.Fatal(err)
	}
	if gotSource == nil || *gotSource.ExpirationSeconds != 3607 {
		t.Errorf("TokenSource got %+v", gotSource)
	}
	if got := readFile(t, filepath.Join(dir, "token")); got != "jwt-for-web" {
		t.Errorf("token = %q", got)
	}
	if got := modeOf(t, filepath.Join(dir, "..data/token")); got != 0o644 {
		t.Errorf("token mode = %v, want defaultMode without fsGroup", got)
	}

	// With fsGroup and one runAsUser: 0600 owned by that user, then 0640
	// once the group gets it.
	pod := testPod()
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr[int64](2000), RunAsUser: ptr[int64](1000)}
	pod.UID = "other-pod"
	dir, err = setUp(t, m, pod, vol)
	if err != nil {
		t.Fatal(err)
	}
	st := statOf(t, filepath.Join(dir, "..data/token"))
	if st.Mode&0o7777 != 0o640 || st.Uid != 1000 || st.Gid != 2000 {
		t.Errorf("token mode %#o uid %d gid %d, want 0640 1000 2000", st.Mode&0o7777, st.Uid, st.Gid)
	}
	st = statOf(t, filepath.Join(dir, "..data/ca.crt"))
	if st.Mode&0o7777 != 0o644 || st.Uid != 0 || st.Gid != 2000 {
		t.Errorf("ca.crt mode %#o uid %d gid %d, want 0644 0 2000", st.Mode&0o7777, st.Uid, st.Gid)
	}
}

func TestFSUserFrom(t *testing.T) {
	pod := testPod()
	if fsUserFrom(pod) != nil {
		t.Error("fsUser without any runAsUser")
	}
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{RunAsUser: ptr[int64](1000)}
	if u := fsUserFrom(pod); u == nil || *u != 1000 {
		t.Errorf("pod-level runAsUser: %v", u)
	}
	pod.Spec.Containers[1].SecurityContext = &corev1.SecurityContext{RunAsUser: ptr[int64](1001)}
	if u := fsUserFrom(pod); u != nil {
		t.Errorf("differing users gave %d", *u)
	}
}

func TestFSGroupOwnership(t *testing.T) {
	var o objects
	o.setConfigMap("cfg", map[string]string{"a": "A", "b": "B"}, nil)
	m := New(o.config())
	pod := testPod()
	pod.Spec.SecurityContext = &corev1.PodSecurityContext{FSGroup: ptr[int64](1234)}
	vol := &corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
		DefaultMode:          ptr[int32](0o600),
		Items:                []corev1.KeyToPath{{Key: "a", Path: "a"}, {Key: "b", Path: "sub/b", Mode: ptr[int32](0o644)}},
	}}}
	dir, err := setUp(t, m, pod, vol)
	if err != nil {
		t.Fatal(err)
	}
	ts := dataTarget(t, dir)
	for path, mode := range map[string]uint32{
		"":             0o2777, // 0777 + r-x for group + setgid
		ts:             0o2755,
		ts + "/sub":    0o2755,
		ts + "/a":      0o640, // 0600 + group read
		ts + "/sub/b":  0o644,
		"..data/sub/b": 0o644,
	} {
		st := statOf(t, filepath.Join(dir, path))
		if st.Mode&0o7777 != mode || st.Gid != 1234 || st.Uid != 0 {
			t.Errorf("%s: mode %#o uid %d gid %d, want %#o 0 1234", path, st.Mode&0o7777, st.Uid, st.Gid, mode)
		}
	}

	// An update keeps the ownership on the new files.
	o.setConfigMap("cfg", map[string]string{"a": "A2", "b": "B"}, nil)
	if changed, err := m.Update(context.Background(), pod, vol); err != nil || !changed {
		t.Fatalf("Update = %v, %v", changed, err)
	}
	st := statOf(t, filepath.Join(dir, "a"))
	if st.Mode&0o7777 != 0o640 || st.Gid != 1234 {
		t.Errorf("after update a: mode %#o gid %d", st.Mode&0o7777, st.Gid)
	}
	if st := statOf(t, dir); st.Mode&0o7777 != 0o2777 {
		t.Errorf("after update volume dir mode %#o", st.Mode&0o7777)
	}
}

func TestUpdate(t *testing.T) {
	var o objects
	o.setConfigMap("cfg", map[string]string{"keep": "1", "change": "old", "drop": "x"}, nil)
	m := New(o.config())
	pod := testPod()
	vol := &corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
	}}}
	ctx := context.Background()
	if _, err := m.Update(ctx, pod, vol); err == nil {
		t.Error("Update before SetUp succeeded")
	}
	dir, err := setUp(t, m, pod, vol)
	if err != nil {
		t.Fatal(err)
	}
	oldTs := dataTarget(t, dir)

	if changed, err := m.Update(ctx, pod, vol); err != nil || changed {
		t.Fatalf("Update without a change = %v, %v", changed, err)
	}

	o.setConfigMap("cfg", map[string]string{"keep": "1", "change": "new", "add": "+"}, nil)
	if changed, err := m.Update(ctx, pod, vol); err != nil || !changed {
		t.Fatalf("Update = %v, %v", changed, err)
	}
	ts := dataTarget(t, dir)
	if ts == oldTs {
		t.Fatal("..data did not move")
	}
	if _, err := os.Lstat(filepath.Join(dir, oldTs)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("old timestamped dir still there: %v", err)
	}
	want := map[string]string{"keep": "1", "change": "new", "add": "+"}
	if got := userFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files = %q, want %q", got, want)
	}
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, " ") != strings.Join([]string{ts, "..data", "add", "change", "keep"}, " ") {
		t.Errorf("volume holds %v", names)
	}

	// A deleted ConfigMap fails the update and keeps the content.
	o.deleteConfigMap("cfg")
	if _, err := m.Update(ctx, pod, vol); err == nil || err.Error() != `configmap "cfg" not found` {
		t.Errorf("Update after delete = %v", err)
	}
	if got := userFiles(t, dir); !equalMaps(got, want) {
		t.Errorf("files after failed update = %q", got)
	}
}

// TestUpdateWhileReading checks, end to end, that a container reading a
// ConfigMap key while Update runs only ever sees whole versions.
func TestUpdateWhileReading(t *testing.T) {
	var o objects
	big := func(c byte) string { return strings.Repeat(string(c), 32<<10) }
	o.setConfigMap("cfg", map[string]string{"key": big('a')}, nil)
	m := New(o.config())
	pod := testPod()
	vol := &corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"},
	}}}
	dir, err := setUp(t, m, pod, vol)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		defer close(errc)
		for {
			select {
			case <-done:
				return
			default:
			}
			b, err := os.ReadFile(filepath.Join(dir, "key"))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				errc <- err
				return
			}
			if len(b) != 32<<10 || strings.Trim(string(b), string(b[:1])) != "" {
				errc <- errors.New("partial read")
				return
			}
		}
	}()
	for i := range 50 {
		o.setConfigMap("cfg", map[string]string{"key": big(byte('b' + i%20))}, nil)
		if _, err := m.Update(context.Background(), pod, vol); err != nil {
			t.Fatal(err)
		}
	}
	close(done)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}

func TestTearDownAll(t *testing.T) {
	var o objects
	o.setConfigMap("cfg", map[string]string{"a": "A"}, nil)
	o.setSecret("creds", map[string]string{"u": "x"})
	m := New(o.config())
	pod := testPod()
	volumesDir := filepath.Join(t.TempDir(), "volumes")
	vols := []*corev1.Volume{
		{Name: "c", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}},
		{Name: "s", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "creds"}}},
	}
	for _, v := range vols {
		dir := filepath.Join(volumesDir, PluginDir(v), v.Name)
		t.Cleanup(func() { _ = m.TearDown(dir) })
		if err := m.SetUp(context.Background(), pod, v, dir); err != nil {
			t.Fatal(err)
		}
	}
	if err := m.TearDownAll(volumesDir); err != nil {
		t.Fatal(err)
	}
	if entries, err := os.ReadDir(volumesDir); err != nil || len(entries) != 0 {
		t.Errorf("volumes dir after TearDownAll: %v %v", entries, err)
	}
	if strings.Contains(readFile(t, "/proc/self/mounts"), volumesDir) {
		t.Error("a tmpfs survived TearDownAll")
	}
	if err := m.TearDown(filepath.Join(volumesDir, "missing")); err != nil {
		t.Errorf("TearDown of a missing dir: %v", err)
	}
}

func TestGetterErrorsAreWrapped(t *testing.T) {
	cfg := Config{ConfigMaps: func(context.Context, string, string) (*corev1.ConfigMap, error) {
		return nil, syscall.ECONNREFUSED
	}}
	vol := &corev1.Volume{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}, Optional: ptr(true),
	}}}
	_, err := setUp(t, New(cfg), testPod(), vol)
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "ns/cfg") {
		t.Errorf("SetUp = %v", err)
	}
}
