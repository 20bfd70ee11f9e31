package logs

import (
	"context"
	"time"
)

// Tail returns the end of a container's log for a termination message
// (terminationMessagePolicy FallbackToLogsOnError, which the kubelet reads
// with 80 lines and 2048 bytes): the last lines logical lines of both
// streams, interleaved, of which it keeps the last maxBytes bytes. lines < 0
// means all lines; maxBytes <= 0 means no byte cap.
func Tail(path string, lines int, maxBytes int) (string, error) {
	opts := NewOptions(nil, time.Time{})
	opts.tail = int64(lines)
	buf := &lastBytes{max: maxBytes}
	if err := ReadLogs(context.Background(), path, opts, nil, buf, buf); err != nil {
		return "", err
	}
	return string(buf.bytes()), nil
}

// lastBytes is a writer that keeps the last max bytes written to it (all
// of them when max <= 0), like the kubelet's circular buffer.
type lastBytes struct {
	max int
	b   []byte
}

func (l *lastBytes) Write(p []byte) (int, error) {
	l.b = append(l.b, p...)
	// Trim lazily so that many small writes copy in amortised O(1).
	if l.max > 0 && len(l.b) > 2*l.max {
		l.b = append(l.b[:0], l.b[len(l.b)-l.max:]...)
	}
	return len(p), nil
}

func (l *lastBytes) bytes() []byte {
	if l.max > 0 && len(l.b) > l.max {
		return l.b[len(l.b)-l.max:]
	}
	return l.b
}
