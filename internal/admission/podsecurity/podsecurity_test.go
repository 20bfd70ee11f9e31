package podsecurity

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apiserver/pkg/admission"
	"k8s.io/apiserver/pkg/audit"
	"k8s.io/apiserver/pkg/authentication/user"
	"k8s.io/apiserver/pkg/warning"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/utils/ptr"
)

// fakeNamespaces and fakePods stand in for the informer-backed getters.
type fakeNamespaces map[string]*corev1.Namespace

func (f fakeNamespaces) GetNamespace(_ context.Context, name string) (*corev1.Namespace, error) {
	if ns, ok := f[name]; ok {
		return ns, nil
	}
	return nil, apierrors.NewNotFound(corev1.Resource("namespaces"), name)
}

type fakePods []*corev1.Pod

func (f fakePods) ListPods(_ context.Context, namespace string) ([]*corev1.Pod, error) {
	var out []*corev1.Pod
	for _, p := range f {
		if p.Namespace == namespace {
			out = append(out, p)
		}
	}
	return out, nil
}

// warnings collects what the plugin would send as Warning headers.
type warnings []string

func (w *warnings) AddWarning(_, text string) { *w = append(*w, text) }

func newTestPlugin(t *testing.T, namespaces fakeNamespaces, pods fakePods) *Plugin {
	t.Helper()
	p, err := NewPlugin()
	if err != nil {
		t.Fatal(err)
	}
	p.delegate.NamespaceGetter = namespaces
	p.delegate.PodLister = pods
	if err := p.ValidateInitialization(); err != nil {
		t.Fatal(err)
	}
	return p
}

func namespace(name string, labels map[string]string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}
}

func pod(ns, name string, mutate ...func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "busybox"}}},
	}
	for _, m := range mutate {
		m(p)
	}
	return p
}

func privileged(p *corev1.Pod) {
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: ptr.To(true)}
}

func hostNetwork(p *corev1.Pod) { p.Spec.HostNetwork = true }

func restrictedCompliant(p *corev1.Pod) {
	p.Spec.SecurityContext = &corev1.PodSecurityContext{
		RunAsNonRoot:   ptr.To(true),
		RunAsUser:      ptr.To[int64](1000),
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
}

func podAttrs(obj, old *corev1.Pod, subresource string, op admission.Operation) admission.Attributes {
	var oldObj runtime.Object
	if old != nil {
		oldObj = old
	}
	return admission.NewAttributesRecord(obj, oldObj, corev1.SchemeGroupVersion.WithKind("Pod"),
		obj.Namespace, obj.Name, corev1.SchemeGroupVersion.WithResource("pods"), subresource, op,
		nil, false, &user.DefaultInfo{Name: "alice"})
}

func namespaceAttrs(obj, old *corev1.Namespace, op admission.Operation) admission.Attributes {
	var oldObj runtime.Object
	if old != nil {
		oldObj = old
	}
	// The apiserver reports a namespace's own name as the request namespace.
	return admission.NewAttributesRecord(obj, oldObj, corev1.SchemeGroupVersion.WithKind("Namespace"),
		obj.Name, obj.Name, corev1.SchemeGroupVersion.WithResource("namespaces"), "", op,
		nil, false, &user.DefaultInfo{Name: "alice"})
}

// validate runs the plugin the way the handler chain does, returning the
// warnings it recorded and its error.
func validate(t *testing.T, p *Plugin, a admission.Attributes) ([]string, error) {
	t.Helper()
	var w warnings
	ctx := warning.WithWarningRecorder(t.Context(), &w)
	if !p.Handles(a.GetOperation()) {
		return nil, nil
	}
	err := p.Validate(ctx, a, nil)
	return w, err
}

func TestEnforceRefusesWithKubernetesMessage(t *testing.T) {
	p := newTestPlugin(t, fakeNamespaces{"secure": namespace("secure", map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
	})}, nil)
	w, err := validate(t, p, podAttrs(pod("secure", "priv", privileged), nil, "", admission.Create))
	want := `pods "priv" is forbidden: violates PodSecurity "restricted:latest": ` +
		`privileged (container "app" must not set securityContext.privileged=true), ` +
		`allowPrivilegeEscalation != false (container "app" must set securityContext.allowPrivilegeEscalation=false), ` +
		`unrestricted capabilities (container "app" must set securityContext.capabilities.drop=["ALL"]), ` +
		`runAsNonRoot != true (pod or container "app" must set securityContext.runAsNonRoot=true), ` +
		`seccompProfile (pod or container "app" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`
	if err == nil || err.Error() != want {
		t.Fatalf("error:\n got %v\nwant %s", err, want)
	}
	var status apierrors.APIStatus
	if !errors.As(err, &status) || status.Status().Code != http.StatusForbidden || status.Status().Reason != metav1.StatusReasonForbidden {
		t.Fatalf("want a 403 Forbidden status, got %#v", err)
	}
	if len(w) != 0 {
		t.Errorf("a refused request carries no warnings, got %q", w)
	}

	if _, err := validate(t, p, podAttrs(pod("secure", "ok", restrictedCompliant), nil, "", admission.Create)); err != nil {
		t.Fatalf("compliant pod refused: %v", err)
	}
}

