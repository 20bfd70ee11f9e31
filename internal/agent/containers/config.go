// Package containers turns a pod's container spec plus its image config into
// the runtime's fully resolved ContainerConfig, with Kubernetes' rules for
// command and args, environment and $(VAR) expansion, users, cgroup values
// and log paths.
package containers

import (
	"fmt"
	"path/filepath"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	resourcehelper "k8s.io/component-helpers/resource"

	"github.com/orca-pods/orca/internal/apis/qos"
	"github.com/orca-pods/orca/internal/runtime"
)

// Image is what the builder needs from an image.
type Image struct {
	Ref                  string
	Layers               []string
	Entrypoint, Cmd, Env []string
	WorkingDir, User     string
	StopSignal           string
}

// Input is everything that decides one container's configuration.
type Input struct {
	Pod       *corev1.Pod
	Container *corev1.Container
	Image     Image
	Attempt   int
	// Env is the container's resolved environment from the pod spec (env and
	// envFrom), in order; values may still hold $(VAR) references.
	Env []corev1.EnvVar
	// Mounts are the container's volume mounts resolved to host paths.
	Mounts []runtime.Mount
	User   runtime.User
	// LogDir is /var/log/pods (or a test's stand-in).
	LogDir string
	// MemoryCapacity is the node's memory, for Burstable oom_score_adj.
	MemoryCapacity int64
	// Security is the resolved security context.
	Security runtime.Security
}

// Build resolves in into the runtime's container configuration.
func Build(in Input) runtime.ContainerConfig {
	env := mergeEnv(in.Image.Env, in.Env)
	lookup := func(name string) (string, bool) {
		for i := len(env) - 1; i >= 0; i-- {
			if env[i].Name == name {
				return env[i].Value, true
			}
		}
		return "", false
	}
	c := in.Container
	wd := c.WorkingDir
	if wd == "" {
		wd = in.Image.WorkingDir
	}
	if wd == "" {
		wd = "/"
	}
	return runtime.ContainerConfig{
		Name:         c.Name,
		Attempt:      in.Attempt,
		Labels:       Labels(in.Pod, c.Name),
		ImageRef:     in.Image.Ref,
		RootfsLayers: in.Image.Layers,
		Args:         Command(c, in.Image, lookup),
		Env:          envList(env),
		WorkingDir:   wd,
		User:         in.User,
		Mounts:       in.Mounts,
		Resources:    Resources(in.Pod, c, in.MemoryCapacity),
		Security:     in.Security,
		LogPath:      LogPath(in.LogDir, in.Pod, c.Name, in.Attempt),
		TTY:          c.TTY,
		Stdin:        c.Stdin,
		StdinOnce:    c.StdinOnce,
		StopSignal:   in.Image.StopSignal,
	}
}

// Command is the argv Kubernetes runs: command replaces the image's
// ENTRYPOINT and drops its CMD; args alone replace only CMD.
func Command(c *corev1.Container, img Image, lookup func(string) (string, bool)) []string {
	var argv []string
	switch {
	case len(c.Command) > 0:
		argv = append(expandAll(c.Command, lookup), expandAll(c.Args, lookup)...)
	case len(c.Args) > 0:
		argv = append(append([]string{}, img.Entrypoint...), expandAll(c.Args, lookup)...)
	default:
		argv = append(append([]string{}, img.Entrypoint...), img.Cmd...)
	}
	return argv
}

func expandAll(in []string, lookup func(string) (string, bool)) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = expand(s, lookup)
	}
	return out
}

// mergeEnv lays the pod's variables over the image's; each pod value is
// expanded against the variables defined before it, as the kubelet does.
func mergeEnv(image []string, pod []corev1.EnvVar) []corev1.EnvVar {
	var out []corev1.EnvVar
	set := func(name, value string) {
		for i := range out {
			if out[i].Name == name {
				out[i].Value = value
				return
			}
		}
		out = append(out, corev1.EnvVar{Name: name, Value: value})
	}
	for _, kv := range image {
		name, value, _ := cutEnv(kv)
		set(name, value)
	}
	podVars := map[string]string{}
	for _, e := range pod {
		v := expand(e.Value, func(name string) (string, bool) { val, ok := podVars[name]; return val, ok })
		podVars[e.Name] = v
		set(e.Name, v)
	}
	return out
}

func cutEnv(kv string) (string, string, bool) {
	for i := 0; i < len(kv); i++ {
		if kv[i] == '=' {
			return kv[:i], kv[i+1:], true
		}
	}
	return kv, "", false
}

func envList(env []corev1.EnvVar) []string {
	out := make([]string, len(env))
	for i, e := range env {
		out[i] = e.Name + "=" + e.Value
	}
	return out
}

