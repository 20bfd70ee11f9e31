package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/orca-pods/orca/internal/testimages"
	"github.com/orca-pods/orca/test/e2e/framework"
)

// BenchmarkPortForwardThroughput: one 200 MB HTTP download through
// kubectl port-forward (kubectl -> API server -> agent -> pod, all on
// loopback), per kubectl version; the median of runs downloads in MB/s.
func BenchmarkPortForwardThroughput(b *testing.B) {
	s := startNode(b)
	client := unthrottled(s)
	ctx := context.Background()
	grace := int64(1)
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "source"},
		Spec: corev1.PodSpec{
			TerminationGracePeriodSeconds: &grace,
			Containers:                    []corev1.Container{{Name: "app", Image: testimages.TestApp, ImagePullPolicy: corev1.PullIfNotPresent}},
		},
	}
	startOne(b, client, pod)
	const size = 200 << 20
	for _, v := range framework.KubectlVersions {
		b.Run("kubectl-"+v, func(b *testing.B) {
			k := framework.NewKubectl(b, s, v)
			port := framework.FreePort(b)
			out, stop := k.Start("port-forward", "pod/source", fmt.Sprintf("%d:8080", port))
			defer stop()
			framework.WaitForOutput(b, out, fmt.Sprintf("Forwarding from 127.0.0.1:%d -> 8080", port), 15*time.Second)
			url := fmt.Sprintf("http://127.0.0.1:%d/bytes?n=%d", port, size)
			for i := 0; i < b.N; i++ {
				var mbs []float64
				for r := 0; r < runs; r++ {
					start := time.Now()
					n := download(b, ctx, url)
					if n != size {
						b.Fatalf("downloaded %d bytes, want %d", n, size)
					}
					mbs = append(mbs, float64(size)/1e6/time.Since(start).Seconds())
				}
				b.ReportMetric(median(mbs), "MB/s(median)")
			}
		})
	}
}

func download(b *testing.B, ctx context.Context, url string) int64 {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if err != nil {
		b.Fatal(err)
	}
	return n
}
