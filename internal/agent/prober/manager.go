// Package prober runs the containers' liveness, readiness and startup
// probes the way the kubelet's prober manager does, and caches their
// results for the pod worker.
//
// The pod worker drives it:
//
//   - AddPod on every sync (idempotent; a deletion timestamp stops the
//     liveness and startup probes, as the kubelet does for terminating
//     pods), SetPodIP once the pod has its IP, RemovePod when the pod is done.
//   - SetContainer for each container on every sync, with the current
//     runtime attempt. A new container ID stops the probe workers of the
//     previous attempt and starts fresh ones: readiness starts as failure,
//     liveness as success, startup as unknown.
//   - Startup and Readiness answer ContainerRecord.Started/Ready for a
//     running container; ProbeFailure says whether it failed its liveness
//     or startup probe and must be killed (KillMessage gives the event text).
//   - Updates fires whenever probing changes a result.
//
// One goroutine runs per (pod, container attempt, probe type). It waits
// initialDelaySeconds after the container started, then probes every
// periodSeconds, applying successThreshold and failureThreshold. Readiness
// and liveness probes do nothing until the startup probe has succeeded; a
// startup probe stops once it succeeded, and liveness and startup probes
// stop after a failure until the container is replaced.
//
// Pod IP: http, tcp and grpc probes without an explicit host go to the IP
// given by SetPodIP, or else to pod.Status.PodIP of the pod last passed to
// AddPod. The worker knows the IP before the API server does, so it should
// call SetPodIP.
package prober

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	basever "k8s.io/component-base/version"
	"k8s.io/utils/clock"

	"github.com/orca-pods/orca/internal/runtime"
	"github.com/orca-pods/orca/internal/version"
)

// Event reasons the kubelet uses for probes.
const (
	ReasonUnhealthy    = "Unhealthy"
	ReasonProbeWarning = "ProbeWarning"
	// ReasonKilling is for the pod worker's event when it kills a container
	// that failed its liveness or startup probe (see KillMessage).
	ReasonKilling = "Killing"
)

// Config wires a Manager.
type Config struct {
	// Runtime runs exec probes.
	Runtime runtime.Runtime
	// Recorder records an event about the pod; fieldPath names the
	// container (spec.containers{name} or spec.initContainers{name}), as
	// the kubelet's probe events do. It may be nil.
	Recorder func(pod *corev1.Pod, fieldPath, eventType, reason, message string)
	Logger   *slog.Logger
	// Clock times initial delays and periods; tests pass a fake one.
	Clock clock.Clock
	// KubeVersion (e.g. v1.37.2) makes the User-Agent kube-probe/1.37;
	// empty means the version orca was built as.
	KubeVersion string
}

// Manager runs probe workers and caches their results.
type Manager struct {
	cfg       Config
	log       *slog.Logger
	clock     clock.Clock
	userAgent string
	transport *http.Transport
	ctx       context.Context
	cancel    context.CancelFunc
	updates   *updateQueue
	wg        sync.WaitGroup
	// workers counts running probe goroutines (for tests).
	workers atomic.Int64

	mu      sync.Mutex
	pods    map[types.UID]*podProbes
	stopped bool
}

// podProbes is the probing state of one pod.
type podProbes struct {
	pod   *corev1.Pod
	podIP string
	// livenessStopped: the pod is terminating, so liveness and startup
	// probes no longer run nor count (StopLivenessAndStartup).
	livenessStopped bool
	// containers holds only containers that declare a probe.
	containers map[string]*containerProbes
}

// containerProbes is the probing state of one container: the attempt the
// pod worker last reported and the results for it.
type containerProbes struct {
	spec    corev1.Container
	sidecar bool
	id      string
	running bool
	// results are for id; has says which are set.
	results [numProbeTypes]Result
	has     [numProbeTypes]bool
	workers [numProbeTypes]*worker
}

func (c *containerProbes) probe(t ProbeType) *corev1.Probe {
	switch t {
	case LivenessProbe:
		return c.spec.LivenessProbe
	case ReadinessProbe:
		return c.spec.ReadinessProbe
	case StartupProbe:
		return c.spec.StartupProbe
	}
	return nil
}

