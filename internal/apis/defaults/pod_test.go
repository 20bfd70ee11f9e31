package defaults

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ptrTo[T any](v T) *T { return &v }

func minimalPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"},
		Spec: corev1.PodSpec{
			Containers: []corev1.Container{{Name: "c", Image: "nginx"}},
		},
	}
}

func TestPodSpecLevelDefaults(t *testing.T) {
	p := minimalPod()
	Pod(p)
	s := p.Spec
	checks := []struct {
		name      string
		got, want any
	}{
		{"restartPolicy", s.RestartPolicy, corev1.RestartPolicyAlways},
		{"dnsPolicy", s.DNSPolicy, corev1.DNSClusterFirst},
		{"terminationGracePeriodSeconds", s.TerminationGracePeriodSeconds, ptrTo(int64(30))},
		{"securityContext", s.SecurityContext, &corev1.PodSecurityContext{}},
		{"schedulerName", s.SchedulerName, "default-scheduler"},
		{"enableServiceLinks", s.EnableServiceLinks, ptrTo(true)},
		{"serviceAccountName", s.ServiceAccountName, "default"},
		{"serviceAccount", s.DeprecatedServiceAccount, "default"},
		{"hostNetwork", s.HostNetwork, false},
		{"priority (admission, untouched)", s.Priority, (*int32)(nil)},
		{"preemptionPolicy (admission, untouched)", s.PreemptionPolicy, (*corev1.PreemptionPolicy)(nil)},
		{"tolerations (separate func)", s.Tolerations, []corev1.Toleration(nil)},
		{"status.phase (strategy)", p.Status.Phase, corev1.PodPhase("")},
	}
	for _, c := range checks {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s = %#v, want %#v", c.name, c.got, c.want)
		}
	}
}

func TestPodKeepsExplicitValues(t *testing.T) {
	p := minimalPod()
	p.Spec.RestartPolicy = corev1.RestartPolicyNever
	p.Spec.DNSPolicy = corev1.DNSNone
	p.Spec.TerminationGracePeriodSeconds = ptrTo(int64(0))
	p.Spec.SchedulerName = "mine"
	p.Spec.EnableServiceLinks = ptrTo(false)
	p.Spec.ServiceAccountName = "robot"
	c := &p.Spec.Containers[0]
	c.ImagePullPolicy = corev1.PullNever
	c.TerminationMessagePath = "/tmp/x"
	c.TerminationMessagePolicy = corev1.TerminationMessageFallbackToLogsOnError
	want := p.DeepCopy()
	want.Spec.SecurityContext = &corev1.PodSecurityContext{}
	want.Spec.DeprecatedServiceAccount = "robot"

	Pod(p)
	if !reflect.DeepEqual(p, want) {
		t.Errorf("explicit values changed:\n got %#v\nwant %#v", p.Spec, want.Spec)
	}
}

func TestContainerDefaults(t *testing.T) {
	p := minimalPod()
	p.Spec.InitContainers = []corev1.Container{{Name: "init", Image: "busybox:1.36"}}
	p.Spec.EphemeralContainers = []corev1.EphemeralContainer{{
		EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox"},
	}}
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 80}, {ContainerPort: 53, Protocol: corev1.ProtocolUDP}}
	Pod(p)

	for _, c := range []struct {
		name       string
		c          corev1.Container
		pullPolicy corev1.PullPolicy
	}{
		{"container", p.Spec.Containers[0], corev1.PullAlways},
		{"init", p.Spec.InitContainers[0], corev1.PullIfNotPresent},
		{"ephemeral", corev1.Container(p.Spec.EphemeralContainers[0].EphemeralContainerCommon), corev1.PullAlways},
	} {
		if c.c.ImagePullPolicy != c.pullPolicy {
			t.Errorf("%s: imagePullPolicy = %s, want %s", c.name, c.c.ImagePullPolicy, c.pullPolicy)
		}
		if c.c.TerminationMessagePath != "/dev/termination-log" {
			t.Errorf("%s: terminationMessagePath = %q", c.name, c.c.TerminationMessagePath)
		}
		if c.c.TerminationMessagePolicy != corev1.TerminationMessageReadFile {
			t.Errorf("%s: terminationMessagePolicy = %q", c.name, c.c.TerminationMessagePolicy)
		}
	}
	ports := p.Spec.Containers[0].Ports
	if ports[0].Protocol != corev1.ProtocolTCP || ports[1].Protocol != corev1.ProtocolUDP {
		t.Errorf("port protocols = %s, %s; want TCP, UDP", ports[0].Protocol, ports[1].Protocol)
	}
	if ports[0].HostPort != 0 {
		t.Errorf("hostPort defaulted without hostNetwork: %d", ports[0].HostPort)
	}
}

