package apiserver

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/apis/defaults"
	"github.com/orca-pods/orca/internal/apis/qos"
	"github.com/orca-pods/orca/internal/apis/validation"
	"github.com/orca-pods/orca/internal/printers"
)

// FuzzPodDecodeDefaultValidate feeds arbitrary bytes through what a pod
// create does before storage — decode (JSON or YAML) with defaulting, QoS,
// validation, an update against itself — and through the table printer.
// None of it may panic.
//
//	go test -run '^$' -fuzz FuzzPodDecodeDefaultValidate ./internal/apiserver/
func FuzzPodDecodeDefaultValidate(f *testing.F) {
	for _, seed := range []string{
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`,
		"apiVersion: v1\nkind: Pod\nmetadata:\n  name: web-logger\nspec:\n  volumes:\n  - name: html\n    emptyDir: {}\n  containers:\n  - name: nginx\n    image: nginx:alpine\n    volumeMounts:\n    - name: html\n      mountPath: /usr/share/nginx/html\n",
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"r"},"spec":{"initContainers":[{"name":"i","image":"x","restartPolicy":"Always"}],"containers":[{"name":"c","image":"y","resources":{"limits":{"cpu":"1","memory":"1Gi"}},"livenessProbe":{"httpGet":{"port":"http"}}}]}}`,
		`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"s"},"status":{"phase":"Running","containerStatuses":[{"name":"c","state":{"waiting":{"reason":"CrashLoopBackOff"}},"restartCount":3}]}}`,
		`{"kind":"Pod"`,
	} {
		f.Add([]byte(seed))
	}
	scheme, codecs, err := NewScheme()
	if err != nil {
		f.Fatal(err)
	}
	defaults.Register(scheme)
	decoder := codecs.UniversalDecoder(corev1.SchemeGroupVersion)
	table := printers.For(corev1.Resource("pods"))
	f.Fuzz(func(t *testing.T, data []byte) {
		obj, _, err := decoder.Decode(data, nil, nil)
		if err != nil {
			return
		}
		pod, ok := obj.(*corev1.Pod)
		if !ok {
			return
		}
		pod.Status.QOSClass = qos.ComputePodQOS(pod)
		_ = validation.ValidatePodCreate(pod)
		_ = validation.ValidatePodUpdate(pod.DeepCopy(), pod)
		_ = validation.ValidatePodStatusUpdate(pod.DeepCopy(), pod)
		_, _ = table.ConvertToTable(context.Background(), pod, &metav1.TableOptions{})
	})
}
