package e2e

import (
	"context"
	"io"
	"log/slog"
	"strconv"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/storage"
	"github.com/orca-pods/orca/test/e2e/framework"
)

// An external etcd here is a second embedded member started by the test
// itself, so orca's --etcd-servers path talks to a real etcd it does not own.
func TestServerUsesAnExternalEtcdAndKeepsObjectsThere(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	etcd, err := storage.Start(ctx, storage.Config{
		DataDir:    t.TempDir(),
		ClientPort: framework.FreePort(t),
		PeerPort:   framework.FreePort(t),
		Logger:     slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer etcd.Close()

	s := framework.StartServer(t, "--etcd-servers", etcd.Endpoints[0])
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "outside"}, Data: map[string]string{"k": "v"}}
	if _, err := s.Client().CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Stop()

	// A second server with a fresh data dir but the same etcd sees it.
	other := framework.StartServer(t, "--etcd-servers", etcd.Endpoints[0])
	got, err := other.Client().CoreV1().ConfigMaps("default").Get(ctx, "outside", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("object not found through the external etcd: %v", err)
	}
	if got.Data["k"] != "v" {
		t.Fatalf("data = %v", got.Data)
	}
	if _, err := strconv.Atoi(got.ResourceVersion); err != nil {
		t.Fatalf("resourceVersion %q is not an etcd revision", got.ResourceVersion)
	}
}
