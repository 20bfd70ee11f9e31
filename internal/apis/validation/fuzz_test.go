package validation

import (
	"encoding/json"
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
)

// fuzzSeeds are pods touching most validators, so the fuzzer starts from
// inputs that get past the first checks.
func fuzzSeeds() []*corev1.Pod {
	full := validPod()
	full.Labels = map[string]string{"app": "web"}
	full.Annotations = map[string]string{corev1.SeccompPodAnnotationKey: "runtime/default"}
	c := &full.Spec.Containers[0]
	c.Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 80, HostPort: 8080, Protocol: corev1.ProtocolTCP}}
	c.Env = []corev1.EnvVar{{Name: "POD", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['app']"}}}}
	c.EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
	c.Resources = corev1.ResourceRequirements{
		Limits:   corev1.ResourceList{corev1.ResourceCPU: qty("1"), "hugepages-2Mi": qty("4Mi")},
		Requests: corev1.ResourceList{corev1.ResourceCPU: qty("500m"), "hugepages-2Mi": qty("4Mi")},
	}
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http"), Scheme: corev1.URISchemeHTTP}}, SuccessThreshold: 1}
	c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{Sleep: &corev1.SleepAction{Seconds: 5}}}
	c.VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data", SubPath: "x"}, {Name: "proj", MountPath: "/proj"}}
	c.SecurityContext = &corev1.SecurityContext{RunAsUser: ptr.To[int64](1000), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}}
	full.Spec.Volumes = []corev1.Volume{
		{Name: "data", VolumeSource: corev1.VolumeSource{Ephemeral: &corev1.EphemeralVolumeSource{VolumeClaimTemplate: &corev1.PersistentVolumeClaimTemplate{
			Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}, Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{"storage": qty("1Gi")}}},
		}}}},
		{Name: "proj", VolumeSource: corev1.VolumeSource{Projected: &corev1.ProjectedVolumeSource{Sources: []corev1.VolumeProjection{
			{ServiceAccountToken: &corev1.ServiceAccountTokenProjection{Path: "token", ExpirationSeconds: ptr.To[int64](3600)}},
			{DownwardAPI: &corev1.DownwardAPIProjection{Items: []corev1.DownwardAPIVolumeFile{{Path: "cpu", ResourceFieldRef: &corev1.ResourceFieldSelector{ContainerName: "app", Resource: "limits.cpu"}}}}},
		}}}},
	}
	full.Spec.ServiceAccountName = "default"
	sidecar := validContainer("sidecar")
	sidecar.RestartPolicy = ptr.To(corev1.ContainerRestartPolicyAlways)
	full.Spec.InitContainers = []corev1.Container{sidecar}
	full.Spec.Tolerations = []corev1.Toleration{{Key: "k", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr.To[int64](30)}}
	full.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
		NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n1"}}}}},
	}}}
	full.Spec.SchedulingGates = []corev1.PodSchedulingGate{{Name: "example.com/gate"}}
	full.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon(validContainer("debug")), TargetContainerName: "app"}}
	full.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}}, HostIPs: []corev1.HostIP{{IP: "192.168.0.1"}}, HostIP: "192.168.0.1"}

	windows := validPod()
	windows.Spec.OS = &corev1.PodOS{Name: corev1.Windows}
	windows.Spec.SecurityContext.WindowsOptions = &corev1.WindowsSecurityContextOptions{RunAsUserName: ptr.To(`DOMAIN\user`), HostProcess: ptr.To(true)}
	return []*corev1.Pod{validPod(), full, windows}
}

// FuzzValidatePod decodes arbitrary JSON into a pod and runs the pod
// validators on it. They must never panic and never modify their input.
func FuzzValidatePod(f *testing.F) {
	for _, pod := range fuzzSeeds() {
		data, err := json.Marshal(pod)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"spec":{"containers":[{}],"volumes":[{"name":"v"}]}}`))
	f.Add([]byte(`{"spec":{"containers":[{"ports":[{"hostPort":-1}],"resources":{"limits":{"hugepages-0":"1"}}}]}}`))
	f.Add([]byte(`{"spec":{"ephemeralContainers":[{"name":"d","targetContainerName":"x"}],"initContainers":[{"restartPolicy":"Never"}]}}`))

	f.Fuzz(func(t *testing.T, data []byte) {
		pod := &corev1.Pod{}
		if err := json.Unmarshal(data, pod); err != nil {
			return
		}
		before := pod.DeepCopy()
		_ = ValidatePodCreate(pod)
		_ = ValidatePodUpdate(pod, pod)
		_ = ValidatePodStatusUpdate(pod, pod)
		_ = ValidatePodEphemeralContainersUpdate(pod, pod)

		// Exercise the munging and diff paths against a changed copy.
		changed := pod.DeepCopy()
		changed.Spec.RestartPolicy += "x"
		changed.Spec.SchedulingGates = nil
		changed.Spec.NodeSelector = map[string]string{"added": "by-fuzz"}
		for i := range changed.Spec.Containers {
			changed.Spec.Containers[i].Image += ":new"
		}
		_ = ValidatePodUpdate(changed, pod)
		_ = ValidatePodEphemeralContainersUpdate(changed, pod)

		if !reflect.DeepEqual(before, pod) {
			t.Fatalf("validation modified its input")
		}
	})
}