func TestProbeAndLifecycleDefaults(t *testing.T) {
	p := minimalPod()
	c := &p.Spec.Containers[0]
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
		HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(8080)},
	}}
	c.ReadinessProbe = &corev1.Probe{
		ProbeHandler:     corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: 9090}},
		TimeoutSeconds:   5,
		PeriodSeconds:    7,
		SuccessThreshold: 2,
		FailureThreshold: 9,
	}
	c.StartupProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
		HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Scheme: corev1.URISchemeHTTPS, Port: intstr.FromString("web")},
	}}
	c.Lifecycle = &corev1.Lifecycle{
		PostStart: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(80)}},
		PreStop:   &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"true"}}},
	}
	Pod(p)

	live := c.LivenessProbe
	if live.TimeoutSeconds != 1 || live.PeriodSeconds != 10 || live.SuccessThreshold != 1 || live.FailureThreshold != 3 {
		t.Errorf("liveness timings = %d/%d/%d/%d, want 1/10/1/3",
			live.TimeoutSeconds, live.PeriodSeconds, live.SuccessThreshold, live.FailureThreshold)
	}
	if live.HTTPGet.Path != "/" || live.HTTPGet.Scheme != corev1.URISchemeHTTP {
		t.Errorf("liveness httpGet = %q %q, want / HTTP", live.HTTPGet.Path, live.HTTPGet.Scheme)
	}
	ready := c.ReadinessProbe
	if ready.TimeoutSeconds != 5 || ready.PeriodSeconds != 7 || ready.SuccessThreshold != 2 || ready.FailureThreshold != 9 {
		t.Errorf("explicit readiness timings changed: %+v", ready)
	}
	if ready.GRPC.Service == nil || *ready.GRPC.Service != "" {
		t.Errorf("grpc service = %v, want pointer to empty string", ready.GRPC.Service)
	}
	if ready.GRPC.Mode != nil {
		t.Errorf("grpc mode defaulted: %v", *ready.GRPC.Mode)
	}
	start := c.StartupProbe.HTTPGet
	if start.Path != "/healthz" || start.Scheme != corev1.URISchemeHTTPS {
		t.Errorf("explicit startup httpGet changed: %+v", start)
	}
	if h := c.Lifecycle.PostStart.HTTPGet; h.Path != "/" || h.Scheme != corev1.URISchemeHTTP {
		t.Errorf("postStart httpGet = %q %q, want / HTTP", h.Path, h.Scheme)
	}
}

