package volumes

import (
	"context"
	"io/fs"
	"path/filepath"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func TestDownwardAPIVolume(t *testing.T) {
	var o objects
	m := New(o.config())
	field := func(path, fieldPath string) corev1.DownwardAPIVolumeFile {
		return corev1.DownwardAPIVolumeFile{Path: path, FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: fieldPath}}
	}
	res := func(path, container, name, divisor string) corev1.DownwardAPIVolumeFile {
		f := corev1.DownwardAPIVolumeFile{Path: path, ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: container, Resource: name}}
		if divisor != "" {
			f.ResourceFieldRef.Divisor = resource.MustParse(divisor)
		}
		return f
	}
	items := []corev1.DownwardAPIVolumeFile{
		field("labels", "metadata.labels"),
		field("annotations", "metadata.annotations"),
		field("name", "metadata.name"),
		field("namespace", "metadata.namespace"),
		field("uid", "metadata.uid"),
		field("tier", "metadata.labels['tier']"),
		field("note", "metadata.annotations['note']"),
		field("absent", "metadata.labels['absent']"),
		res("cpu_limit", "app", "limits.cpu", ""),          // 1500m rounds up to 2
		res("cpu_limit_m", "app", "limits.cpu", "1m"),      // 1500
		res("cpu_request_m", "app", "requests.cpu", "1m"),  // 250
		res("mem_limit_mi", "app", "limits.memory", "1Mi"), // 64
		res("mem_limit", "app", "limits.memory", ""),       // bytes
		res("mem_request_mi", "app", "requests.memory", "1Mi"),
		res("node_cpu", "nolimits", "limits.cpu", ""),
		res("node_mem_gi", "nolimits", "limits.memory", "1Gi"),
		res("node_storage", "nolimits", "limits.ephemeral-storage", "1G"),
		res("no_request", "nolimits", "requests.memory", ""),
		res("hugepages", "app", "limits.hugepages-2Mi", ""),
	}
	items = append(items, corev1.DownwardAPIVolumeFile{
		Path: "podinfo/name", Mode: ptr[int32](0o600),
		FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
	})
	vol := &corev1.Volume{Name: "podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: items}}}
	pod := testPod()
	dir, err := setUp(t, m, pod, vol)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"labels":         "app=\"web\"\ntier=\"front\"",
		"annotations":    "a.example.com/x=\"1\"\nnote=\"say \\\"hi\\\"\\nbye\"",
		"name":           "web",
		"namespace":      "ns",
		"uid":            "1f0c5e3a-5d2b-4c7e-9a61-0d2f3b4c5d6e",
		"tier":           "front",
		"note":           "say \"hi\"\nbye",
		"absent":         "",
		"cpu_limit":      "2",
		"cpu_limit_m":    "1500",
		"cpu_request_m":  "250",
		"mem_limit_mi":   "64",
		"mem_limit":      "67108864",
		"mem_request_mi": "96", // 100M = 95.37Mi, rounded up
		"node_cpu":       "4",
		"node_mem_gi":    "8",
		"node_storage":   "108", // 100Gi = 107.37G
		"no_request":     "0",
		"hugepages":      "0",
		"podinfo/name":   "web",
	}
	got := userFiles(t, dir)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("got %d files, want %d", len(got), len(want))
	}
	if got := modeOf(t, filepath.Join(dir, "..data/podinfo/name")); got != 0o600 {
		t.Errorf("item mode = %v, want 0600", got)
	}
	if got := modeOf(t, filepath.Join(dir, "..data/labels")); got != 0o644 {
		t.Errorf("default mode = %v, want 0644", got)
	}
	if got := modeOf(t, dir); got != fs.ModeDir|0o777 {
		t.Errorf("volume dir mode = %v, want a plain drwxrwxrwx dir", got)
	}

	// Labels follow the pod on Update.
	pod.Labels["tier"] = "back"
	if changed, err := m.Update(context.Background(), pod, vol); err != nil || !changed {
		t.Fatalf("Update = %v, %v", changed, err)
	}
	if got := readFile(t, filepath.Join(dir, "tier")); got != "back" {
		t.Errorf("tier after update = %q", got)
	}
	if got := readFile(t, filepath.Join(dir, "labels")); got != "app=\"web\"\ntier=\"back\"" {
		t.Errorf("labels after update = %q", got)
	}
}

func TestDownwardAPIErrors(t *testing.T) {
	pod := testPod()
	for _, tc := range []struct {
		item corev1.DownwardAPIVolumeFile
		err  string
	}{
		// Env-only fields: volumes are set up before the pod has an IP, and
		// the API server rejects these paths in volumes.
		{corev1.DownwardAPIVolumeFile{Path: "ip", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}, "unsupported fieldPath: status.podIP"},
		{corev1.DownwardAPIVolumeFile{Path: "node", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}, "unsupported fieldPath: spec.nodeName"},
		{corev1.DownwardAPIVolumeFile{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name['x']"}}, `fieldPath "metadata.name['x']" does not support subscript`},
		{corev1.DownwardAPIVolumeFile{Path: "x", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['bad key']"}}, "invalid key subscript in metadata.labels['bad key']: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"},
		{corev1.DownwardAPIVolumeFile{Path: "x", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "ghost", Resource: "limits.cpu"}}, "container ghost not found"},
		{corev1.DownwardAPIVolumeFile{Path: "x", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.gpu"}}, "unsupported container resource : limits.gpu"},
	} {
		_, err := downwardAPIPayload([]corev1.DownwardAPIVolumeFile{tc.item}, pod, 0o644, nil)
		if err == nil || err.Error() != tc.err {
			t.Errorf("%s: err = %v, want %q", tc.item.Path, err, tc.err)
		}
	}

	// Several failures are reported together, as the kubelet aggregates.
	_, err := downwardAPIPayload([]corev1.DownwardAPIVolumeFile{
		{Path: "a", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}},
		{Path: "b", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}},
		{Path: "c", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"}},
	}, pod, 0o644, nil)
	if err == nil || err.Error() != "[unsupported fieldPath: status.podIP, unsupported fieldPath: status.hostIP]" {
		t.Errorf("aggregate err = %v", err)
	}
}

func TestFormatMap(t *testing.T) {
	for _, tc := range []struct {
		in   map[string]string
		want string
	}{
		{nil, ""},
		{map[string]string{"b": "2", "a": "1"}, "a=\"1\"\nb=\"2\""},
		{map[string]string{"k": "tab\there \"q\" \\ é \x00"}, `k="tab\there \"q\" \\ é \x00"`},
	} {
		if got := formatMap(tc.in); got != tc.want {
			t.Errorf("formatMap(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestCeilDiv(t *testing.T) {
	for _, tc := range []struct {
		a, b int64
		want string
	}{
		{0, 1, "0"}, {1500, 1000, "2"}, {2000, 1000, "2"}, {1, 1 << 20, "1"},
		{1<<62 + 1, 1, "4611686018427387905"},
	} {
		if got, err := ceilDiv(tc.a, tc.b); err != nil || got != tc.want {
			t.Errorf("ceilDiv(%d, %d) = %q, %v; want %q", tc.a, tc.b, got, err, tc.want)
		}
	}
	if _, err := ceilDiv(1, 0); err == nil {
		t.Error("ceilDiv by zero succeeded")
	}
}
