package pods

import (
	"context"
	"errors"
	"fmt"
	"io"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/runtime"
)

// What the agent endpoint needs for kubectl exec, attach and port-forward:
// the running container or the sandbox of a pod this node runs. Lookups read
// the runtime's container list rather than a worker's state, so they are
// safe to make from HTTP handlers while the worker syncs.

// ErrPodNotFound: the pod has no worker on this node (the kubelet answers
// 404 "pod does not exist").
var ErrPodNotFound = errors.New("pod does not exist")

// ErrContainerNotFound is the kubelet's error when a container has no
// running attempt; kubectl shows it as
// `unable to upgrade connection: container not found ("app")`.
type ErrContainerNotFound struct{ Container string }

func (e *ErrContainerNotFound) Error() string {
	return fmt.Sprintf("container not found (%q)", e.Container)
}

// PortForwarder is implemented by runtimes that can connect to a port
// inside a sandbox's network namespace (runtime/linux does).
type PortForwarder interface {
	PortForward(ctx context.Context, sandboxID string, port int32, stream io.ReadWriteCloser) error
}

// StreamTarget is a pod's running container as exec and attach reach it.
type StreamTarget struct {
	ID      string
	LogPath string
	// TTY and Stdin are the container spec's settings.
	TTY, Stdin bool
	// Running reports whether this attempt still runs.
	Running func() bool
	// Attach connects to the container's own stdio; nil when the runtime
	// cannot, and attach then follows the log.
	Attach func(ctx context.Context, req runtime.AttachRequest) error
}

// ContainerID returns the runtime ID of the running attempt of a pod's
// container.
func (m *Manager) ContainerID(ctx context.Context, namespace, name, container string) (string, error) {
	t, err := m.StreamTarget(ctx, namespace, name, container)
	if err != nil {
		return "", err
	}
	return t.ID, nil
}

// StreamTarget finds the running attempt of a pod's container (app, init
// or ephemeral).
func (m *Manager) StreamTarget(ctx context.Context, namespace, name, container string) (*StreamTarget, error) {
	pod := m.findPod(namespace, name)
	if pod == nil {
		return nil, ErrPodNotFound
	}
	list, err := m.cfg.Runtime.ListContainers(ctx)
	if err != nil {
		return nil, err
	}
	var cur *runtime.ContainerStatus
	for _, c := range list {
		if c.Labels[containers.LabelPodUID] != string(pod.UID) || c.Labels[containers.LabelContainer] != container {
			continue
		}
		if cur == nil || c.Attempt > cur.Attempt {
			cur = c
		}
	}
	if cur == nil || cur.State != runtime.StateRunning {
		return nil, &ErrContainerNotFound{Container: container}
	}
	t := &StreamTarget{ID: cur.ID, LogPath: cur.LogPath}
	if spec := specOf(pod, container); spec != nil {
		t.TTY, t.Stdin = spec.TTY, spec.Stdin
	}
	id := cur.ID
	t.Running = func() bool {
		st, err := m.cfg.Runtime.ContainerStatus(context.Background(), id)
		return err == nil && st.State == runtime.StateRunning
	}
	if a, ok := m.cfg.Runtime.(runtime.Attacher); ok {
		t.Attach = func(ctx context.Context, req runtime.AttachRequest) error { return a.Attach(ctx, id, req) }
	}
	return t, nil
}

// Exec runs a command in a container StreamTarget found.
func (m *Manager) Exec(ctx context.Context, containerID string, req runtime.ExecRequest) (int, error) {
	return m.cfg.Runtime.Exec(ctx, containerID, req)
}

// PortForward copies stream to and from a TCP connection to port on the
// pod's loopback address, opened inside the pod's network namespace.
func (m *Manager) PortForward(ctx context.Context, namespace, name string, port int32, stream io.ReadWriteCloser) error {
	pf, ok := m.cfg.Runtime.(PortForwarder)
	if !ok {
		return errors.New("port forwarding is not supported by this container runtime")
	}
	pod := m.findPod(namespace, name)
	if pod == nil {
		return ErrPodNotFound
	}
	sandboxes, err := m.cfg.Runtime.ListSandboxes(ctx)
	if err != nil {
		return err
	}
	for _, sb := range sandboxes {
		if sb.PodUID == string(pod.UID) {
			return pf.PortForward(ctx, sb.ID, port, stream)
		}
	}
	return fmt.Errorf("pod %s/%s has no sandbox on this node", namespace, name)
}

// PodUID returns the UID of a pod this node runs.
func (m *Manager) PodUID(namespace, name string) (string, bool) {
	if p := m.findPod(namespace, name); p != nil {
		return string(p.UID), true
	}
	return "", false
}

func (m *Manager) findPod(namespace, name string) *corev1.Pod {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		if p, _ := w.latest(); p.Namespace == namespace && p.Name == name {
			return p
		}
	}
	return nil
}

func specOf(pod *corev1.Pod, name string) *corev1.Container {
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
	for i := range pod.Spec.EphemeralContainers {
		if pod.Spec.EphemeralContainers[i].Name == name {
			c := corev1.Container(pod.Spec.EphemeralContainers[i].EphemeralContainerCommon)
			return &c
		}
	}
	return nil
}
