package validation

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

func meta(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "default", ResourceVersion: "1"}
}

func TestValidateConfigMap(t *testing.T) {
	expectErrors(t, ValidateConfigMap(&corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"app.conf": "x", "KEY_1": "y"}}))
	expectErrors(t, ValidateConfigMap(&corev1.ConfigMap{
		ObjectMeta: meta("cm"),
		Data:       map[string]string{"a/b": "x", "dup": "y"},
		BinaryData: map[string][]byte{"dup": []byte("z")},
	}),
		`data[a/b]: Invalid value: "a/b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
		`data[dup]: Invalid value: "dup": duplicate of key present in binaryData`,
	)
	expectErrors(t, ValidateConfigMap(&corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"big": strings.Repeat("x", corev1.MaxSecretSize+1)}}),
		"[]: Too long: may not be more than 1048576 bytes")
}

func TestValidateConfigMapUpdate(t *testing.T) {
	old := &corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"a": "1"}, Immutable: ptr.To(true)}
	updated := old.DeepCopy()
	updated.Data["a"] = "2"
	updated.Immutable = nil
	expectErrors(t, ValidateConfigMapUpdate(updated, old),
		"immutable: Forbidden: field is immutable when `immutable` is set",
		"data: Forbidden: field is immutable when `immutable` is set",
	)
	mutable := &corev1.ConfigMap{ObjectMeta: meta("cm"), Data: map[string]string{"a": "1"}}
	changed := mutable.DeepCopy()
	changed.Data["a"] = "2"
	expectErrors(t, ValidateConfigMapUpdate(changed, mutable))
}

func TestValidateSecret(t *testing.T) {
	cases := []struct {
		name   string
		secret corev1.Secret
		want   []string
	}{
		{name: "opaque", secret: corev1.Secret{Data: map[string][]byte{"password": []byte("x")}}},
		{
			name:   "dockerconfigjson missing key",
			secret: corev1.Secret{Type: corev1.SecretTypeDockerConfigJson},
			want:   []string{"data[.dockerconfigjson]: Required value"},
		},
		{
			name:   "dockerconfigjson not json",
			secret: corev1.Secret{Type: corev1.SecretTypeDockerConfigJson, Data: map[string][]byte{".dockerconfigjson": []byte("{")}},
			want:   []string{`data[.dockerconfigjson]: Invalid value: "<secret contents redacted>": unexpected end of JSON input`},
		},
		{
			name:   "tls",
			secret: corev1.Secret{Type: corev1.SecretTypeTLS, Data: map[string][]byte{"tls.crt": nil}},
			want:   []string{"data[tls.key]: Required value"},
		},
		{
			name:   "basic auth",
			secret: corev1.Secret{Type: corev1.SecretTypeBasicAuth},
			want:   []string{"data[username]: Required value", "data[password]: Required value"},
		},
		{
			name:   "service account token",
			secret: corev1.Secret{Type: corev1.SecretTypeServiceAccountToken},
			want:   []string{"metadata.annotations[kubernetes.io/service-account.name]: Required value"},
		},
		{
			name:   "ssh auth and bad key",
			secret: corev1.Secret{Type: corev1.SecretTypeSSHAuth, Data: map[string][]byte{"..x": nil}},
			want: []string{
				`data[..x]: Invalid value: "..x": must not start with '..'`,
				"data[ssh-privatekey]: Required value",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.secret.ObjectMeta = meta("s")
			expectErrors(t, ValidateSecret(&tc.secret), tc.want...)
		})
	}
}

func TestValidateSecretUpdate(t *testing.T) {
	old := &corev1.Secret{ObjectMeta: meta("s"), Type: corev1.SecretTypeOpaque, Data: map[string][]byte{"a": []byte("1")}, Immutable: ptr.To(true)}
	updated := old.DeepCopy()
	updated.Type = "example.com/other"
	updated.Data["a"] = []byte("2")
	expectErrors(t, ValidateSecretUpdate(updated, old),
		`type: Invalid value: "example.com/other": field is immutable`,
		"data: Forbidden: field is immutable when `immutable` is set",
	)
}

func TestValidateServiceAccountAndNamespace(t *testing.T) {
	expectErrors(t, ValidateServiceAccount(&corev1.ServiceAccount{ObjectMeta: meta("builder")}))
	expectErrors(t, ValidateServiceAccountUpdate(&corev1.ServiceAccount{ObjectMeta: meta("builder")}, &corev1.ServiceAccount{ObjectMeta: meta("builder")}))
	expectErrors(t, ValidateServiceAccount(&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "b"}}), "metadata.namespace: Required value")

	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", ResourceVersion: "1"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	expectErrors(t, ValidateNamespace(ns))
	expectErrors(t, ValidateNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team.a"}}), `metadata.name: Invalid value: "team.a": must not contain dots`)
	expectErrors(t, ValidateNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "b"}}), "metadata.namespace: Forbidden: not allowed on this type")
	expectErrors(t, ValidateNamespace(&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"custom"}}}),
		`spec.finalizers: Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified`)
	renamed := ns.DeepCopy()
	renamed.Name = "team-b"
	expectErrors(t, ValidateNamespaceUpdate(renamed, ns), `metadata.name: Invalid value: "team-b": field is immutable`)
}
