package network

// Pod is what a pod network implementation (the built-in bridge or CNI
// plugins) is told about a pod.
type Pod struct {
	UID, Namespace, Name string
	// NetNSPath pins the sandbox's network namespace.
	NetNSPath string
	// HostPorts are the containers' ports with a hostPort.
	HostPorts []HostPort
}

// HostPort forwards a port of the node to a port of the pod.
type HostPort struct {
	HostPort, ContainerPort int32
	// Protocol is TCP, UDP or SCTP, as in the pod spec.
	Protocol string
	// HostIP restricts the forward to one node address; "" means all.
	HostIP string
}
