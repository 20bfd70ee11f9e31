package containers

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/orca-pods/orca/internal/runtime"
)

func TestCommandCombinesImageAndPodAsKubernetesDoes(t *testing.T) {
	img := Image{Entrypoint: []string{"/ep"}, Cmd: []string{"default", "args"}}
	none := func(string) (string, bool) { return "", false }
	cases := []struct {
		name          string
		command, args []string
		want          []string
	}{
		{"image defaults when both blank", nil, nil, []string{"/ep", "default", "args"}},
		{"args replace CMD only", nil, []string{"a"}, []string{"/ep", "a"}},
		{"command replaces ENTRYPOINT and drops CMD", []string{"/bin/x"}, nil, []string{"/bin/x"}},
		{"command and args override both", []string{"/bin/x"}, []string{"y"}, []string{"/bin/x", "y"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Command(&corev1.Container{Command: tc.command, Args: tc.args}, img, none)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestEnvIsComposedAndExpandedInOrder(t *testing.T) {
	pod := &corev1.Pod{}
	c := &corev1.Container{Name: "app", Command: []string{"echo", "$(GREETING)", "$$(GREETING)"}}
	cfg := Build(Input{
		Pod: pod, Container: c,
		Image: Image{Env: []string{"PATH=/bin", "GREETING=image"}},
		Env: []corev1.EnvVar{
			{Name: "NAME", Value: "orca"},
			{Name: "GREETING", Value: "hello $(NAME)"},
			{Name: "LATER", Value: "$(UNDEFINED)"},
		},
		LogDir: "/var/log/pods",
	})
	if want := []string{"PATH=/bin", "GREETING=hello orca", "NAME=orca", "LATER=$(UNDEFINED)"}; !reflect.DeepEqual(cfg.Env, want) {
		t.Fatalf("env = %q, want %q", cfg.Env, want)
	}
	if want := []string{"echo", "hello orca", "$(GREETING)"}; !reflect.DeepEqual(cfg.Args, want) {
		t.Fatalf("args = %q, want %q", cfg.Args, want)
	}
}

func TestResourcesFollowTheKubeletsCgroupMath(t *testing.T) {
	c := &corev1.Container{Resources: corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m"), corev1.ResourceMemory: resource.MustParse("512Mi")},
	}}
	pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{*c}}}
	r := Resources(pod, c, 4<<30)
	if r.CPUShares != 256 || r.CPUQuota != 50000 || r.CPUPeriod != 100000 || r.MemoryLimitBytes != 512<<20 {
		t.Fatalf("got %+v", r)
	}
	// Burstable: 1000 - 1000*512Mi/4Gi = 875.
	if r.OOMScoreAdj != 875 {
		t.Fatalf("oom_score_adj = %d, want 875", r.OOMScoreAdj)
	}
	be := &corev1.Container{}
	if got := Resources(&corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{*be}}}, be, 4<<30); got.CPUShares != 2 || got.OOMScoreAdj != 1000 {
		t.Fatalf("best effort: %+v", got)
	}
}

func TestPodResourcesSizeThePodCgroupAsTheKubelet(t *testing.T) {
	ctr := func(req, lim corev1.ResourceList) corev1.Container {
		return corev1.Container{Name: "c", Resources: corev1.ResourceRequirements{Requests: req, Limits: lim}}
	}
	rl := func(cpu, mem string) corev1.ResourceList {
		l := corev1.ResourceList{}
		if cpu != "" {
			l[corev1.ResourceCPU] = resource.MustParse(cpu)
		}
		if mem != "" {
			l[corev1.ResourceMemory] = resource.MustParse(mem)
		}
		return l
	}
	for name, tc := range map[string]struct {
		containers []corev1.Container
		want       runtime.Resources
	}{
		"best effort": {[]corev1.Container{ctr(nil, nil)}, runtime.Resources{CPUShares: 2, CPUPeriod: 100000, PidsLimit: 64}},
		"guaranteed sums": {[]corev1.Container{ctr(rl("500m", "64Mi"), rl("500m", "64Mi")), ctr(rl("250m", "32Mi"), rl("250m", "32Mi"))},
			runtime.Resources{CPUShares: 768, CPUQuota: 75000, CPUPeriod: 100000, MemoryLimitBytes: 96 << 20, PidsLimit: 64}},
		"burstable with one unlimited container": {[]corev1.Container{ctr(rl("100m", ""), rl("1", "50Mi")), ctr(rl("100m", ""), nil)},
			runtime.Resources{CPUShares: 204, CPUPeriod: 100000, PidsLimit: 64}},
	} {
		t.Run(name, func(t *testing.T) {
			pod := &corev1.Pod{Spec: corev1.PodSpec{Containers: tc.containers}}
			if got := PodResources(pod, 64); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}
