package pods

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/orca-pods/orca/internal/agent/containers"
	"github.com/orca-pods/orca/internal/apis/qos"
	"github.com/orca-pods/orca/internal/network"
	"github.com/orca-pods/orca/internal/runtime"
)

// CgroupRoot is the cgroup under which every pod lives, one level per QoS
// class as the kubelet's kubepods tree.
const CgroupRoot = "/orca"

// PodCgroup is the pod's cgroup path: /orca/<qos>/pod<uid>.
func PodCgroup(pod *corev1.Pod) string {
	return fmt.Sprintf("%s/%s/pod%s", CgroupRoot, strings.ToLower(string(qos.PodQOSClass(pod))), pod.UID)
}

func (w *worker) sandboxConfig(pod *corev1.Pod) runtime.SandboxConfig {
	hostname := pod.Name
	if pod.Spec.Hostname != "" {
		hostname = pod.Spec.Hostname
	}
	if len(hostname) > 63 {
		hostname = strings.TrimRight(hostname[:63], "-.")
	}
	return runtime.SandboxConfig{
		PodUID: string(pod.UID), PodName: pod.Name, Namespace: pod.Namespace,
		Hostname:     hostname,
		CgroupParent: PodCgroup(pod),
		Resources:    containers.PodResources(pod, w.m.cfg.PodPidsLimit),
		HostNetwork:  pod.Spec.HostNetwork,
		HostIPC:      pod.Spec.HostIPC,
		HostPID:      pod.Spec.HostPID,
		SharePID:     pod.Spec.ShareProcessNamespace != nil && *pod.Spec.ShareProcessNamespace,
		EtcHosts:     etcHosts(pod, hostname, ""),
		ResolvConf:   resolvConf(pod),
		Dir:          filepath.Join(w.podDir(pod), "sandbox"),
	}
}

// etcHosts is the kubelet-managed /etc/hosts of a pod.
func etcHosts(pod *corev1.Pod, hostname, podIP string) string {
	var b strings.Builder
	b.WriteString("# Kubernetes-managed hosts file.\n")
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
	if podIP != "" {
		fqdn := hostname
		if pod.Spec.Subdomain != "" {
			fqdn = fmt.Sprintf("%s.%s.%s.svc.cluster.local\t%s", hostname, pod.Spec.Subdomain, pod.Namespace, hostname)
		}
		fmt.Fprintf(&b, "%s\t%s\n", podIP, fqdn)
	}
	if len(pod.Spec.HostAliases) > 0 {
		b.WriteString("\n# Entries added by HostAliases.\n")
		for _, a := range pod.Spec.HostAliases {
			fmt.Fprintf(&b, "%s\t%s\n", a.IP, strings.Join(a.Hostnames, "\t"))
		}
	}
	return b.String()
}

// resolvConf renders the pod's resolv.conf: orca has no cluster DNS yet, so
// ClusterFirst falls back to the node's resolver, as the kubelet does when
// no cluster DNS is configured; dnsConfig is merged in.
func resolvConf(pod *corev1.Pod) string {
	var servers, searches, options []string
	if pod.Spec.DNSPolicy != corev1.DNSNone {
		data, _ := os.ReadFile("/etc/resolv.conf")
		for _, line := range strings.Split(string(data), "\n") {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			switch f[0] {
			case "nameserver":
				servers = append(servers, f[1])
			case "search":
				searches = append(searches, f[1:]...)
			case "options":
				options = append(options, f[1:]...)
			}
		}
	}
	if dc := pod.Spec.DNSConfig; dc != nil {
		servers = append(servers, dc.Nameservers...)
		searches = append(searches, dc.Searches...)
		for _, o := range dc.Options {
			if o.Value != nil {
				options = append(options, o.Name+":"+*o.Value)
			} else {
				options = append(options, o.Name)
			}
		}
	}
	var b strings.Builder
	if len(searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(searches, " "))
	}
	for _, s := range servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(options, " "))
	}
	return b.String()
}

// networkPod is what the pod network needs to know about pod.
func (w *worker) networkPod(pod *corev1.Pod) network.Pod {
	p := network.Pod{UID: string(pod.UID), Namespace: pod.Namespace, Name: pod.Name}
	if w.state.sandbox != nil {
		p.NetNSPath = w.state.sandbox.NetNSPath
	}
	for _, c := range pod.Spec.Containers {
		for _, port := range c.Ports {
			if port.HostPort > 0 {
				p.HostPorts = append(p.HostPorts, network.HostPort{
					HostPort: port.HostPort, ContainerPort: port.ContainerPort,
					Protocol: string(port.Protocol), HostIP: port.HostIP,
				})
			}
		}
	}
	return p
}
