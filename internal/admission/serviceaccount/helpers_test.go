package serviceaccount

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

// newPlugin wires a plugin to a fake clientset holding objs and waits for
// its informer, the way the server's factory would be started. Retries of
// the default account lookup do not sleep, and the token volume is always
// kube-api-access-xxxxx.
func newPlugin(t *testing.T, objs ...runtime.Object) (*Plugin, *fake.Clientset) {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	s := NewPlugin()
	s.retryInterval = func() time.Duration { return 0 }
	s.generateName = func(base string) string { return base + "xxxxx" }
	s.SetExternalKubeClientSet(client)
	s.SetExternalKubeInformerFactory(factory)
	if err := s.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	factory.Start(ctx.Done())
	t.Cleanup(factory.Shutdown)
	for typ, ok := range factory.WaitForCacheSync(ctx.Done()) {
		if !ok {
			t.Fatalf("informer for %v did not sync", typ)
		}
	}
	client.ClearActions()
	return s, client
}

// gets counts the live ServiceAccount GETs the plugin made.
func gets(client *fake.Clientset) int {
	n := 0
	for _, a := range client.Actions() {
		if a.Matches("get", "serviceaccounts") {
			n++
		}
	}
	return n
}

func account(name string, mutate ...func(*corev1.ServiceAccount)) *corev1.ServiceAccount {
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name}}
	for _, m := range mutate {
		m(sa)
	}
	return sa
}

// enforcing marks an account as limiting its pods to the secrets it lists.
func enforcing(secrets ...string) func(*corev1.ServiceAccount) {
	return func(sa *corev1.ServiceAccount) {
		sa.Annotations = map[string]string{EnforceMountableSecretsAnnotation: "true"}
		for _, s := range secrets {
			sa.Secrets = append(sa.Secrets, corev1.ObjectReference{Name: s})
		}
	}
}

func pod(mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "c", Image: "i"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func withAccount(name string) func(*corev1.Pod) {
	return func(p *corev1.Pod) { p.Spec.ServiceAccountName = name }
}

func mirror(p *corev1.Pod) {
	p.Annotations = map[string]string{corev1.MirrorPodAnnotationKey: "hash"}
	p.Spec.NodeName = "node"
}

func withVolume(source corev1.VolumeSource) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "v", VolumeSource: source})
	}
}

func secretVolume(name string) corev1.VolumeSource {
	return corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: name}}
}

func secretEnv(name string) corev1.EnvVar {
	return corev1.EnvVar{Name: "E", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: name}, Key: "k"},
	}}
}

func secretEnvFrom(name string) corev1.EnvFromSource {
	return corev1.EnvFromSource{SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: name}}}
}

func pullSecrets(names ...string) []corev1.LocalObjectReference {
	var refs []corev1.LocalObjectReference
	for _, n := range names {
		refs = append(refs, corev1.LocalObjectReference{Name: n})
	}
	return refs
}

func attrs(obj, old runtime.Object, resource, subresource string, op admission.Operation) admission.Attributes {
	var ns, name string
	if m, ok := obj.(metav1.Object); ok {
		ns, name = m.GetNamespace(), m.GetName()
	}
	return admission.NewAttributesRecord(obj, old, corev1.SchemeGroupVersion.WithKind("Pod"), ns, name,
		corev1.SchemeGroupVersion.WithResource(resource), subresource, op, nil, false, nil)
}

func create(p *corev1.Pod) admission.Attributes {
	return attrs(p, nil, "pods", "", admission.Create)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// mounted is what Admit does to a pod that automounts its token: the
// kube-api-access volume, mounted in each of its containers.
func mounted(p *corev1.Pod) {
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{
		Name: "kube-api-access-xxxxx", VolumeSource: corev1.VolumeSource{Projected: TokenVolumeSource()},
	})
	m := corev1.VolumeMount{Name: "kube-api-access-xxxxx", ReadOnly: true, MountPath: DefaultAPITokenMountPath}
	for i := range p.Spec.InitContainers {
		p.Spec.InitContainers[i].VolumeMounts = append(p.Spec.InitContainers[i].VolumeMounts, m)
	}
	for i := range p.Spec.Containers {
		p.Spec.Containers[i].VolumeMounts = append(p.Spec.Containers[i].VolumeMounts, m)
	}
}