func TestEnforceVersionAndBaseline(t *testing.T) {
	p := newTestPlugin(t, fakeNamespaces{"b": namespace("b", map[string]string{
		"pod-security.kubernetes.io/enforce":         "baseline",
		"pod-security.kubernetes.io/enforce-version": "v1.25",
	})}, nil)
	_, err := validate(t, p, podAttrs(pod("b", "h", hostNetwork), nil, "", admission.Create))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `violates PodSecurity "baseline:v1.25": host namespaces (hostNetwork=true)`) {
		t.Fatalf("hostNetwork under baseline: %v", err)
	}
	// Baseline allows what only restricted forbids.
	if _, err := validate(t, p, podAttrs(pod("b", "plain"), nil, "", admission.Create)); err != nil {
		t.Fatalf("plain pod under baseline: %v", err)
	}
}

func TestWarnAndAudit(t *testing.T) {
	p := newTestPlugin(t, fakeNamespaces{"w": namespace("w", map[string]string{
		"pod-security.kubernetes.io/warn":  "baseline",
		"pod-security.kubernetes.io/audit": "restricted",
	})}, nil)
	var w warnings
	ctx := audit.WithAuditContext(warning.WithWarningRecorder(t.Context(), &w))
	if err := p.Validate(ctx, podAttrs(pod("w", "h", hostNetwork), nil, "", admission.Create), nil); err != nil {
		t.Fatalf("warn mode must not refuse: %v", err)
	}
	if diff := cmp.Diff(warnings{`would violate PodSecurity "baseline:latest": host namespaces (hostNetwork=true)`}, w); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	annotations := audit.AuditContextFrom(ctx).GetEventAnnotations()
	if got := annotations["pod-security.kubernetes.io/audit-violations"]; !strings.HasPrefix(got, `would violate PodSecurity "restricted:latest": host namespaces (hostNetwork=true)`) {
		t.Errorf("audit-violations annotation: %q (all: %v)", got, annotations)
	}
	if got := annotations["pod-security.kubernetes.io/enforce-policy"]; got != "privileged:latest" {
		t.Errorf("enforce-policy annotation: %q", got)
	}
}

func TestNamespaceRelabelWarnsAboutExistingPods(t *testing.T) {
	old := namespace("x", nil)
	relabelled := namespace("x", map[string]string{"pod-security.kubernetes.io/enforce": "restricted"})
	p := newTestPlugin(t, fakeNamespaces{"x": old}, fakePods{
		pod("x", "priv", privileged),
		pod("x", "ok", restrictedCompliant),
		pod("other", "elsewhere", privileged),
	})
	w, err := validate(t, p, namespaceAttrs(relabelled, old, admission.Update))
	if err != nil {
		t.Fatalf("relabel must be allowed: %v", err)
	}
	want := warnings{
		`existing pods in namespace "x" violate the new PodSecurity enforce level "restricted:latest"`,
		`priv: privileged, allowPrivilegeEscalation != false, unrestricted capabilities, runAsNonRoot != true, seccompProfile`,
	}
	if diff := cmp.Diff(want, warnings(w)); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}

	// Relaxing the level checks nothing.
	w, err = validate(t, p, namespaceAttrs(namespace("x", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}), relabelled, admission.Update))
	if err != nil || len(w) != 0 {
		t.Errorf("relaxing: err %v, warnings %q", err, w)
	}
}

