package validation

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
)

func TestValidatePodResources(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   []string
	}{
		{
			name: "hugepages need cpu or memory and whole pages",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Limits:   corev1.ResourceList{"hugepages-2Mi": qty("3Mi")},
					Requests: corev1.ResourceList{"hugepages-2Mi": qty("3Mi")},
				}
			},
			want: []string{
				`spec.containers[0].resources.limits[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
				`spec.containers[0].resources.requests[hugepages-2Mi]: Invalid value: "3Mi": 3Mi is not positive integer multiple of hugepages-2Mi`,
				"spec.containers[0].resources: Forbidden: HugePages require cpu or memory",
			},
		},
		{
			name: "extended resource needs a limit",
			mutate: func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{"example.com/fpga": qty("1")}
			},
			want: []string{"spec.containers[0].resources.limits: Required value: Limit must be set for non overcommitable resources"},
		},
		{
			name: "pod-level requests below containers",
			mutate: func(p *corev1.Pod) {
				p.Spec.Resources = &corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: qty("100m")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: qty("1")},
				}
				p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
					Requests: corev1.ResourceList{corev1.ResourceCPU: qty("200m")},
					Limits:   corev1.ResourceList{corev1.ResourceCPU: qty("2")},
				}
			},
			want: []string{
				`spec.resources.requests[cpu]: Invalid value: "100m": must be greater than or equal to aggregate container requests of 200m`,
				`spec.resources.containers[0][cpu].limits: Invalid value: "2": must be less than or equal to pod limits of 1`,
			},
		},
		{
			name: "pod-level unsupported resource",
			mutate: func(p *corev1.Pod) {
				p.Spec.Resources = &corev1.ResourceRequirements{Limits: corev1.ResourceList{corev1.ResourceEphemeralStorage: qty("1Gi")}}
			},
			want: []string{`spec.resources.limits[ephemeral-storage]: Unsupported value: "ephemeral-storage": supported values: "cpu", "hugepages-", "memory"`},
		},
		{
			name: "resource claims",
			mutate: func(p *corev1.Pod) {
				p.Spec.ResourceClaims = []corev1.PodResourceClaim{{Name: "gpu", ResourceClaimTemplateName: ptr.To("gpu-template")}, {Name: "both"}}
				p.Spec.Containers[0].Resources.Claims = []corev1.ResourceClaim{{Name: "gpu"}, {Name: "gpu"}, {Name: "nope"}}
			},
			want: []string{
				`spec.resourceClaims[1]: Invalid value: {"name":"both"}: must specify one of: ` + "`resourceClaimName`, `resourceClaimTemplateName`",
				`spec.containers[0].resources.claims[1]: Duplicate value: "gpu"`,
				`spec.containers[0].resources.claims[2]: Not found: "nope": must be one of the names in pod.spec.resourceClaims: both, gpu`,
			},
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
