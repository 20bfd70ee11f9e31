package e2e

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/test/e2e/framework"
)

func TestDeletingANamespaceEmptiesItThenRemovesIt(t *testing.T) {
	s := framework.StartServer(t)
	client := s.Client()
	ctx := context.Background()
	k := framework.NewKubectl(t, s, framework.KubectlVersions[0])
	k.MustRun("", "create", "namespace", "doomed")
	k.MustRun(podYAML("p", "a"), "apply", "-n", "doomed", "-f", "-")
	k.MustRun("", "create", "configmap", "c", "-n", "doomed", "--from-literal=a=b")

	// A finalizer of our own holds the namespace in Terminating long enough
	// to observe that phase.
	cm, err := client.CoreV1().ConfigMaps("doomed").Get(ctx, "c", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cm.Finalizers = []string{"e2e.orca/hold"}
	if _, err := client.CoreV1().ConfigMaps("doomed").Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	k.MustRun("", "delete", "namespace", "doomed", "--wait=false")
	framework.Eventually(t, 10*time.Second, "namespace Terminating", func() bool {
		return regexp.MustCompile(`(?m)^doomed\s+Terminating\s+`).MatchString(k.MustRun("", "get", "ns", "doomed"))
	})
	_, err = client.CoreV1().ConfigMaps("doomed").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "late"}}, metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), "because it is being terminated") {
		t.Fatalf("create in a terminating namespace: %v", err)
	}
	if r := k.Run("", "delete", "namespace", "default"); r.ExitCode == 0 || !strings.Contains(r.Stderr, "forbidden") {
		t.Fatalf("deleting the default namespace must be refused: %+v", r)
	}

	k.MustRun("", "patch", "configmap", "c", "-n", "doomed", "--type=merge", "-p", `{"metadata":{"finalizers":null}}`)
	framework.Eventually(t, 20*time.Second, "namespace gone", func() bool {
		_, err := client.CoreV1().Namespaces().Get(ctx, "doomed", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	})
}
