package eviction

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	resourcehelper "k8s.io/component-helpers/resource"
	corev1helpers "k8s.io/component-helpers/scheduling/corev1"
)

// Message formats, worded as the kubelet's so users and tools that match
// on them see the same text.
const (
	nodeLowMessageFmt                   = "The node was low on resource: %v. "
	thresholdMetMessageFmt              = "Threshold quantity: %v, available: %v. "
	nodeConditionMessageFmt             = "The node had condition: %v. "
	containerMessageFmt                 = "Container %s was using %s, request is %s, has larger consumption of %v. "
	containerEphemeralStorageMessageFmt = "Container %s exceeded its local ephemeral storage limit %q. "
	podEphemeralStorageMessageFmt       = "Pod ephemeral local storage usage exceeds the total limit of containers %s. "
	emptyDirMessageFmt                  = "Usage of EmptyDir volume %q exceeds the limit %q. "
)

// Annotations the kubelet sets on mirror pods and static pods.
const (
	mirrorPodAnnotation = "kubernetes.io/config.mirror"
	podSourceAnnotation = "kubernetes.io/config.source"
)

// signalCondition maps signals to the node condition they raise.
var signalCondition = map[Signal]corev1.NodeConditionType{
	SignalMemoryAvailable:   corev1.NodeMemoryPressure,
	SignalNodeFsAvailable:   corev1.NodeDiskPressure,
	SignalNodeFsInodesFree:  corev1.NodeDiskPressure,
	SignalImageFsAvailable:  corev1.NodeDiskPressure,
	SignalImageFsInodesFree: corev1.NodeDiskPressure,
	SignalPIDAvailable:      corev1.NodePIDPressure,
}

// Taints returns the NoSchedule taints matching the pressure conditions.
// In Kubernetes the node lifecycle controller derives them from the
// conditions (TaintNodesByCondition); an engine without that controller
// applies them itself.
func Taints(memory, disk, pid bool) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range []struct {
		on  bool
		key string
	}{{memory, corev1.TaintNodeMemoryPressure}, {disk, corev1.TaintNodeDiskPressure}, {pid, corev1.TaintNodePIDPressure}} {
		if t.on {
			out = append(out, corev1.Taint{Key: t.key, Effect: corev1.TaintEffectNoSchedule})
		}
	}
	return out
}

// NodeConditions returns the three pressure conditions with the kubelet's
// reasons and messages; the caller sets the timestamps.
func NodeConditions(memory, disk, pid bool) []corev1.NodeCondition {
	cond := func(t corev1.NodeConditionType, on bool, reason, msg, okReason, okMsg string) corev1.NodeCondition {
		if on {
			return corev1.NodeCondition{Type: t, Status: corev1.ConditionTrue, Reason: reason, Message: msg}
		}
		return corev1.NodeCondition{Type: t, Status: corev1.ConditionFalse, Reason: okReason, Message: okMsg}
	}
	return []corev1.NodeCondition{
		cond(corev1.NodeMemoryPressure, memory, ReasonMemoryPressure, MessageMemoryPressure, ReasonNoMemoryPressure, MessageNoMemoryPressure),
		cond(corev1.NodeDiskPressure, disk, ReasonDiskPressure, MessageDiskPressure, ReasonNoDiskPressure, MessageNoDiskPressure),
		cond(corev1.NodePIDPressure, pid, ReasonPIDPressure, MessagePIDPressure, ReasonNoPIDPressure, MessageNoPIDPressure),
	}
}

// IsCritical reports whether the kubelet would refuse to evict pod:
// static and mirror pods, which would not come back, and pods at or above
// system-critical priority.
func IsCritical(pod *corev1.Pod) bool {
	if _, ok := pod.Annotations[mirrorPodAnnotation]; ok {
		return true
	}
	if src, ok := pod.Annotations[podSourceAnnotation]; ok && src != "api" {
		return true
	}
	return pod.Spec.Priority != nil && *pod.Spec.Priority >= SystemCriticalPriority
}

// thresholdKey identifies a configured threshold; a signal has at most one
// hard and one soft threshold.
type thresholdKey struct {
	signal Signal
	soft   bool
}

func keyOf(t Threshold) thresholdKey { return thresholdKey{t.Signal, !t.hard()} }

