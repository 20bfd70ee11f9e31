package localpath

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/tools/record"
	storagehelpers "k8s.io/component-helpers/storage/volume"
	"k8s.io/utils/ptr"
)

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for %s", what)
}

func TestProvisionsOnItsNodeAndDeletesWhenReleased(t *testing.T) {
	class := &storagev1.StorageClass{ObjectMeta: metav1.ObjectMeta{Name: "orca-local"}, Provisioner: "orca.io/local-path",
		ReclaimPolicy: ptr.To(corev1.PersistentVolumeReclaimDelete)}
	claim := func(name, node string) *corev1.PersistentVolumeClaim {
		return &corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name), Annotations: map[string]string{
				storagehelpers.AnnStorageProvisioner: "orca.io/local-path", storagehelpers.AnnSelectedNode: node}},
			Spec: corev1.PersistentVolumeClaimSpec{
				StorageClassName: ptr.To("orca-local"),
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
			},
		}
	}
	client := fake.NewClientset(class, claim("mine", "node-a"), claim("theirs", "node-b"))
	dir := t.TempDir()
	recorder := record.NewFakeRecorder(100)
	p := New(Config{Client: client, NodeName: "node-a", Dir: dir, Recorder: recorder, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	volumes := client.CoreV1().PersistentVolumes()
	var pv *corev1.PersistentVolume
	eventually(t, "volume provisioned", func() bool {
		var err error
		pv, err = volumes.Get(ctx, "pvc-uid-mine", metav1.GetOptions{})
		return err == nil
	})
	path := filepath.Join(dir, "pvc-uid-mine")
	if fi, err := os.Stat(path); err != nil || !fi.IsDir() || fi.Mode().Perm() != 0o777 {
		t.Fatalf("directory %s: %v %v", path, fi, err)
	}
	if pv.Spec.HostPath == nil || pv.Spec.HostPath.Path != path || *pv.Spec.HostPath.Type != corev1.HostPathDirectoryOrCreate ||
		NodeOf(pv) != "node-a" || pv.Spec.ClaimRef == nil || pv.Spec.ClaimRef.UID != "uid-mine" ||
		pv.Spec.PersistentVolumeReclaimPolicy != corev1.PersistentVolumeReclaimDelete || pv.Spec.StorageClassName != "orca-local" {
		t.Fatalf("provisioned volume: %+v", pv.Spec)
	}
	if got := pv.Spec.Capacity[corev1.ResourceStorage]; got.String() != "1Gi" {
		t.Fatalf("capacity %s", got.String())
	}
	if _, err := volumes.Get(ctx, "pvc-uid-theirs", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("provisioned another node's claim: %v", err)
	}

	// Released with reclaim policy Delete: directory, then volume, go.
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := volumes.UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "volume deleted", func() bool {
		_, err := volumes.Get(ctx, pv.Name, metav1.GetOptions{})
		_, statErr := os.Stat(path)
		return apierrors.IsNotFound(err) && os.IsNotExist(statErr)
	})
}
