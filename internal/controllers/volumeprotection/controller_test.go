package volumeprotection

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes/fake"
)

func start(t *testing.T, objs ...runtime.Object) *fake.Clientset {
	t.Helper()
	client := fake.NewClientset(objs...)
	factory := informers.NewSharedInformerFactory(client, 0)
	c := New(client, factory, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; factory.Shutdown() })
	return client
}

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

func TestDeletedClaimIsKeptWhileARunningPodUsesIt(t *testing.T) {
	now := metav1.Now()
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "data",
		Finalizers: []string{"kubernetes.io/pvc-protection"}, DeletionTimestamp: &now}}
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "db"},
		Spec: corev1.PodSpec{NodeName: "n1", Volumes: []corev1.Volume{{Name: "v", VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data"}}}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning},
	}
	client := start(t, pvc, pod)
	ctx := context.Background()
	time.Sleep(300 * time.Millisecond)
	got, err := client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
	if err != nil || len(got.Finalizers) != 1 {
		t.Fatalf("claim in use lost its finalizer: %v %v", got, err)
	}
	// The pod finishing is enough.
	pod.Status.Phase = corev1.PodSucceeded
	if _, err := client.CoreV1().Pods("default").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "finalizer removed", func() bool {
		got, err := client.CoreV1().PersistentVolumeClaims("default").Get(ctx, "data", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && len(got.Finalizers) == 0)
	})
}

func TestDeletedVolumeIsKeptWhileBound(t *testing.T) {
	now := metav1.Now()
	pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv", Finalizers: []string{"kubernetes.io/pv-protection"}, DeletionTimestamp: &now},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound}}
	client := start(t, pv)
	ctx := context.Background()
	time.Sleep(300 * time.Millisecond)
	if got, _ := client.CoreV1().PersistentVolumes().Get(ctx, "pv", metav1.GetOptions{}); len(got.Finalizers) != 1 {
		t.Fatal("bound volume lost its finalizer")
	}
	pv.Status.Phase = corev1.VolumeReleased
	if _, err := client.CoreV1().PersistentVolumes().UpdateStatus(ctx, pv, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	eventually(t, "finalizer removed", func() bool {
		got, err := client.CoreV1().PersistentVolumes().Get(ctx, "pv", metav1.GetOptions{})
		return apierrors.IsNotFound(err) || (err == nil && len(got.Finalizers) == 0)
	})
}
