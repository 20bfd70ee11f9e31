package openapi

import (
	"sort"
	"strings"
	"testing"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/managedfields"
	openapinamer "k8s.io/apiserver/pkg/endpoints/openapi"
	genericapiserver "k8s.io/apiserver/pkg/server"
	"k8s.io/kube-openapi/pkg/builder"
	"k8s.io/kube-openapi/pkg/builder3"
	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

const (
	podName      = "io.k8s.api.core.v1.Pod"
	podSpecName  = "io.k8s.api.core.v1.PodSpec"
	objectMeta   = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
	leaseName    = "io.k8s.api.coordination.v1.Lease"
	extPatchKey  = "x-kubernetes-patch-merge-key"
	extPatchStr  = "x-kubernetes-patch-strategy"
	extGVK       = "x-kubernetes-group-version-kind"
	v2DefsPrefix = "#/definitions/"
)

// v2Ref is the reference callback used for the raw definitions; it matches
// what the v2 builder produces.
var v2Ref common.ReferenceCallback = func(name string) spec.Ref {
	return spec.MustCreateRef(v2DefsPrefix + name)
}

func stringExt(t *testing.T, s spec.Schema, key string) string {
	t.Helper()
	v, ok := s.Extensions.GetString(key)
	if !ok {
		t.Fatalf("extension %q missing or not a string; extensions: %v", key, s.Extensions)
	}
	return v
}

// The definitions map is keyed by the canonical OpenAPI model names
// (OpenAPIModelName(), from the +k8s:openapi-model-package tags of the k8s.io
// packages), not by Go import paths.
func TestDefinitionKeys(t *testing.T) {
	defs := GetOpenAPIDefinitions(v2Ref)
	for _, name := range []string{
		podName, podSpecName, objectMeta, leaseName,
		"io.k8s.apimachinery.pkg.apis.meta.v1.Time",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Status",
		"io.k8s.apimachinery.pkg.apis.meta.v1.Table",
		"io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent",
		"io.k8s.apimachinery.pkg.api.resource.Quantity",
		"io.k8s.apimachinery.pkg.util.intstr.IntOrString",
		"io.k8s.apimachinery.pkg.runtime.RawExtension",
		"io.k8s.apimachinery.pkg.version.Info",
		"io.k8s.api.scheduling.v1.PriorityClass",
		"io.k8s.api.events.v1.Event",
		"io.k8s.api.policy.v1.PodDisruptionBudget",
		"io.k8s.api.storage.v1.StorageClass",
		"io.k8s.api.authentication.v1.TokenReview",
		"io.k8s.api.authorization.v1.SubjectAccessReview",
		"io.k8s.api.node.v1.RuntimeClass",
		"io.k8s.api.discovery.v1.EndpointSlice",
	} {
		if _, ok := defs[name]; !ok {
			t.Errorf("definition %q missing", name)
		}
	}
	for name := range defs {
		if strings.Contains(name, "/") {
			t.Errorf("definition key %q looks like a Go import path, want a canonical model name", name)
		}
	}
}

// Every referenced definition must itself be defined, otherwise the builders
// fail at server start-up.
func TestDependenciesClosed(t *testing.T) {
	defs := GetOpenAPIDefinitions(v2Ref)
	var missing []string
	for name, def := range defs {
		for _, dep := range def.Dependencies {
			if _, ok := defs[dep]; !ok {
				missing = append(missing, name+" -> "+dep)
			}
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("dangling dependency: %s", m)
	}
}

func TestPodSpecPatchMetadata(t *testing.T) {
	defs := GetOpenAPIDefinitions(v2Ref)
	podSpec := defs[podSpecName].Schema
	containers, ok := podSpec.Properties["containers"]
	if !ok {
		t.Fatalf("PodSpec has no containers property")
	}
	if got := stringExt(t, containers, extPatchKey); got != "name" {
		t.Errorf("PodSpec.containers %s = %q, want %q", extPatchKey, got, "name")
	}
	if got := stringExt(t, containers, extPatchStr); got != "merge" {
		t.Errorf("PodSpec.containers %s = %q, want %q", extPatchStr, got, "merge")
	}
	if containers.Items == nil || containers.Items.Schema == nil {
		t.Fatalf("PodSpec.containers has no items schema")
	}
	if got, want := containers.Items.Schema.Ref.String(), v2DefsPrefix+"io.k8s.api.core.v1.Container"; got != want {
		t.Errorf("PodSpec.containers items ref = %q, want %q", got, want)
	}

	pod := defs[podName].Schema
	metadata := pod.Properties["metadata"]
	if got, want := metadata.Ref.String(), v2DefsPrefix+objectMeta; got != want {
		t.Errorf("Pod.metadata ref = %q, want %q", got, want)
	}
}

func newScheme(t *testing.T) *runtime.Scheme {
	t.Helper()
	scheme := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{corev1.AddToScheme, coordinationv1.AddToScheme} {
		if err := add(scheme); err != nil {
			t.Fatal(err)
		}
	}
	metav1.AddToGroupVersion(scheme, schema.GroupVersion{Version: "v1"})
	return scheme
}

func definitionNames(t *testing.T, scheme *runtime.Scheme, gvks ...schema.GroupVersionKind) []string {
	t.Helper()
	var names []string
	for _, gvk := range gvks {
		name, err := scheme.ToOpenAPIDefinitionName(gvk)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, name)
	}
	return names
}

var (
	podGVK   = corev1.SchemeGroupVersion.WithKind("Pod")
	leaseGVK = coordinationv1.SchemeGroupVersion.WithKind("Lease")
)

// Builds the v2 definitions the way the generic API server does
// (DefaultOpenAPIConfig + DefinitionNamer over the scheme).
func TestBuildV2(t *testing.T) {
	scheme := newScheme(t)
	names := definitionNames(t, scheme, podGVK, leaseGVK)
	if names[0] != podName || names[1] != leaseName {
		t.Fatalf("scheme definition names = %v, want [%s %s]", names, podName, leaseName)
	}

	config := genericapiserver.DefaultOpenAPIConfig(GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(scheme))
	swagger, err := builder.BuildOpenAPIDefinitionsForResources(config, names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{podName, podSpecName, objectMeta, leaseName, "io.k8s.api.core.v1.Container"} {
		if _, ok := swagger.Definitions[name]; !ok {
			t.Errorf("v2 spec lacks definition %q", name)
		}
	}
	pod := swagger.Definitions[podName]
	gvks, ok := pod.Extensions[extGVK].([]interface{})
	if !ok || len(gvks) != 1 {
		t.Fatalf("Pod %s = %#v, want one entry", extGVK, pod.Extensions[extGVK])
	}
	gvk, _ := gvks[0].(map[string]interface{})
	if gvk["group"] != "" || gvk["version"] != "v1" || gvk["kind"] != "Pod" {
		t.Errorf("Pod %s = %v", extGVK, gvk)
	}
	containers := swagger.Definitions[podSpecName].Properties["containers"]
	if got := stringExt(t, containers, extPatchKey); got != "name" {
		t.Errorf("v2 PodSpec.containers %s = %q, want name", extPatchKey, got)
	}
}

// Builds the v3 definitions and the server-side-apply type converter the way
// GenericAPIServer.getOpenAPIModels does.
func TestBuildV3AndTypeConverter(t *testing.T) {
	scheme := newScheme(t)
	names := definitionNames(t, scheme, podGVK, leaseGVK)
	config := genericapiserver.DefaultOpenAPIV3Config(GetOpenAPIDefinitions, openapinamer.NewDefinitionNamer(scheme))
	schemas, err := builder3.BuildOpenAPIDefinitionsForResources(config, names...)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{podName, podSpecName, objectMeta, leaseName} {
		if _, ok := schemas[name]; !ok {
			t.Errorf("v3 spec lacks schema %q", name)
		}
	}

	tc, err := managedfields.NewTypeConverter(schemas, false)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "default", Labels: map[string]string{"a": "b"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name:  "c",
			Image: "busybox",
			Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
		}}},
	}
	if _, err := tc.ObjectToTyped(pod); err != nil {
		t.Errorf("ObjectToTyped(Pod): %v", err)
	}
	lease := &coordinationv1.Lease{
		TypeMeta:   metav1.TypeMeta{APIVersion: "coordination.k8s.io/v1", Kind: "Lease"},
		ObjectMeta: metav1.ObjectMeta{Name: "l", Namespace: "default"},
	}
	if _, err := tc.ObjectToTyped(lease); err != nil {
		t.Errorf("ObjectToTyped(Lease): %v", err)
	}
}
