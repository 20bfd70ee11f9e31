package linux

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/orca-pods/orca/internal/runtime"
)

// BenchmarkContainerStartToExit measures StartContainer of `true` until
// its exit is reported on Events (create and remove are outside the
// timer), and reports the median in ms; with the RuntimeDefault seccomp
// profile and without one.
func BenchmarkContainerStartToExit(b *testing.B) {
	e := newTestEnv(b)
	sb := e.sandbox("bench")
	for _, profile := range []string{"RuntimeDefault", "Unconfined"} {
		b.Run(profile, func(b *testing.B) {
			cfg := e.config("true", "true")
			cfg.Security.SeccompProfile = profile
			benchmarkStartToExit(b, e, sb, cfg)
		})
	}
}

func benchmarkStartToExit(b *testing.B, e *testEnv, sb *runtime.Sandbox, cfg runtime.ContainerConfig) {
	ctx := context.Background()
	var times []time.Duration
	for b.Loop() {
		b.StopTimer()
		id := e.create(sb, cfg)
		b.StartTimer()
		start := time.Now()
		if err := e.rt.StartContainer(ctx, id); err != nil {
			b.Fatal(err)
		}
		e.waitEvent(id, runtime.ContainerStarted, 10*time.Second)
		end := e.waitEvent(id, runtime.ContainerExited, 10*time.Second)
		times = append(times, end.Sub(start))
		b.StopTimer()
		if st := e.status(id); st.ExitCode != 0 {
			b.Fatalf("exit %d", st.ExitCode)
		}
		if err := e.rt.RemoveContainer(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	slices.Sort(times)
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-median")
}
