package stats

import (
	"sync"
	"time"
)

// minRateWindow is the shortest interval a CPU rate is computed over.
// Scrapes closer together than this reuse the last rate: over a few
// milliseconds the counters' granularity (10ms ticks in /proc/stat,
// scheduler accounting in cgroups) would make the rate mostly noise.
const minRateWindow = time.Second

// rateTracker turns cumulative CPU counters into rates, remembering the
// previous sample of each cgroup as cAdvisor does between housekeeping
// rounds.
type rateTracker struct {
	mu      sync.Mutex
	samples map[string]cpuSample
}

type cpuSample struct {
	usage uint64 // core-nanoseconds
	at    time.Time
	rate  *uint64 // nanocores over the window that ended at this sample
}

func newRateTracker() *rateTracker {
	return &rateTracker{samples: map[string]cpuSample{}}
}

// observe records usage seen at time at for key and returns the rate in
// nanocores since the previous sample, or nil when there is none yet.
func (t *rateTracker) observe(key string, usage uint64, at time.Time) *uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	prev, ok := t.samples[key]
	switch {
	case !ok, usage < prev.usage, at.Before(prev.at):
		// New cgroup, or a counter that went back (cgroup recreated
		// under the same path) or a clock that did: start over.
		t.samples[key] = cpuSample{usage: usage, at: at}
		return nil
	case at.Sub(prev.at) < minRateWindow:
		// Keep the older baseline so the next window is long enough.
		if prev.rate == nil {
			return nil
		}
		return ptr(*prev.rate)
	}
	rate := nanoCores(usage-prev.usage, at.Sub(prev.at))
	t.samples[key] = cpuSample{usage: usage, at: at, rate: &rate}
	return ptr(rate)
}

// nanoCores is CPU time used over a wall-clock interval, in billionths of
// a core: 1e9 is one core busy for the whole interval.
func nanoCores(used uint64, over time.Duration) uint64 {
	if over <= 0 {
		return 0
	}
	return uint64(float64(used) / float64(over.Nanoseconds()) * 1e9)
}

// retain forgets every key not in keep, so cgroups of gone pods and
// containers do not accumulate.
func (t *rateTracker) retain(keep map[string]bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k := range t.samples {
		if !keep[k] {
			delete(t.samples, k)
		}
	}
}
