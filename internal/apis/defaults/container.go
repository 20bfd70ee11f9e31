package defaults

import (
	corev1 "k8s.io/api/core/v1"
)

// Container applies upstream's SetDefaults_Container and the defaults of
// everything nested in a container: ports, env, resources, probes and
// lifecycle hooks. It is used for init and regular containers alike.
func Container(c *corev1.Container) {
	if c.ImagePullPolicy == "" {
		c.ImagePullPolicy = ImagePullPolicy(c.Image)
	}
	if c.TerminationMessagePath == "" {
		c.TerminationMessagePath = corev1.TerminationMessagePathDefault
	}
	if c.TerminationMessagePolicy == "" {
		c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
	}
	for i := range c.Ports {
		// Declarative upstream (+default="TCP" on ContainerPort.Protocol).
		if c.Ports[i].Protocol == "" {
			c.Ports[i].Protocol = corev1.ProtocolTCP
		}
	}
	for i := range c.Env {
		envVarSource(c.Env[i].ValueFrom)
	}
	roundResourceList(c.Resources.Limits)
	roundResourceList(c.Resources.Requests)
	Probe(c.LivenessProbe)
	Probe(c.ReadinessProbe)
	Probe(c.StartupProbe)
	if c.Lifecycle != nil {
		lifecycleHandler(c.Lifecycle.PostStart)
		lifecycleHandler(c.Lifecycle.PreStop)
	}
}

// EphemeralContainer defaults an ephemeral container exactly like a regular
// one; upstream converts the shared EphemeralContainerCommon the same way.
func EphemeralContainer(ec *corev1.EphemeralContainer) {
	Container((*corev1.Container)(&ec.EphemeralContainerCommon))
}

// Probe fills in the probe timings and the defaults of its handler. A nil
// probe is left nil.
func Probe(p *corev1.Probe) {
	if p == nil {
		return
	}
	if p.TimeoutSeconds == 0 {
		p.TimeoutSeconds = 1
	}
	if p.PeriodSeconds == 0 {
		p.PeriodSeconds = 10
	}
	if p.SuccessThreshold == 0 {
		p.SuccessThreshold = 1
	}
	if p.FailureThreshold == 0 {
		p.FailureThreshold = 3
	}
	httpGetAction(p.HTTPGet)
	if p.GRPC != nil && p.GRPC.Service == nil {
		// Declarative upstream (+default="" on GRPCAction.Service): an
		// explicit empty service name, i.e. the server's overall health.
		empty := ""
		p.GRPC.Service = &empty
	}
}

// lifecycleHandler defaults a postStart/preStop hook. Only its HTTP action
// has defaults; exec, tcpSocket and sleep have none.
func lifecycleHandler(h *corev1.LifecycleHandler) {
	if h != nil {
		httpGetAction(h.HTTPGet)
	}
}

func httpGetAction(a *corev1.HTTPGetAction) {
	if a == nil {
		return
	}
	if a.Path == "" {
		a.Path = "/"
	}
	if a.Scheme == "" {
		a.Scheme = corev1.URISchemeHTTP
	}
}

// envVarSource defaults an env var's valueFrom. resourceFieldRef.divisor has
// no default upstream (a zero divisor is read as 1 by the kubelet), and
// configMapKeyRef/secretKeyRef have none either.
func envVarSource(src *corev1.EnvVarSource) {
	if src == nil {
		return
	}
	objectFieldSelector(src.FieldRef)
	if src.FileKeyRef != nil && src.FileKeyRef.Optional == nil {
		// Declarative upstream (+default=false on FileKeySelector.Optional).
		optional := false
		src.FileKeyRef.Optional = &optional
	}
}

// objectFieldSelector defaults a downward-API field reference to the v1
// field paths, which is what every pod field reference means.
func objectFieldSelector(s *corev1.ObjectFieldSelector) {
	if s != nil && s.APIVersion == "" {
		s.APIVersion = "v1"
	}
}