// thresholdsMet returns the thresholds whose signal is below its value;
// with enforceMinReclaim the bar is raised by MinReclaim, so a threshold
// already met stays met until the minimum has been reclaimed.
func thresholdsMet(ts []Threshold, obs Observations, enforceMinReclaim bool) []Threshold {
	var out []Threshold
	for _, t := range ts {
		available, capacity, ok := obs.observed(t.Signal)
		if !ok {
			continue
		}
		q := t.Value.quantity(capacity)
		if q == nil {
			continue
		}
		if enforceMinReclaim && t.MinReclaim != nil {
			if r := t.MinReclaim.quantity(capacity); r != nil {
				q.Add(*r)
			}
		}
		if q.Cmp(*available) > 0 {
			out = append(out, t)
		}
	}
	return out
}

// mergeThresholds appends to a the thresholds of b it lacks.
func mergeThresholds(a, b []Threshold) []Threshold {
	for _, t := range b {
		if !slices.ContainsFunc(a, func(x Threshold) bool { return keyOf(x) == keyOf(t) }) {
			a = append(a, t)
		}
	}
	return a
}

// evictionOrder ranks signals for reclaim: memory first, as the kubelet
// does, since memory pressure turns into OOM kills fastest.
var evictionOrder = []Signal{
	SignalMemoryAvailable, SignalNodeFsAvailable, SignalNodeFsInodesFree,
	SignalImageFsAvailable, SignalImageFsInodesFree, SignalPIDAvailable,
}

func sortByEvictionPriority(ts []Threshold) {
	slices.SortStableFunc(ts, func(a, b Threshold) int {
		return cmp.Compare(slices.Index(evictionOrder, a.Signal), slices.Index(evictionOrder, b.Signal))
	})
}

// podRequest is the pod's effective request (sidecars, init containers and
// pod-level resources accounted for), without overhead.
func podRequest(pod *corev1.Pod, name corev1.ResourceName) resource.Quantity {
	if name != corev1.ResourceMemory && name != corev1.ResourceEphemeralStorage {
		return resource.Quantity{}
	}
	return resourcehelper.PodRequests(pod, resourcehelper.PodResourcesOptions{ExcludeOverhead: true})[name]
}

func (u *PodUsage) memory() resource.Quantity {
	if !u.Memory.IsZero() {
		return u.Memory.DeepCopy()
	}
	var sum resource.Quantity
	for _, c := range u.Containers {
		sum.Add(c.Memory)
	}
	return sum
}

// diskBackedEmptyDirs sums emptyDirs that use node disk; tmpfs ones count
// as memory.
func (u *PodUsage) diskBackedEmptyDirs() resource.Quantity {
	var sum resource.Quantity
	for _, v := range u.Pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.Medium == corev1.StorageMediumMemory {
			continue
		}
		if q, ok := u.EmptyDirs[v.Name]; ok {
			sum.Add(q)
		}
	}
	return sum
}

func (u *PodUsage) ephemeral() resource.Quantity {
	if !u.Ephemeral.IsZero() {
		return u.Ephemeral.DeepCopy()
	}
	sum := u.diskBackedEmptyDirs()
	for _, c := range u.Containers {
		sum.Add(c.Rootfs)
		sum.Add(c.Logs)
	}
	return sum
}

// diskUsage is the usage that counts against signal. With a dedicated
// imagefs, nodefs holds logs and volumes and imagefs the writable layers,
// as the kubelet splits them.
func (u *PodUsage) diskUsage(s Signal, dedicatedImageFs bool) resource.Quantity {
	switch {
	case s == SignalNodeFsInodesFree || s == SignalImageFsInodesFree:
		return u.Inodes.DeepCopy()
	case dedicatedImageFs && s == SignalNodeFsAvailable:
		sum := u.diskBackedEmptyDirs()
		for _, c := range u.Containers {
			sum.Add(c.Logs)
		}
		return sum
	case dedicatedImageFs && s == SignalImageFsAvailable:
		var sum resource.Quantity
		for _, c := range u.Containers {
			sum.Add(c.Rootfs)
		}
		return sum
	}
	return u.ephemeral()
}

// cmpFunc orders pods; negative means a is evicted before b.
type cmpFunc func(a, b *PodUsage) int

func orderedBy(fns ...cmpFunc) cmpFunc {
	return func(a, b *PodUsage) int {
		for _, f := range fns {
			if c := f(a, b); c != 0 {
				return c
			}
		}
		return 0
	}
}

// firstIf puts pods for which pred holds first.
func firstIf(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return -1
	}
	return 1
}

