package rootcacert

import (
	"context"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

const pem = "-----BEGIN CERTIFICATE-----\nabc\n-----END CERTIFICATE-----\n"

func namespace(name string, phase corev1.NamespacePhase) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NamespaceStatus{Phase: phase}}
}

// waitFor polls the ConfigMap in ns until ok accepts it (nil: missing).
func waitFor(t *testing.T, client *fake.Clientset, ns string, ok func(*corev1.ConfigMap) bool) {
	t.Helper()
	err := wait.PollUntilContextTimeout(t.Context(), 10*time.Millisecond, 5*time.Second, true, func(ctx context.Context) (bool, error) {
		cm, err := client.CoreV1().ConfigMaps(ns).Get(ctx, ConfigMapName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return ok(nil), nil
		}
		return err == nil && ok(cm), err
	})
	if err != nil {
		t.Fatalf("ConfigMap %s/%s never reached the wanted state: %v", ns, ConfigMapName, err)
	}
}

func published(cm *corev1.ConfigMap) bool {
	return cm != nil && cm.Data[Key] == pem && cm.Annotations[descriptionAnnotation] == description && len(cm.Data) == 1
}

func TestPublisherKeepsTheCAInEveryActiveNamespace(t *testing.T) {
	client := fake.NewClientset(namespace("default", corev1.NamespaceActive), namespace("going", corev1.NamespaceTerminating))
	factory := informers.NewSharedInformerFactory(client, 0)
	p := New(client, factory, []byte(pem), slog.Default())
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; factory.Shutdown() })

	waitFor(t, client, "default", published)

	// A new namespace gets one.
	if _, err := client.CoreV1().Namespaces().Create(t.Context(), namespace("team", corev1.NamespaceActive), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, client, "team", published)

	// Edits are undone.
	cm, err := client.CoreV1().ConfigMaps("team").Get(t.Context(), ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Data = map[string]string{Key: "forged", "extra": "x"}
	if _, err := client.CoreV1().ConfigMaps("team").Update(t.Context(), cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, client, "team", published)

	// A deleted one comes back.
	if err := client.CoreV1().ConfigMaps("team").Delete(t.Context(), ConfigMapName, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, client, "team", published)

	// A terminating namespace gets none.
	if _, err := client.CoreV1().ConfigMaps("going").Get(t.Context(), ConfigMapName, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("terminating namespace: get = %v, want NotFound", err)
	}
}
