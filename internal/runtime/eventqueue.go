package runtime

import (
	"context"
	"sync"
)

// EventQueue decouples the goroutines that observe container changes from
// the consumer of Events: Push never blocks, order is kept, nothing is
// dropped. Runtimes own one and return Out from their Events method.
type EventQueue struct {
	mu    sync.Mutex
	queue []Event
	wake  chan struct{}
	out   chan Event
}

// NewEventQueue returns an empty queue; Run delivers its events.
func NewEventQueue() *EventQueue {
	return &EventQueue{wake: make(chan struct{}, 1), out: make(chan Event)}
}

// Push queues e for delivery.
func (q *EventQueue) Push(e Event) {
	q.mu.Lock()
	q.queue = append(q.queue, e)
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Out is the channel events are delivered on; it closes when Run returns.
func (q *EventQueue) Out() <-chan Event { return q.out }

// Run delivers queued events in order until ctx ends.
func (q *EventQueue) Run(ctx context.Context) {
	defer close(q.out)
	for {
		q.mu.Lock()
		batch := q.queue
		q.queue = nil
		q.mu.Unlock()
		for i, e := range batch {
			select {
			case q.out <- e:
			case <-ctx.Done():
				return
			}
			batch[i] = Event{}
		}
		select {
		case <-q.wake:
		case <-ctx.Done():
			return
		}
	}
}
