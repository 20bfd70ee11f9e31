package bench

import (
	"testing"
	"time"

	"github.com/orca-pods/orca/test/e2e/framework"
)

// BenchmarkKubectlExecRoundTrip: wall time of `kubectl exec pod -- true`,
// kubectl's own start-up included, per kubectl version (SPDY for 1.27,
// WebSocket for 1.33); the median of 15 runs.
func BenchmarkKubectlExecRoundTrip(b *testing.B) {
	s := startNode(b)
	startOne(b, unthrottled(s), sleepPod("target"))
	for _, v := range framework.KubectlVersions {
		b.Run("kubectl-"+v, func(b *testing.B) {
			k := framework.NewKubectl(b, s, v)
			k.MustRun("", "exec", "target", "--", "true") // warm kubectl's discovery cache
			for i := 0; i < b.N; i++ {
				var ms []float64
				for r := 0; r < 15; r++ {
					start := time.Now()
					k.MustRun("", "exec", "target", "--", "true")
					ms = append(ms, float64(time.Since(start).Microseconds())/1000)
				}
				b.ReportMetric(median(ms), "ms(median)")
			}
		})
	}
}
