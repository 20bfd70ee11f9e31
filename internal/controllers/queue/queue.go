// Package queue holds the work loop every orca controller shares: take a
// key, sync it, retry it with the queue's back-off on error.
package queue

import (
	"context"
	"log/slog"

	"k8s.io/client-go/util/workqueue"
)

// Work processes keys from q with sync until q shuts down. A failed key is
// logged at debug level as what and retried with q's rate limiter.
func Work(ctx context.Context, q workqueue.TypedRateLimitingInterface[string], sync func(context.Context, string) error, log *slog.Logger, what string) {
	for {
		key, quit := q.Get()
		if quit {
			return
		}
		if err := sync(ctx, key); err != nil {
			log.Debug(what, "key", key, "err", err)
			q.AddRateLimited(key)
		} else {
			q.Forget(key)
		}
		q.Done(key)
	}
}