func TestEnvDefaults(t *testing.T) {
	p := minimalPod()
	p.Spec.Containers[0].Env = []corev1.EnvVar{
		{Name: "PLAIN", Value: "x"},
		{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "CPU", ValueFrom: &corev1.EnvVarSource{ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.cpu"}}},
		{Name: "FILE", ValueFrom: &corev1.EnvVarSource{FileKeyRef: &corev1.FileKeySelector{VolumeName: "v", Path: "p", Key: "k"}}},
	}
	Pod(p)
	env := p.Spec.Containers[0].Env
	if env[0].ValueFrom != nil {
		t.Errorf("valueFrom invented for plain value")
	}
	if got := env[1].ValueFrom.FieldRef.APIVersion; got != "v1" {
		t.Errorf("fieldRef.apiVersion = %q, want v1", got)
	}
	if d := env[2].ValueFrom.ResourceFieldRef.Divisor; !d.IsZero() {
		t.Errorf("resourceFieldRef.divisor defaulted to %s; upstream leaves it", d.String())
	}
	if o := env[3].ValueFrom.FileKeyRef.Optional; o == nil || *o {
		t.Errorf("fileKeyRef.optional = %v, want pointer to false", o)
	}
}

func TestRequestsFromLimits(t *testing.T) {
	res := func(reqs, lims corev1.ResourceList) corev1.ResourceRequirements {
		return corev1.ResourceRequirements{Requests: reqs, Limits: lims}
	}
	list := func(kv ...string) corev1.ResourceList {
		l := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			l[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return l
	}
	tests := []struct {
		name string
		in   corev1.ResourceRequirements
		want corev1.ResourceList // requests after defaulting
	}{
		{"limits only", res(nil, list("cpu", "1", "memory", "1Gi")), list("cpu", "1", "memory", "1Gi")},
		{"explicit request kept", res(list("cpu", "100m"), list("cpu", "1", "memory", "1Gi")), list("cpu", "100m", "memory", "1Gi")},
		{"no limits", res(list("cpu", "100m"), nil), list("cpu", "100m")},
		{"nothing", res(nil, nil), nil},
		{"rounded up to milli", res(nil, list("cpu", "0.0001")), list("cpu", "1m")},
	}
	for _, tt := range tests {
		p := minimalPod()
		p.Spec.Containers[0].Resources = *tt.in.DeepCopy()
		p.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "i", Resources: *tt.in.DeepCopy()}}
		Pod(p)
		for _, c := range []corev1.Container{p.Spec.Containers[0], p.Spec.InitContainers[0]} {
			if !equalResourceLists(c.Resources.Requests, tt.want) {
				t.Errorf("%s: %s requests = %v, want %v", tt.name, c.Name, c.Resources.Requests, tt.want)
			}
		}
	}

	// Templates are not defaulted this way: a Deployment must not change
	// when the apiserver's defaulting does.
	tmpl := &corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: minimalPod().Spec}}
	tmpl.Template.Spec.Containers[0].Resources.Limits = list("cpu", "1")
	PodTemplate(tmpl)
	if r := tmpl.Template.Spec.Containers[0].Resources.Requests; r != nil {
		t.Errorf("template requests defaulted: %v", r)
	}
}

func equalResourceLists(a, b corev1.ResourceList) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || v.Cmp(w) != 0 {
			return false
		}
	}
	return true
}

func TestHostNetworkPorts(t *testing.T) {
	p := minimalPod()
	p.Spec.HostNetwork = true
	p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}, {ContainerPort: 9090, HostPort: 9090}}
	p.Spec.InitContainers = []corev1.Container{{Name: "i", Image: "i", Ports: []corev1.ContainerPort{{ContainerPort: 7070}}}}
	Pod(p)
	if got := p.Spec.Containers[0].Ports[0].HostPort; got != 8080 {
		t.Errorf("container hostPort = %d, want 8080", got)
	}
	if got := p.Spec.InitContainers[0].Ports[0].HostPort; got != 7070 {
		t.Errorf("init container hostPort = %d, want 7070", got)
	}

	tmpl := &corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: minimalPod().Spec}}
	tmpl.Template.Spec.HostNetwork = true
	tmpl.Template.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8080}}
	PodTemplate(tmpl)
	if got := tmpl.Template.Spec.Containers[0].Ports[0].HostPort; got != 0 {
		t.Errorf("template hostPort = %d, want 0 (pods only since 1.28)", got)
	}
}

func TestPodTemplateGetsSpecDefaultsOnly(t *testing.T) {
	tmpl := &corev1.PodTemplate{Template: corev1.PodTemplateSpec{Spec: minimalPod().Spec}}
	PodTemplate(tmpl)
	s := tmpl.Template.Spec
	if s.RestartPolicy != corev1.RestartPolicyAlways || s.Containers[0].ImagePullPolicy != corev1.PullAlways {
		t.Errorf("template spec not defaulted: %+v", s)
	}
	if s.EnableServiceLinks != nil {
		t.Errorf("template enableServiceLinks defaulted")
	}
	if s.ServiceAccountName != "" || s.DeprecatedServiceAccount != "" {
		t.Errorf("template service account defaulted: %q/%q", s.ServiceAccountName, s.DeprecatedServiceAccount)
	}
}

