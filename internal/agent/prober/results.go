package prober

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/types"
)

// ProbeType is one of a container's three probes.
type ProbeType int

const (
	LivenessProbe ProbeType = iota
	ReadinessProbe
	StartupProbe
	numProbeTypes
)

// String is the capitalized form the kubelet puts in event messages
// ("Readiness probe failed: ...").
func (t ProbeType) String() string {
	switch t {
	case LivenessProbe:
		return "Liveness"
	case ReadinessProbe:
		return "Readiness"
	case StartupProbe:
		return "Startup"
	default:
		return "Unknown"
	}
}

// Result is the cached outcome of a probe for one container instance,
// after thresholds are applied.
type Result int

const (
	// Unknown: no decision yet (the startup probe's initial value).
	Unknown Result = iota
	Success
	Failure
)

func (r Result) String() string {
	switch r {
	case Success:
		return "Success"
	case Failure:
		return "Failure"
	default:
		return "Unknown"
	}
}

// initialResult is what a probe reports for a new container before its
// first decision: not ready, alive, not yet known to have started.
func initialResult(t ProbeType) Result {
	switch t {
	case ReadinessProbe:
		return Failure
	case LivenessProbe:
		return Success
	default:
		return Unknown
	}
}

// Update says that a probe result of a running container changed; the pod
// worker should re-sync the pod (report ready/started, and kill the
// container when ProbeFailure says so).
type Update struct {
	PodUID        types.UID
	ContainerName string
	ContainerID   string
	Probe         ProbeType
	Result        Result
}

// updateQueue hands updates to the consumer in order without ever
// blocking a probe worker: a slow or absent reader must not stall probing.
type updateQueue struct {
	mu      sync.Mutex
	pending []Update
	kick    chan struct{}
	out     chan Update
}

func newUpdateQueue() *updateQueue {
	return &updateQueue{kick: make(chan struct{}, 1), out: make(chan Update)}
}

func (q *updateQueue) push(u Update) {
	q.mu.Lock()
	q.pending = append(q.pending, u)
	q.mu.Unlock()
	select {
	case q.kick <- struct{}{}:
	default:
	}
}

// run delivers queued updates until ctx ends.
func (q *updateQueue) run(ctx context.Context) {
	for {
		q.mu.Lock()
		if len(q.pending) == 0 {
			q.mu.Unlock()
			select {
			case <-q.kick:
				continue
			case <-ctx.Done():
				return
			}
		}
		u := q.pending[0]
		q.pending[0] = Update{}
		q.pending = q.pending[1:]
		q.mu.Unlock()
		select {
		case q.out <- u:
		case <-ctx.Done():
			return
		}
	}
}
