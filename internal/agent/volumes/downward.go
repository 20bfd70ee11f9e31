package volumes

import (
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/apimachinery/pkg/util/validation"
)

// downwardAPIPayload renders downwardAPI items as the kubelet's
// downwardapi.CollectData does; every failing item is reported, together.
func downwardAPIPayload(items []corev1.DownwardAPIVolumeFile, pod *corev1.Pod, defaultMode int32, allocatable corev1.ResourceList) (map[string]fileProjection, error) {
	out := make(map[string]fileProjection, len(items))
	var errs []error
	for _, item := range items {
		f := fileProjection{mode: modeOr(item.Mode, defaultMode)}
		switch {
		case item.FieldRef != nil:
			v, err := podFieldValue(pod, item.FieldRef.FieldPath)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.data = []byte(v)
		case item.ResourceFieldRef != nil:
			v, err := containerResourceValue(pod, item.ResourceFieldRef, allocatable)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			f.data = []byte(v)
		}
		out[filepath.Clean(item.Path)] = f
	}
	return out, utilerrors.NewAggregate(errs)
}

// podFieldValue answers a fieldRef the way a downwardAPI volume does
// (k8s.io/kubernetes/pkg/fieldpath.ExtractFieldPathAsString). Volumes only
// see metadata: spec.nodeName, status.podIP and the like are env-only
// (the API server rejects them in volumes; the kubelet reports them as
// unsupported), as volumes are set up before the pod has an IP.
func podFieldValue(pod *corev1.Pod, fieldPath string) (string, error) {
	if path, key, ok := splitSubscript(fieldPath); ok {
		switch path {
		case "metadata.annotations":
			if errs := validation.IsQualifiedName(strings.ToLower(key)); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Annotations[key], nil
		case "metadata.labels":
			if errs := validation.IsQualifiedName(key); len(errs) != 0 {
				return "", fmt.Errorf("invalid key subscript in %s: %s", fieldPath, strings.Join(errs, ";"))
			}
			return pod.Labels[key], nil
		default:
			return "", fmt.Errorf("fieldPath %q does not support subscript", fieldPath)
		}
	}
	switch fieldPath {
	case "metadata.annotations":
		return formatMap(pod.Annotations), nil
	case "metadata.labels":
		return formatMap(pod.Labels), nil
	case "metadata.name":
		return pod.Name, nil
	case "metadata.namespace":
		return pod.Namespace, nil
	case "metadata.uid":
		return string(pod.UID), nil
	}
	return "", fmt.Errorf("unsupported fieldPath: %v", fieldPath)
}

// splitSubscript splits "metadata.labels['key']" into its path and key.
func splitSubscript(fieldPath string) (string, string, bool) {
	s, ok := strings.CutSuffix(fieldPath, "']")
	if !ok {
		return fieldPath, "", false
	}
	path, key, ok := strings.Cut(s, "['")
	if !ok || path == "" {
		return fieldPath, "", false
	}
	return path, key, true
}

// formatMap renders labels or annotations as sorted key="value" lines,
// values quoted Go-style, with no trailing newline.
func formatMap(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(strconv.Quote(m[k]))
	}
	return b.String()
}

// containerResourceValue answers a resourceFieldRef as the kubelet's
// ExtractResourceValueByContainerNameAndNodeAllocatable: a container
// without a (non-zero) cpu, memory or ephemeral-storage limit reports the
// node's allocatable amount instead; the value is divided by the divisor
// (default 1) and rounded up.
func containerResourceValue(pod *corev1.Pod, ref *corev1.ResourceFieldSelector, allocatable corev1.ResourceList) (string, error) {
	c := findContainer(pod, ref.ContainerName)
	if c == nil {
		return "", fmt.Errorf("container %s not found", ref.ContainerName)
	}
	limits := corev1.ResourceList{}
	for name, q := range c.Resources.Limits {
		limits[name] = q
	}
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		if q, ok := limits[name]; !ok || q.IsZero() {
			if a, ok := allocatable[name]; ok {
				limits[name] = a.DeepCopy()
			}
		}
	}
	divisor := ref.Divisor
	if divisor.IsZero() {
		divisor = resource.MustParse("1")
	}
	unsupported := fmt.Errorf("unsupported container resource : %v", ref.Resource)
	kind, name, _ := strings.Cut(ref.Resource, ".")
	var list corev1.ResourceList
	switch kind {
	case "limits":
		list = limits
	case "requests":
		list = c.Resources.Requests
	default:
		return "", unsupported
	}
	rn := corev1.ResourceName(name)
	switch {
	case rn == corev1.ResourceCPU:
		return ceilDiv(list.Cpu().MilliValue(), divisor.MilliValue())
	case rn == corev1.ResourceMemory, rn == corev1.ResourceEphemeralStorage,
		strings.HasPrefix(name, corev1.ResourceHugePagesPrefix):
		return ceilDiv(list.Name(rn, resource.BinarySI).Value(), divisor.Value())
	}
	return "", unsupported
}

// findContainer looks in containers, then init containers, as the kubelet.
func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for _, cs := range [][]corev1.Container{pod.Spec.Containers, pod.Spec.InitContainers} {
		for i := range cs {
			if cs[i].Name == name {
				return &cs[i]
			}
		}
	}
	return nil
}

// ceilDiv divides rounding up, in integers: the kubelet's
// math.Ceil(float64(a)/float64(b)) without float rounding on large values.
func ceilDiv(a, b int64) (string, error) {
	if b <= 0 {
		return "", fmt.Errorf("invalid divisor %d", b)
	}
	q := a / b
	if a%b != 0 && a > 0 {
		q++
	}
	return strconv.FormatInt(q, 10), nil
}