func (c *containerProbes) fieldPath() string {
	if c.sidecar {
		return "spec.initContainers{" + c.spec.Name + "}"
	}
	return "spec.containers{" + c.spec.Name + "}"
}

// New returns a manager; Stop it when done.
func New(cfg Config) *Manager {
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	m := &Manager{
		cfg:       cfg,
		log:       log.With("component", "prober"),
		clock:     cfg.Clock,
		userAgent: userAgent(cfg.KubeVersion),
		transport: &http.Transport{
			// Probes go straight to the pod: no proxy from the
			// environment, no connection reuse, no transparent gzip (which
			// would add Accept-Encoding). Certificates are not verified,
			// as the kubelet does not verify them either.
			Proxy:               nil,
			DisableKeepAlives:   true,
			DisableCompression:  true,
			TLSClientConfig:     &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // kubelet semantics
			DialContext:         probeDialer().DialContext,
			TLSHandshakeTimeout: 10 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		updates: newUpdateQueue(),
		pods:    map[types.UID]*podProbes{},
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	m.wg.Go(func() { m.updates.run(m.ctx) })
	return m
}

// userAgent is kube-probe/<major>.<minor> of the Kubernetes version.
func userAgent(v string) string {
	if v == "" {
		v = version.Kubernetes()
	}
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) >= 2 && isDigits(parts[0]) && isDigits(parts[1]) {
		return fmt.Sprintf("kube-probe/%s.%s", parts[0], parts[1])
	}
	info := basever.Get()
	return fmt.Sprintf("kube-probe/%s.%s", info.Major, info.Minor)
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// Stop ends all probe workers and waits for them.
func (m *Manager) Stop() {
	m.mu.Lock()
	m.stopped = true
	for _, ps := range m.pods {
		for _, c := range ps.containers {
			stopWorkers(c, LivenessProbe, ReadinessProbe, StartupProbe)
		}
	}
	m.pods = map[types.UID]*podProbes{}
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	m.transport.CloseIdleConnections()
}

// Updates delivers a notice each time probing changes a result (not when
// SetContainer resets them: the caller is syncing then anyway). Nothing
// blocks on the reader.
func (m *Manager) Updates() <-chan Update { return m.updates.out }

// AddPod starts tracking a pod's probes. It is idempotent: call it on every
// sync with the latest pod, whose deletion timestamp and status.podIP are
// used; the manager keeps the pointer, so the pod must not be modified
// afterwards. Regular containers and sidecars (restartable init
// containers) can have probes; other init containers and ephemeral
// containers cannot. Probes are read once: the API does not allow
// changing them.
func (m *Manager) AddPod(pod *corev1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	ps := m.pods[pod.UID]
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		if isSidecar(c) {
			ps = m.track(ps, pod, c, true)
		}
	}
	for i := range pod.Spec.Containers {
		ps = m.track(ps, pod, &pod.Spec.Containers[i], false)
	}
	if ps == nil {
		return // nothing to probe: every query answers as if probes passed
	}
	ps.pod = pod
	if pod.DeletionTimestamp != nil {
		stopLivenessAndStartup(ps)
	}
}

// track adds a container with probes to the pod's state, creating it.
func (m *Manager) track(ps *podProbes, pod *corev1.Pod, c *corev1.Container, sidecar bool) *podProbes {
	if c.LivenessProbe == nil && c.ReadinessProbe == nil && c.StartupProbe == nil {
		return ps
	}
	if ps == nil {
		ps = &podProbes{pod: pod, containers: map[string]*containerProbes{}}
		m.pods[pod.UID] = ps
	}
	if _, ok := ps.containers[c.Name]; !ok {
		ps.containers[c.Name] = &containerProbes{spec: *c, sidecar: sidecar}
	}
	return ps
}

func isSidecar(c *corev1.Container) bool {
	return c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// RemovePod stops the pod's probe workers and forgets its results.
func (m *Manager) RemovePod(pod *corev1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[pod.UID]
	if ps == nil {
		return
	}
	for _, c := range ps.containers {
		stopWorkers(c, LivenessProbe, ReadinessProbe, StartupProbe)
	}
	delete(m.pods, pod.UID)
}

// StopLivenessAndStartup stops the liveness and startup probes of a
// terminating pod, so that no probe kills a container being shut down;
// readiness keeps running until the containers stop. Afterwards every
// container counts as started and none as failing.
func (m *Manager) StopLivenessAndStartup(pod *corev1.Pod) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ps := m.pods[pod.UID]; ps != nil {
		stopLivenessAndStartup(ps)
	}
}

func stopLivenessAndStartup(ps *podProbes) {
	if ps.livenessStopped {
		return
	}
	ps.livenessStopped = true
	for _, c := range ps.containers {
		stopWorkers(c, LivenessProbe, StartupProbe)
		c.has[LivenessProbe], c.has[StartupProbe] = false, false
	}
}

// SetPodIP sets the address http, tcp and grpc probes go to when they name
// no host (for host-network pods, the node's IP).
func (m *Manager) SetPodIP(podUID types.UID, ip string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if ps := m.pods[podUID]; ps != nil {
		ps.podIP = ip
	}
}

// SetContainer tells the manager about a container's current attempt:
// its runtime ID, when it started and whether it runs. Call it for every
// container on every sync (it is idempotent). A different ID, or the
// container no longer running, ends the probing of the previous attempt
// and drops its results; a new running attempt starts with initial results
// and fresh workers, whose initial delay counts from startedAt.
func (m *Manager) SetContainer(podUID types.UID, name, containerID string, startedAt time.Time, running bool) {
	if containerID == "" {
		running = false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.stopped {
		return
	}
	ps := m.pods[podUID]
	if ps == nil {
		return
	}
	c := ps.containers[name]
	if c == nil || (c.id == containerID && c.running == running) {
		return
	}
	stopWorkers(c, LivenessProbe, ReadinessProbe, StartupProbe)
	c.id, c.running = containerID, running
	c.has = [numProbeTypes]bool{}
	if !running {
		return
	}
	if startedAt.IsZero() {
		startedAt = m.clock.Now()
	}
	for t := range numProbeTypes {
		p := c.probe(t)
		if p == nil || (ps.livenessStopped && t != ReadinessProbe) {
			continue
		}
		c.results[t], c.has[t] = initialResult(t), true
		c.workers[t] = m.startWorker(ps.pod.UID, c, t, p, startedAt)
	}
}

func stopWorkers(c *containerProbes, which ...ProbeType) {
	for _, t := range which {
		if w := c.workers[t]; w != nil {
			w.cancel()
			c.workers[t] = nil
		}
	}
}

// Startup reports whether a running container has started: true if it has
// no startup probe, else whether that probe succeeded for this attempt.
func (m *Manager) Startup(podUID types.UID, name, containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[podUID]
	if ps == nil {
		return true
	}
	return started(ps, ps.containers[name], containerID)
}

func started(ps *podProbes, c *containerProbes, id string) bool {
	if c == nil || c.spec.StartupProbe == nil || ps.livenessStopped {
		return true
	}
	return c.id == id && c.has[StartupProbe] && c.results[StartupProbe] == Success
}

// Readiness reports whether a running container is ready: it must have
// started, and then be without a readiness probe or have passed it for
// this attempt.
func (m *Manager) Readiness(podUID types.UID, name, containerID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[podUID]
	if ps == nil {
		return true
	}
	c := ps.containers[name]
	if !started(ps, c, containerID) {
		return false
	}
	if c == nil || c.spec.ReadinessProbe == nil {
		return true
	}
	return c.id == containerID && c.has[ReadinessProbe] && c.results[ReadinessProbe] == Success
}

// ProbeFailure reports whether the container attempt failed its liveness
// or startup probe, in which case the pod worker must kill it (and restart
// it as the restart policy says).
func (m *Manager) ProbeFailure(podUID types.UID, name, containerID string) (ProbeType, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[podUID]
	if ps == nil {
		return 0, false
	}
	c := ps.containers[name]
	if c == nil || c.id != containerID {
		return 0, false
	}
	for _, t := range []ProbeType{LivenessProbe, StartupProbe} {
		if c.has[t] && c.results[t] == Failure {
			return t, true
		}
	}
	return 0, false
}

// KillMessage is the message of the Normal "Killing" event the kubelet
// records when it kills a container for a failed liveness or startup
// probe: "Container app failed liveness probe, will be restarted" (without
// the suffix under restartPolicy Never), or "Init container proxy failed
// startup probe" for a sidecar.
func KillMessage(pod *corev1.Pod, containerName string, t ProbeType) string {
	kind := "liveness"
	if t == StartupProbe {
		kind = "startup"
	}
	for i := range pod.Spec.InitContainers {
		if c := &pod.Spec.InitContainers[i]; c.Name == containerName && isSidecar(c) {
			return fmt.Sprintf("Init container %s failed %s probe", containerName, kind)
		}
	}
	msg := fmt.Sprintf("Container %s failed %s probe", containerName, kind)
	if pod.Spec.RestartPolicy != corev1.RestartPolicyNever {
		msg += ", will be restarted"
	}
	return msg
}

// KillGracePeriod is how long the container killed for a failed liveness
// or startup probe gets to stop: the deletion grace period of a deleted
// pod, else the probe's own terminationGracePeriodSeconds, else the pod's
// (30 s, the API default, when unset).
func KillGracePeriod(pod *corev1.Pod, containerName string, t ProbeType) time.Duration {
	if pod.DeletionGracePeriodSeconds != nil {
		return time.Duration(*pod.DeletionGracePeriodSeconds) * time.Second
	}
	if c := findContainer(pod, containerName); c != nil {
		var p *corev1.Probe
		switch t {
		case LivenessProbe:
			p = c.LivenessProbe
		case StartupProbe:
			p = c.StartupProbe
		}
		if p != nil && p.TerminationGracePeriodSeconds != nil {
			return time.Duration(*p.TerminationGracePeriodSeconds) * time.Second
		}
	}
	if pod.Spec.TerminationGracePeriodSeconds != nil {
		return time.Duration(*pod.Spec.TerminationGracePeriodSeconds) * time.Second
	}
	return 30 * time.Second
}

func findContainer(pod *corev1.Pod, name string) *corev1.Container {
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i]
		}
	}
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i]
		}
	}
	return nil
}

