package pods

import (
	"context"
	"encoding/json"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// report patches pods/status when the computed status differs from what was
// last sent (the kubelet's status manager). The patch carries the pod's UID
// so it cannot land on a new pod of the same name.
func (w *worker) report(ctx context.Context, pod *corev1.Pod, status corev1.PodStatus) {
	if w.state.lastSent != nil && apiequality.Semantic.DeepEqual(*w.state.lastSent, status) {
		return
	}
	patch, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"uid": pod.UID},
		"status":   status,
	})
	if err != nil {
		w.log.Error("encode status patch", "err", err)
		return
	}
	_, err = w.m.cfg.Client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.StrategicMergePatchType, patch, metav1.PatchOptions{}, "status")
	if err != nil {
		w.log.Debug("patch pod status", "err", err)
		return
	}
	w.state.lastSent = &status
}