// Labels let a restarted agent map a runtime container back to its pod.
func Labels(pod *corev1.Pod, container string) map[string]string {
	return map[string]string{
		LabelPodUID:       string(pod.UID),
		LabelPodName:      pod.Name,
		LabelPodNamespace: pod.Namespace,
		LabelContainer:    container,
	}
}

// Label keys, the same the kubelet puts on CRI containers.
const (
	LabelPodUID       = "io.kubernetes.pod.uid"
	LabelPodName      = "io.kubernetes.pod.name"
	LabelPodNamespace = "io.kubernetes.pod.namespace"
	LabelContainer    = "io.kubernetes.container.name"
)

// PodLogDir is /var/log/pods/<namespace>_<name>_<uid>, as the kubelet lays it out.
func PodLogDir(root string, pod *corev1.Pod) string {
	return filepath.Join(root, fmt.Sprintf("%s_%s_%s", pod.Namespace, pod.Name, pod.UID))
}

// LogPath is <pod log dir>/<container>/<restart count>.log.
func LogPath(root string, pod *corev1.Pod, container string, attempt int) string {
	return filepath.Join(PodLogDir(root, pod), container, strconv.Itoa(attempt)+".log")
}

// Resources converts requests and limits into cgroup values as the kubelet
// does: shares from the CPU request, CFS quota from the CPU limit, the
// memory limit, and an oom_score_adj by QoS class.
func Resources(pod *corev1.Pod, c *corev1.Container, memoryCapacity int64) runtime.Resources {
	const period = 100000
	r := runtime.Resources{CPUPeriod: period}
	cpuRequest := c.Resources.Requests.Cpu().MilliValue()
	if cpuRequest == 0 && c.Resources.Limits.Cpu().MilliValue() > 0 {
		cpuRequest = c.Resources.Limits.Cpu().MilliValue()
	}
	r.CPUShares = milliCPUToShares(cpuRequest)
	if lim := c.Resources.Limits.Cpu().MilliValue(); lim > 0 {
		r.CPUQuota = max(lim*period/1000, 1000)
	}
	r.MemoryLimitBytes = c.Resources.Limits.Memory().Value()
	r.OOMScoreAdj = oomScoreAdj(pod, c, memoryCapacity)
	return r
}

func milliCPUToShares(milli int64) uint64 {
	const minShares, maxShares = 2, 262144
	shares := milli * 1024 / 1000
	return uint64(min(max(shares, minShares), maxShares))
}

// oomScoreAdj follows the kubelet's QoS policy: Guaranteed pods are the last
// the kernel kills, BestEffort the first, Burstable in between by request.
func oomScoreAdj(pod *corev1.Pod, c *corev1.Container, memoryCapacity int64) int {
	const guaranteed, bestEffort = -997, 1000
	if pod.Spec.Priority != nil && *pod.Spec.Priority >= 2000000000 {
		return guaranteed // system-node-critical and system-cluster-critical
	}
	switch qos.PodQOSClass(pod) {
	case corev1.PodQOSGuaranteed:
		return guaranteed
	case corev1.PodQOSBestEffort:
		return bestEffort
	}
	if memoryCapacity <= 0 {
		return bestEffort - 1
	}
	adj := 1000 - (1000*c.Resources.Requests.Memory().Value())/memoryCapacity
	if adj < 1000+guaranteed {
		return 1000 + guaranteed
	}
	if adj == bestEffort {
		return int(adj - 1)
	}
	return int(adj)
}

// PodResources sizes the pod cgroup as the kubelet does: CPU shares from
// the pod's total request, and a CFS quota and memory limit only when
// every container declares that limit (otherwise one container without a
// limit could use the node), BestEffort pods the minimum shares; pidsLimit
// is the node's per-pod cap (--pod-max-pids; 0 = none).
func PodResources(pod *corev1.Pod, pidsLimit int64) runtime.Resources {
	const period = 100000
	r := runtime.Resources{CPUPeriod: period, PidsLimit: pidsLimit}
	if qos.PodQOSClass(pod) == corev1.PodQOSBestEffort {
		r.CPUShares = milliCPUToShares(0)
		return r
	}
	requests := resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{})
	limits := resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{})
	r.CPUShares = milliCPUToShares(requests.Cpu().MilliValue())
	cpuDeclared, memDeclared := true, true
	for _, c := range pod.Spec.Containers {
		if c.Resources.Limits.Cpu().IsZero() {
			cpuDeclared = false
		}
		if c.Resources.Limits.Memory().IsZero() {
			memDeclared = false
		}
	}
	if cpuDeclared {
		r.CPUQuota = max(limits.Cpu().MilliValue()*period/1000, 1000)
	}
	if memDeclared {
		r.MemoryLimitBytes = limits.Memory().Value()
	}
	return r
}
