package qos

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

func res(req, lim map[corev1.ResourceName]string) corev1.ResourceRequirements {
	r := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for k, v := range req {
		r.Requests[k] = resource.MustParse(v)
	}
	for k, v := range lim {
		r.Limits[k] = resource.MustParse(v)
	}
	return r
}

func TestComputePodQOSFollowsTheDecisionTree(t *testing.T) {
	cpu, mem := corev1.ResourceCPU, corev1.ResourceMemory
	cases := []struct {
		name string
		rs   []corev1.ResourceRequirements
		want corev1.PodQOSClass
	}{
		{"nothing set", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"requests equal limits for cpu and memory", []corev1.ResourceRequirements{res(map[corev1.ResourceName]string{cpu: "500m", mem: "256Mi"}, map[corev1.ResourceName]string{cpu: "500m", mem: "256Mi"})}, corev1.PodQOSGuaranteed},
		// The seed's "Try It Now": memory equal, CPU request below limit.
		{"cpu request below limit", []corev1.ResourceRequirements{res(map[corev1.ResourceName]string{cpu: "250m", mem: "512Mi"}, map[corev1.ResourceName]string{cpu: "500m", mem: "512Mi"})}, corev1.PodQOSBurstable},
		{"only a memory limit", []corev1.ResourceRequirements{res(nil, map[corev1.ResourceName]string{mem: "50Mi"})}, corev1.PodQOSBurstable},
		{"one guaranteed container and one best effort", []corev1.ResourceRequirements{res(map[corev1.ResourceName]string{cpu: "1", mem: "1Gi"}, map[corev1.ResourceName]string{cpu: "1", mem: "1Gi"}), {}}, corev1.PodQOSBurstable},
		{"zero quantities count as unset", []corev1.ResourceRequirements{res(map[corev1.ResourceName]string{cpu: "0"}, nil)}, corev1.PodQOSBestEffort},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{}
			for _, r := range tc.rs {
				pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Resources: r})
			}
			if got := ComputePodQOS(pod); got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}
