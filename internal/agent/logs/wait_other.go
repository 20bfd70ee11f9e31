//go:build !linux

package logs

import (
	"errors"
	"time"
)

// newNotifyWaiter is only implemented on Linux; elsewhere followers poll.
func newNotifyWaiter(string, time.Duration) (waiter, error) {
	return nil, errors.New("file notifications are not implemented on this platform")
}
