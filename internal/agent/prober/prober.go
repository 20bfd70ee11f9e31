package prober

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// outcome is one probe run's raw result, before thresholds. Its strings
// appear in "probe errored and resulted in unknown state" messages.
type outcome string

const (
	outSuccess outcome = "success"
	// outWarning: passed, with something worth an event (a redirect to
	// another host that was not followed).
	outWarning outcome = "warning"
	outFailure outcome = "failure"
	outUnknown outcome = "unknown"
)

// maxRetries is how often a probe that could not run is retried at once.
const maxRetries = 3

// maxOutput caps exec output and HTTP bodies, as the kubelet does.
const maxOutput = 10 << 10

// probe runs p once (with retries when it cannot run), records the
// kubelet's events and returns the raw result. An error means the probe
// could not run; its result must be ignored.
func (m *Manager) probe(ctx context.Context, t ProbeType, pod *corev1.Pod, podIP string, c *corev1.Container, fieldPath, containerID string, p *corev1.Probe) (Result, error) {
	var (
		out    outcome
		output string
		err    error
	)
	for range maxRetries {
		out, output, err = m.runProbe(ctx, p, pod, podIP, c, containerID)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	log := m.log.With("pod", formatPod(pod), "container", c.Name, "probe", t.String())
	if ctx.Err() != nil {
		return Unknown, ctx.Err()
	}
	if err != nil {
		log.Debug("probe errored", "err", err)
		m.event(pod, fieldPath, corev1.EventTypeWarning, ReasonUnhealthy, fmt.Sprintf("%s probe errored and resulted in %s state: %s", t, out, err))
		return Failure, err
	}
	switch out {
	case outSuccess:
		log.Debug("probe succeeded")
		return Success, nil
	case outWarning:
		m.event(pod, fieldPath, corev1.EventTypeWarning, ReasonProbeWarning, fmt.Sprintf("%s probe warning: %s", t, output))
		return Success, nil
	case outFailure:
		log.Debug("probe failed", "output", output)
		m.event(pod, fieldPath, corev1.EventTypeWarning, ReasonUnhealthy, fmt.Sprintf("%s probe failed: %s", t, output))
		return Failure, nil
	default:
		log.Debug("probe result unknown")
		return Failure, nil
	}
}

// runProbe dispatches to the probe's handler.
func (m *Manager) runProbe(ctx context.Context, p *corev1.Probe, pod *corev1.Pod, podIP string, c *corev1.Container, containerID string) (outcome, string, error) {
	timeout := seconds(p.TimeoutSeconds, defaultTimeout)
	switch {
	case p.Exec != nil:
		return m.execProbe(ctx, containerID, expandCommand(p.Exec.Command, c.Env), timeout)
	case p.HTTPGet != nil:
		req, err := m.httpRequest(ctx, p.HTTPGet, c, podIP)
		if err != nil {
			return outUnknown, "", err
		}
		return m.httpProbe(req, timeout)
	case p.TCPSocket != nil:
		port, err := resolvePort(p.TCPSocket.Port, c)
		if err != nil {
			return outUnknown, "", err
		}
		host := p.TCPSocket.Host
		if host == "" {
			host = podIP
		}
		if host == "" {
			return outUnknown, "", errNoPodIP
		}
		return tcpProbe(ctx, host, port, timeout)
	case p.GRPC != nil:
		if podIP == "" {
			return outUnknown, "", errNoPodIP
		}
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		return m.grpcProbe(ctx, podIP, service, int(p.GRPC.Port), timeout)
	}
	return outUnknown, "", fmt.Errorf("missing probe handler for %s:%s", formatPod(pod), c.Name)
}

// errNoPodIP: without an IP a network probe would reach the node itself.
var errNoPodIP = errors.New("pod has no IP address yet")

// resolvePort turns a probe's port, a number or the name of one of the
// container's ports, into a number. A name that matches no port is tried
// as a number, which yields the kubelet's well-known strconv error.
func resolvePort(p intstr.IntOrString, c *corev1.Container) (int, error) {
	var port int
	switch p.Type {
	case intstr.Int:
		port = p.IntValue()
	case intstr.String:
		found := false
		for _, cp := range c.Ports {
			if cp.Name == p.StrVal {
				port, found = int(cp.ContainerPort), true
				break
			}
		}
		if !found {
			n, err := strconv.Atoi(p.StrVal)
			if err != nil {
				return -1, err
			}
			port = n
		}
	default:
		return -1, fmt.Errorf("intOrString had no kind: %+v", p)
	}
	if port <= 0 || port >= 65536 {
		return port, fmt.Errorf("invalid port number: %v", port)
	}
	return port, nil
}

// formatPod is the kubelet's name_namespace(uid) form.
func formatPod(pod *corev1.Pod) string {
	return fmt.Sprintf("%s_%s(%s)", pod.Name, pod.Namespace, pod.UID)
}