func TestServiceAccount(t *testing.T) {
	tests := []struct {
		name               string
		annotations        map[string]string
		saName, deprecated string
		wantName           string
	}{
		{"empty", nil, "", "", "default"},
		{"named", nil, "robot", "", "robot"},
		{"deprecated alias only", nil, "", "legacy", "legacy"},
		{"new field wins", nil, "robot", "legacy", "robot"},
		{"mirror pod untouched", map[string]string{corev1.MirrorPodAnnotationKey: "x"}, "", "", ""},
	}
	for _, tt := range tests {
		p := minimalPod()
		p.Annotations = tt.annotations
		p.Spec.ServiceAccountName = tt.saName
		p.Spec.DeprecatedServiceAccount = tt.deprecated
		Pod(p)
		if p.Spec.ServiceAccountName != tt.wantName || p.Spec.DeprecatedServiceAccount != tt.wantName {
			t.Errorf("%s: serviceAccountName/serviceAccount = %q/%q, want %q", tt.name,
				p.Spec.ServiceAccountName, p.Spec.DeprecatedServiceAccount, tt.wantName)
		}
	}
}

func TestPodLevelResources(t *testing.T) {
	q := resource.MustParse
	p := minimalPod()
	p.Spec.Resources = &corev1.ResourceRequirements{
		Limits: corev1.ResourceList{"cpu": q("2"), "memory": q("1Gi")},
	}
	p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"cpu": q("500m")}
	p.Spec.Containers = append(p.Spec.Containers, corev1.Container{
		Name: "huge", Image: "x",
		Resources: corev1.ResourceRequirements{Limits: corev1.ResourceList{"hugepages-2Mi": q("100Mi")}},
	})
	Pod(p)

	wantLimits := corev1.ResourceList{"cpu": q("2"), "memory": q("1Gi"), "hugepages-2Mi": q("100Mi")}
	// cpu from the containers' requests; memory and hugepages from the
	// pod-level limits (hugepages cannot be overcommitted, so never from the
	// containers' sum).
	wantRequests := corev1.ResourceList{"cpu": q("500m"), "memory": q("1Gi"), "hugepages-2Mi": q("100Mi")}
	if !equalResourceLists(p.Spec.Resources.Limits, wantLimits) {
		t.Errorf("pod limits = %v, want %v", p.Spec.Resources.Limits, wantLimits)
	}
	if !equalResourceLists(p.Spec.Resources.Requests, wantRequests) {
		t.Errorf("pod requests = %v, want %v", p.Spec.Resources.Requests, wantRequests)
	}

	// Without pod-level resources nothing is invented.
	p = minimalPod()
	p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"cpu": q("1")}
	Pod(p)
	if p.Spec.Resources != nil {
		t.Errorf("pod-level resources invented: %+v", p.Spec.Resources)
	}
}

func TestPodStatus(t *testing.T) {
	p := minimalPod()
	p.Status = corev1.PodStatus{
		PodIP:   "10.0.0.1",
		HostIP:  "192.168.0.1",
		HostIPs: []corev1.HostIP{{IP: "192.168.0.1"}, {IP: "fd00::1"}},
		ContainerStatuses: []corev1.ContainerStatus{{
			Name:               "c",
			AllocatedResources: corev1.ResourceList{"cpu": resource.MustParse("0.0001")},
		}},
	}
	Pod(p)
	if want := []corev1.PodIP{{IP: "10.0.0.1"}}; !reflect.DeepEqual(p.Status.PodIPs, want) {
		t.Errorf("podIPs = %v, want %v", p.Status.PodIPs, want)
	}
	if len(p.Status.HostIPs) != 2 {
		t.Errorf("consistent hostIPs rewritten: %v", p.Status.HostIPs)
	}
	if got := p.Status.ContainerStatuses[0].AllocatedResources["cpu"]; got.String() != "1m" {
		t.Errorf("allocatedResources cpu = %s, want 1m", got.String())
	}

	p = minimalPod()
	p.Status.PodIPs = []corev1.PodIP{{IP: "fd00::2"}, {IP: "10.0.0.2"}}
	Pod(p)
	if p.Status.PodIP != "fd00::2" || len(p.Status.PodIPs) != 2 {
		t.Errorf("podIP = %q podIPs = %v, want first of the list and list kept", p.Status.PodIP, p.Status.PodIPs)
	}
}
