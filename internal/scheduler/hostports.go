package scheduler

import v1 "k8s.io/api/core/v1"

// getHostPorts returns the host ports of the regular containers and of the
// restartable (sidecar) init containers, which run for the pod's lifetime
// (upstream schedutil.GetHostPorts).
func getHostPorts(pod *v1.Pod) []v1.ContainerPort {
	var ports []v1.ContainerPort
	for _, c := range pod.Spec.InitContainers {
		if c.RestartPolicy == nil || *c.RestartPolicy != v1.ContainerRestartPolicyAlways {
			continue
		}
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				ports = append(ports, p)
			}
		}
	}
	for _, c := range pod.Spec.Containers {
		for _, p := range c.Ports {
			if p.HostPort > 0 {
				ports = append(ports, p)
			}
		}
	}
	return ports
}

const defaultBindAllHostIP = "0.0.0.0"

type protocolPort struct {
	protocol string
	port     int32
}

// HostPortInfo records host ports in use on a node: IP -> (protocol, port).
type HostPortInfo map[string]map[protocolPort]struct{}

func sanitizeHostPort(ip, protocol string) (string, string) {
	if ip == "" {
		ip = defaultBindAllHostIP
	}
	if protocol == "" {
		protocol = string(v1.ProtocolTCP)
	}
	return ip, protocol
}

// Add marks ip/protocol/port as used.
func (h HostPortInfo) Add(ip, protocol string, port int32) {
	if port <= 0 {
		return
	}
	ip, protocol = sanitizeHostPort(ip, protocol)
	if h[ip] == nil {
		h[ip] = map[protocolPort]struct{}{}
	}
	h[ip][protocolPort{protocol, port}] = struct{}{}
}

// CheckConflict reports whether binding ip/protocol/port would conflict: the
// wildcard IP conflicts with every IP, a specific IP with itself and the
// wildcard.
func (h HostPortInfo) CheckConflict(ip, protocol string, port int32) bool {
	if port <= 0 {
		return false
	}
	ip, protocol = sanitizeHostPort(ip, protocol)
	pp := protocolPort{protocol, port}
	if ip == defaultBindAllHostIP {
		for _, m := range h {
			if _, ok := m[pp]; ok {
				return true
			}
		}
		return false
	}
	for _, key := range []string{defaultBindAllHostIP, ip} {
		if _, ok := h[key][pp]; ok {
			return true
		}
	}
	return false
}