func byNoStats(a, b *PodUsage) int { return firstIf(a.NoStats, b.NoStats) }

// byPriority evicts lower-priority pods first.
func byPriority(a, b *PodUsage) int {
	return cmp.Compare(corev1helpers.PodPriority(a.Pod), corev1helpers.PodPriority(b.Pod))
}

// usageFunc measures a pod against a resource.
type usageFunc func(u *PodUsage) resource.Quantity

// exceedsRequests evicts pods using more than they requested first: they
// are the ones the scheduler did not account for. BestEffort pods request
// nothing, so any usage exceeds.
func exceedsRequests(name corev1.ResourceName, usage usageFunc) cmpFunc {
	return func(a, b *PodUsage) int {
		if c := byNoStats(a, b); c != 0 || a.NoStats {
			return c
		}
		ua, ub := usage(a), usage(b)
		ra, rb := podRequest(a.Pod, name), podRequest(b.Pod, name)
		return firstIf(ua.Cmp(ra) > 0, ub.Cmp(rb) > 0)
	}
}

// byUsageAboveRequests evicts the pod furthest above its request first.
func byUsageAboveRequests(name corev1.ResourceName, usage usageFunc) cmpFunc {
	return func(a, b *PodUsage) int {
		if c := byNoStats(a, b); c != 0 || a.NoStats {
			return c
		}
		ua, ub := usage(a), usage(b)
		ua.Sub(podRequest(a.Pod, name))
		ub.Sub(podRequest(b.Pod, name))
		return ub.Cmp(ua)
	}
}

// rankFunc returns the kubelet's ordering for signal.
func rankFunc(s Signal, dedicatedImageFs bool) cmpFunc {
	switch s {
	case SignalMemoryAvailable:
		mem := func(u *PodUsage) resource.Quantity { return u.memory() }
		return orderedBy(exceedsRequests(corev1.ResourceMemory, mem), byPriority, byUsageAboveRequests(corev1.ResourceMemory, mem))
	case SignalPIDAvailable:
		procs := func(u *PodUsage) resource.Quantity { return u.Processes.DeepCopy() }
		return orderedBy(byNoStats, byPriority, byUsageAboveRequests(resourcePids, procs))
	}
	name := signalResource[s]
	disk := func(u *PodUsage) resource.Quantity { return u.diskUsage(s, dedicatedImageFs) }
	return orderedBy(exceedsRequests(name, disk), byPriority, byUsageAboveRequests(name, disk))
}

// rankPods returns pods in eviction order for signal; ties keep input
// order.
func rankPods(pods []PodUsage, s Signal, dedicatedImageFs bool) []*PodUsage {
	out := make([]*PodUsage, len(pods))
	for i := range pods {
		out[i] = &pods[i]
	}
	slices.SortStableFunc(out, rankFunc(s, dedicatedImageFs))
	return out
}

// pressureEviction builds the status for evicting u to relieve t.
func pressureEviction(u *PodUsage, t Threshold, obs Observations, maxGracePeriod int64) EvictionStatus {
	name := signalResource[t.Signal]
	msg := fmt.Sprintf(nodeLowMessageFmt, name)
	if available, capacity, ok := obs.observed(t.Signal); ok {
		if q := t.Value.quantity(capacity); q != nil {
			msg += fmt.Sprintf(thresholdMetMessageFmt, q, available)
		}
	}
	var offenders, usages []string
	if !u.NoStats {
		for _, c := range u.Pod.Spec.Containers {
			cu, ok := u.Containers[c.Name]
			if !ok {
				continue
			}
			var used resource.Quantity
			switch name {
			case corev1.ResourceMemory:
				used = cu.Memory
			case corev1.ResourceEphemeralStorage:
				used = cu.Rootfs.DeepCopy()
				used.Add(cu.Logs)
			default:
				continue
			}
			used = *resource.NewQuantity(used.Value(), resource.BinarySI)
			req := containerRequest(u.Pod, &c, name)
			if used.Cmp(req) > 0 {
				msg += fmt.Sprintf(containerMessageFmt, c.Name, used.String(), req.String(), name)
				offenders = append(offenders, c.Name)
				usages = append(usages, used.String())
			}
		}
	}
	grace := int64(1) // the kubelet's immediate eviction still allows 1s
	if !t.hard() {
		grace = podGracePeriod(u.Pod)
		if maxGracePeriod > 0 {
			grace = min(grace, maxGracePeriod)
		}
	}
	return EvictionStatus{
		Signal:             t.Signal,
		Resource:           name,
		Message:            msg,
		GracePeriodSeconds: grace,
		Condition: &corev1.PodCondition{
			Type:               corev1.DisruptionTarget,
			Status:             corev1.ConditionTrue,
			ObservedGeneration: u.Pod.Generation,
			Reason:             corev1.PodReasonTerminationByKubelet,
			Message:            msg,
		},
		Annotations: map[string]string{
			OffendingContainersKey:      strings.Join(offenders, ","),
			OffendingContainersUsageKey: strings.Join(usages, ","),
			StarvedResourceKey:          string(name),
		},
	}
}