func TestInvalidLabelsAreInvalid(t *testing.T) {
	p := newTestPlugin(t, fakeNamespaces{}, nil)
	_, err := validate(t, p, namespaceAttrs(namespace("bad", map[string]string{"pod-security.kubernetes.io/enforce": "strict"}), nil, admission.Create))
	if !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), `metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: "strict"`) {
		t.Fatalf("invalid level: %v", err)
	}
}

func TestPodUpdatesAndSubresources(t *testing.T) {
	p := newTestPlugin(t, fakeNamespaces{"secure": namespace("secure", map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted",
	})}, nil)
	// A pod admitted before the namespace was labelled may still change
	// what PodSecurity does not look at.
	old := pod("secure", "legacy", privileged)
	relabelled := old.DeepCopy()
	relabelled.Labels = map[string]string{"a": "b"}
	if _, err := validate(t, p, podAttrs(relabelled, old, "", admission.Update)); err != nil {
		t.Errorf("insignificant update refused: %v", err)
	}
	if _, err := validate(t, p, podAttrs(old, old, "status", admission.Update)); err != nil {
		t.Errorf("status update refused: %v", err)
	}

	// kubectl debug adds an ephemeral container; a privileged one is refused.
	running := pod("secure", "running", restrictedCompliant)
	debugged := running.DeepCopy()
	debugged.Spec.EphemeralContainers = []corev1.EphemeralContainer{{EphemeralContainerCommon: corev1.EphemeralContainerCommon{
		Name: "dbg", Image: "busybox", SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
	}}}
	_, err := validate(t, p, podAttrs(debugged, running, "ephemeralcontainers", admission.Update))
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), `privileged (container "dbg" must not set securityContext.privileged=true)`) {
		t.Fatalf("privileged ephemeral container: %v", err)
	}
}

func TestIgnoresOtherResourcesAndOperations(t *testing.T) {
	// No namespaces at all: anything the plugin evaluated would fail lookup.
	p := newTestPlugin(t, fakeNamespaces{}, nil)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "gone", Name: "c"}}
	a := admission.NewAttributesRecord(cm, nil, corev1.SchemeGroupVersion.WithKind("ConfigMap"), "gone", "c",
		corev1.SchemeGroupVersion.WithResource("configmaps"), "", admission.Create, nil, false, nil)
	if _, err := validate(t, p, a); err != nil {
		t.Errorf("configmap: %v", err)
	}
	if p.Handles(admission.Delete) || p.Handles(admission.Connect) {
		t.Error("only CREATE and UPDATE are handled")
	}
	// A pod whose namespace cannot be read is refused, not let through.
	_, err := validate(t, p, podAttrs(pod("gone", "p"), nil, "", admission.Create))
	if !apierrors.IsInternalError(err) || !strings.Contains(err.Error(), `failed to lookup namespace "gone"`) {
		t.Errorf("missing namespace: %v", err)
	}
}

// TestInformerWiring checks the production path: client and informer
// factory set, the namespace and pod caches feed the library.
func TestInformerWiring(t *testing.T) {
	client := fake.NewClientset(
		namespace("x", nil),
		pod("x", "priv", privileged),
	)
	factory := informers.NewSharedInformerFactory(client, 0)
	p, err := NewPlugin()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.ValidateInitialization(); err == nil {
		t.Fatal("ValidateInitialization must fail without API access")
	}
	p.SetExternalKubeClientSet(client)
	p.SetExternalKubeInformerFactory(factory)
	if err := p.ValidateInitialization(); err != nil {
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
	w, err := validate(t, p, namespaceAttrs(namespace("x", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}), namespace("x", nil), admission.Update))
	if err != nil || len(w) != 2 || !strings.HasPrefix(w[1], "priv: privileged") {
		t.Fatalf("relabel: err %v, warnings %q", err, w)
	}
	// A namespace created after the caches synced is found, by the client
	// if the informer has not caught up yet.
	if _, err := client.CoreV1().Namespaces().Create(ctx, namespace("fresh", map[string]string{"pod-security.kubernetes.io/enforce": "baseline"}), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = validate(t, p, podAttrs(pod("fresh", "h", hostNetwork), nil, "", admission.Create))
	if !apierrors.IsForbidden(err) {
		t.Fatalf("pod in a namespace only the client knows: %v", err)
	}
}