// target is what a worker needs to run one probe, read under the lock.
type target struct {
	pod     *corev1.Pod
	podIP   string
	started bool
}

// current returns the worker's target, or false if the worker is stale
// (its container attempt was replaced, or the pod removed or finished).
func (m *Manager) current(w *worker) (target, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ps := m.pods[w.podUID]
	if ps == nil {
		return target{}, false
	}
	c := ps.containers[w.container.Name]
	if c == nil || c.workers[w.probeType] != w {
		return target{}, false
	}
	if ph := ps.pod.Status.Phase; ph == corev1.PodSucceeded || ph == corev1.PodFailed {
		return target{}, false
	}
	ip := ps.podIP
	if ip == "" {
		ip = ps.pod.Status.PodIP
	}
	return target{pod: ps.pod, podIP: ip, started: started(ps, c, w.containerID)}, true
}

// setResult stores a worker's decision and announces a change.
func (m *Manager) setResult(w *worker, r Result) {
	m.mu.Lock()
	ps := m.pods[w.podUID]
	var c *containerProbes
	if ps != nil {
		c = ps.containers[w.container.Name]
	}
	if c == nil || c.workers[w.probeType] != w {
		m.mu.Unlock()
		return
	}
	changed := !c.has[w.probeType] || c.results[w.probeType] != r
	c.results[w.probeType], c.has[w.probeType] = r, true
	m.mu.Unlock()
	if !changed {
		return
	}
	w.log.Info("probe result changed", "result", r.String())
	m.updates.push(Update{PodUID: w.podUID, ContainerName: w.container.Name, ContainerID: w.containerID, Probe: w.probeType, Result: r})
}

func (m *Manager) event(pod *corev1.Pod, fieldPath, eventType, reason, message string) {
	if m.cfg.Recorder != nil {
		m.cfg.Recorder(pod, fieldPath, eventType, reason, message)
	}
}