// containerRequest prefers the allocated request in the container status,
// which is what a resized container actually has.
func containerRequest(pod *corev1.Pod, c *corev1.Container, name corev1.ResourceName) resource.Quantity {
	if name == corev1.ResourceMemory {
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == c.Name {
				if q, ok := cs.AllocatedResources[name]; ok {
					return q
				}
			}
		}
	}
	return c.Resources.Requests[name]
}

func podGracePeriod(pod *corev1.Pod) int64 {
	if p := pod.Spec.TerminationGracePeriodSeconds; p != nil {
		return *p
	}
	return corev1.DefaultTerminationGracePeriodSeconds
}

// localStorageViolation returns the eviction for a pod breaking an emptyDir
// sizeLimit or an ephemeral-storage limit, checked in the kubelet's order.
func localStorageViolation(u *PodUsage, dedicatedImageFs bool) (EvictionStatus, bool) {
	if u.NoStats {
		return EvictionStatus{}, false
	}
	pod := u.Pod
	limit := func(msg string) (EvictionStatus, bool) {
		return EvictionStatus{
			Resource:           corev1.ResourceEphemeralStorage,
			Message:            msg,
			GracePeriodSeconds: 1,
		}, true
	}
	for _, v := range pod.Spec.Volumes {
		if v.EmptyDir == nil || v.EmptyDir.SizeLimit == nil || v.EmptyDir.SizeLimit.Sign() <= 0 {
			continue
		}
		if used, ok := u.EmptyDirs[v.Name]; ok && used.Cmp(*v.EmptyDir.SizeLimit) > 0 {
			return limit(fmt.Sprintf(emptyDirMessageFmt, v.Name, v.EmptyDir.SizeLimit.String()))
		}
	}
	if lim, ok := resourcehelper.PodLimits(pod, resourcehelper.PodResourcesOptions{})[corev1.ResourceEphemeralStorage]; ok {
		if used := u.ephemeral(); used.Cmp(lim) > 0 {
			return limit(fmt.Sprintf(podEphemeralStorageMessageFmt, lim.String()))
		}
	}
	for _, c := range pod.Spec.Containers {
		lim := c.Resources.Limits.StorageEphemeral()
		if lim.IsZero() {
			continue
		}
		cu, ok := u.Containers[c.Name]
		if !ok {
			continue
		}
		// With a dedicated imagefs the writable layer is not on nodefs,
		// so, as in the kubelet, only logs count.
		used := cu.Logs.DeepCopy()
		if !dedicatedImageFs {
			used.Add(cu.Rootfs)
		}
		if used.Cmp(*lim) > 0 {
			return limit(fmt.Sprintf(containerEphemeralStorageMessageFmt, c.Name, lim.String()))
		}
	}
	return EvictionStatus{}, false
}

// conditionsOf returns the node conditions raised by ts, in stable order.
func conditionsOf(ts []Threshold) []corev1.NodeConditionType {
	var out []corev1.NodeConditionType
	for _, t := range ts {
		if c, ok := signalCondition[t.Signal]; ok && !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	return out
}

// isBestEffort reports whether no container (nor the pod) requests or
// limits cpu or memory.
func isBestEffort(pod *corev1.Pod) bool {
	set := func(rs ...corev1.ResourceList) bool {
		for _, r := range rs {
			for _, n := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
				if q, ok := r[n]; ok && !q.IsZero() {
					return true
				}
			}
		}
		return false
	}
	if pod.Spec.Resources != nil && set(pod.Spec.Resources.Requests, pod.Spec.Resources.Limits) {
		return false
	}
	for _, cs := range [][]corev1.Container{pod.Spec.InitContainers, pod.Spec.Containers} {
		for _, c := range cs {
			if set(c.Resources.Requests, c.Resources.Limits) {
				return false
			}
		}
	}
	return true
}
