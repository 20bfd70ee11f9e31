package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

func TestValidPodPasses(t *testing.T) {
	expectErrors(t, ValidatePodCreate(validPod()))
}

// TestValidatePodCreate checks user-facing error strings against what
// kube-apiserver prints for the same mistake.
func TestValidatePodCreate(t *testing.T) {
	const dns1123Subdomain = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
	const dns1123Label = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')"

	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{
			name:   "invalid name",
			mutate: func(p *corev1.Pod) { p.Name = "Web_1" },
			want:   []string{`metadata.name: Invalid value: "Web_1": ` + dns1123Subdomain},
		},
		{
			name:   "missing namespace",
			mutate: func(p *corev1.Pod) { p.Namespace = "" },
			want:   []string{"metadata.namespace: Required value"},
		},
		{
			name: "annotations too large",
			mutate: func(p *corev1.Pod) {
				p.Annotations = map[string]string{"a": strings.Repeat("x", 256*1024)}
			},
			want: []string{"metadata.annotations: Too long: may not be more than 262144 bytes"},
		},
		{
			name:   "unqualified finalizer",
			mutate: func(p *corev1.Pod) { p.Finalizers = []string{"mine"} },
			want:   []string{`metadata.finalizers[0]: Invalid value: "mine": name is neither a standard finalizer name nor is it fully qualified`},
		},
		{
			name:   "no containers",
			mutate: func(p *corev1.Pod) { p.Spec.Containers = nil },
			want:   []string{"spec.containers: Required value"},
		},
		{
			name: "duplicate container name",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers = append(p.Spec.Containers, validContainer("app"))
			},
			want: []string{`spec.containers[1].name: Duplicate value: "app"`},
		},
		{
			name: "init container name collides with container",
			mutate: func(p *corev1.Pod) {
				p.Spec.InitContainers = []corev1.Container{validContainer("app")}
			},
			want: []string{`spec.initContainers[0].name: Duplicate value: "app"`},
		},
		{
			name:   "invalid container name",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name = "App" },
			want:   []string{`spec.containers[0].name: Invalid value: "App": ` + dns1123Label},
		},
		{
			name:   "missing image",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" },
			want:   []string{"spec.containers[0].image: Required value"},
		},
		{
			name:   "image with whitespace",
			mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			want:   []string{`spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace`},
		},
		{
			name: "container port out of range",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 70000, Protocol: corev1.ProtocolTCP}}
			},
			want: []string{"spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive"},
		},
		{
			name: "unsupported protocol",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, Protocol: "HTTP"}}
			},
			want: []string{`spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"`},
		},
		{
			name: "duplicate and invalid port names",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{
					{Name: "http", ContainerPort: 80, Protocol: corev1.ProtocolTCP},
					{Name: "http", ContainerPort: 81, Protocol: corev1.ProtocolTCP},
					{Name: "-bad", ContainerPort: 82, Protocol: corev1.ProtocolTCP},
				}
			},
			want: []string{
				`spec.containers[0].ports[1].name: Duplicate value: "http"`,
				`spec.containers[0].ports[2].name: Invalid value: "-bad": must not begin or end with a hyphen`,
			},
		},
		{
			name: "host port conflict",
			mutate: func(p *corev1.Pod) {
				c := validContainer("b")
				c.Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
				p.Spec.Containers[0].Ports = c.Ports
				p.Spec.Containers = append(p.Spec.Containers, c)
			},
			want: []string{`spec.containers[1].ports[0].hostPort: Duplicate value: "TCP//8080"`},
		},
		{
			name: "invalid env name",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}, {Name: ""}}
			},
			want: []string{
				`spec.containers[0].env[0].name: Invalid value: "A=B": a valid environment variable name must consist only of printable ASCII characters other than '='`,
				"spec.containers[0].env[1].name: Required value",
			},
		},
		{
			name: "valueFrom without source",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{}}}
			},
			want: []string{"spec.containers[0].env[0].valueFrom: Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"},
		},
		{
			name: "valueFrom with two sources",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					FieldRef:     &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.name"},
					SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "s"}, Key: "k"},
				}}}
			},
			want: []string{`spec.containers[0].env[0].valueFrom: Invalid value: "": may not have more than one field specified at a time`},
		},
		{
			name: "unsupported fieldRef",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A", ValueFrom: &corev1.EnvVarSource{
					FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "spec.nope"},
				}}}
			},
			want: []string{`spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: Invalid value: "spec.nope": error converting fieldPath: field label not supported: spec.nope`},
		},
		{
			name: "requests above limits",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{corev1.ResourceCPU: qty("500m")},
					Requests: corev1.ResourceList{corev1.ResourceCPU: qty("600m")},
				}
			},
			want: []string{`spec.containers[0].resources.requests: Invalid value: "600m": must be less than or equal to cpu limit of 500m`},
		},
		{
			name: "negative quantity and unknown resource",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: qty("-1"), "disk": qty("1")}
			},
			want: []string{
				`spec.containers[0].resources.requests[disk]: Invalid value: "disk": must be a standard resource type or fully qualified`,
				`spec.containers[0].resources.requests[disk]: Invalid value: "disk": must be a standard resource for containers`,
				`spec.containers[0].resources.requests[memory]: Invalid value: "-1": must be greater than or equal to 0`,
			},
		},
		{
			name: "extended resource must not overcommit",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{"example.com/gpu": qty("2")},
					Requests: corev1.ResourceList{"example.com/gpu": qty("1")},
				}
			},
			want: []string{`spec.containers[0].resources.requests: Invalid value: "1": must be equal to example.com/gpu limit of 2`},
		},
		{
			name: "probe without handler",
			mutate: func(p *corev1.Pod) {
				probe := validProbe()
				probe.Exec = nil
				p.Spec.Containers[0].LivenessProbe = probe
			},
			want: []string{"spec.containers[0].livenessProbe: Required value: must specify a handler type"},
		},
		{
			name: "probe with two handlers and bad thresholds",
			mutate: func(p *corev1.Pod) {
				probe := validProbe()
				probe.TCPSocket = &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}
				probe.SuccessThreshold = 2
				probe.FailureThreshold = -1
				p.Spec.Containers[0].StartupProbe = probe
			},
			want: []string{
				"spec.containers[0].startupProbe.tcpSocket: Forbidden: may not specify more than 1 handler type",
				"spec.containers[0].startupProbe.failureThreshold: Invalid value: -1: must be greater than or equal to 0",
				"spec.containers[0].startupProbe.successThreshold: Invalid value: 2: must be 1",
			},
		},
		{
			name: "readiness probe grace period",
			mutate: func(p *corev1.Pod) {
				probe := validProbe()
				probe.TerminationGracePeriodSeconds = ptr.To[int64](5)
				p.Spec.Containers[0].ReadinessProbe = probe
			},
			want: []string{"spec.containers[0].readinessProbe.terminationGracePeriodSeconds: Invalid value: 5: must not be set for readinessProbes"},
		},
		{
			name: "preStop sleep longer than grace period",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 60}}}
			},
			want: []string{"spec.containers[0].lifecycle.preStop.sleep: Invalid value: 60: must be non-negative and less than terminationGracePeriodSeconds (30)"},
		},
		{
			name:   "bad restartPolicy",
			mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" },
			want:   []string{`spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"`},
		},
		{
			name:   "bad dnsPolicy",
			mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" },
			want:   []string{`spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"`},
		},
		{
			name:   "dnsPolicy None without config",
			mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = corev1.DNSNone },
			want:   []string{"spec.dnsConfig: Required value: must provide `dnsConfig` when `dnsPolicy` is None"},
		},
		{
			name: "restartPolicy on regular container",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
			},
			want: []string{"spec.containers[0].restartPolicy: Forbidden: may not be set for non-init containers"},
		},
		{
			name: "init container restartPolicy must be Always",
			mutate: func(p *corev1.Pod) {
				c := validContainer("init")
				c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyOnFailure)
				p.Spec.InitContainers = []corev1.Container{c}
			},
			want: []string{`spec.initContainers[0].restartPolicy: Unsupported value: "OnFailure": supported values: "Always"`},
		},
		{
			name: "probe on plain init container",
			mutate: func(p *corev1.Pod) {
				c := validContainer("init")
				c.ReadinessProbe = validProbe()
				p.Spec.InitContainers = []corev1.Container{c}
			},
			want: []string{"spec.initContainers[0].readinessProbe: Forbidden: may not be set for init containers without restartPolicy=Always"},
		},
		{
			name: "sidecar may have probes",
			mutate: func(p *corev1.Pod) {
				c := validContainer("sidecar")
				c.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
				c.ReadinessProbe = validProbe()
				p.Spec.InitContainers = []corev1.Container{c}
			},
		},
		{
			name: "negative grace period and zero deadline",
			mutate: func(p *corev1.Pod) {
				p.Spec.TerminationGracePeriodSeconds = ptr.To[int64](-1)
				p.Spec.ActiveDeadlineSeconds = ptr.To[int64](0)
			},
			want: []string{
				"spec.terminationGracePeriodSeconds: Invalid value: -1: must be greater than or equal to 0",
				"spec.activeDeadlineSeconds: Invalid value: 0: must be between 1 and 2147483647, inclusive",
			},
		},
		{
			name:   "bad nodeSelector label",
			mutate: func(p *corev1.Pod) { p.Spec.NodeSelector = map[string]string{"zone": "a b"} },
			want:   []string{`spec.nodeSelector: Invalid value: "a b": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')`},
		},
		{
			name: "hostname and subdomain",
			mutate: func(p *corev1.Pod) {
				p.Spec.Hostname = "a.b"
				p.Spec.Subdomain = "x_y"
			},
			want: []string{
				`spec.hostname: Invalid value: "a.b": must not contain dots`,
				`spec.subdomain: Invalid value: "x_y": ` + dns1123Label,
			},
		},
		{
			name: "hostAlias IP",
			mutate: func(p *corev1.Pod) {
				p.Spec.HostAliases = []corev1.HostAlias{{IP: "999.1.1.1", Hostnames: []string{"foo"}}}
			},
			want: []string{`spec.hostAliases[0].ip: Invalid value: "999.1.1.1": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)`},
		},
		{
			name: "negative runAsUser",
			mutate: func(p *corev1.Pod) {
				p.Spec.SecurityContext.RunAsUser = ptr.To[int64](-1)
			},
			want: []string{"spec.securityContext.runAsUser: Invalid value: -1: must be between 0 and 2147483647, inclusive"},
		},
		{
			name: "bad fsGroupChangePolicy and sysctl",
			mutate: func(p *corev1.Pod) {
				p.Spec.SecurityContext.FSGroupChangePolicy = ptr.To(corev1.PodFSGroupChangePolicy("Sometimes"))
				p.Spec.SecurityContext.Sysctls = []corev1.Sysctl{{Name: "Net.Core", Value: "1"}}
			},
			want: []string{
				`spec.securityContext.sysctls[0].name: Invalid value: "Net.Core": must have at most 253 characters and match regex ^([a-z0-9]([-_a-z0-9]*[a-z0-9])?[\./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?$`,
				`spec.securityContext.fsGroupChangePolicy: Unsupported value: "Sometimes": supported values: "Always", "OnRootMismatch"`,
			},
		},
		{
			name: "imagePullSecrets and priorityClassName",
			mutate: func(p *corev1.Pod) {
				p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "regcred"}}
				p.Spec.PriorityClassName = "High"
			},
			want: []string{`spec.priorityClassName: Invalid value: "High": ` + dns1123Subdomain},
		},
		{
			name: "scheduling gates",
			mutate: func(p *corev1.Pod) {
				p.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/gate"}, {Name: "example.com/gate"}}
				p.Spec.NodeName = "node-1"
			},
			want: []string{
				`spec.schedulingGates[1]: Duplicate value: "example.com/gate"`,
				"spec.nodeName: Forbidden: cannot be set until all schedulingGates have been cleared",
			},
		},
		{
			name: "ephemeral containers on create",
			mutate: func(p *corev1.Pod) {
				p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(validContainer("debug"))}}
			},
			want: []string{"spec.ephemeralContainers: Forbidden: cannot be set on create"},
		},
		{
			name: "overhead",
			mutate: func(p *corev1.Pod) {
				p.Spec.Overhead = corev1.ResourceList{corev1.ResourceCPU: qty("-1")}
			},
			want: []string{`spec.overhead.limits[cpu]: Invalid value: "-1": must be greater than or equal to 0`},
		},
		{
			name: "mirror pod needs nodeName",
			mutate: func(p *corev1.Pod) {
				p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "x"}
			},
			want: []string{`metadata.annotations[kubernetes.io/config.mirror]: Invalid value: "x": must set spec.nodeName if mirror pod annotation is set`},
		},
		{
			name: "deletion cost",
			mutate: func(p *corev1.Pod) {
				p.Annotations = map[string]string{corev1.PodDeletionCost: "+1"}
			},
			want: []string{`metadata.annotations[controller.kubernetes.io/pod-deletion-cost]: Invalid value: "+1": must be a 32bit integer`},
		},
		{
			name: "hostNetwork port mismatch",
			mutate: func(p *corev1.Pod) {
				p.Spec.HostNetwork = true
				p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80, HostPort: 81, Protocol: corev1.ProtocolTCP}}
			},
			want: []string{"spec.containers[0].ports[0].hostPort: Invalid value: 81: must match `containerPort` when `hostNetwork` is true"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := validPod()
			tc.mutate(pod)
			expectErrors(t, ValidatePodCreate(pod), tc.want...)
		})
	}
}
