package fake

import (
	"context"
	"sync"

	"github.com/orca-pods/orca/internal/runtime"
)

// eventQueue delivers events in order without ever blocking the sender,
// like the real runtime's.
type eventQueue struct {
	mu    sync.Mutex
	queue []runtime.Event
	wake  chan struct{}
	out   chan runtime.Event
}

func newEventQueue() *eventQueue {
	return &eventQueue{wake: make(chan struct{}, 1), out: make(chan runtime.Event)}
}

func (q *eventQueue) push(e runtime.Event) {
	q.mu.Lock()
	q.queue = append(q.queue, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *eventQueue) run(ctx context.Context) {
	defer close(q.out)
	for {
		q.mu.Lock()
		batch := q.queue
		q.queue = nil
		q.mu.Unlock()
		for _, e := range batch {
			select {
			case q.out <- e:
			case <-ctx.Done():
				return
			}
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return
		}
	}
}
