package linux

import (
	"bufio"
	"errors"
	"io"
	"sync"
	"time"
)

// CRI log format, as the kubelet reads it:
//
//	<timestamp> <stream> <tag> <content>\n
//
// with stream "stdout" or "stderr" and tag "F" for a full line or "P" for
// a partial one (the kubelet joins P chunks with the F that follows).
const (
	criTimeFormat = "2006-01-02T15:04:05.000000000Z07:00" // RFC 3339, fixed-width nanoseconds
	// criMaxLine is the longest content of one log record; longer lines are
	// split into P records, as containerd's max_container_log_line_size.
	criMaxLine = 16 * 1024
)

// criLog serialises records from a container's streams into one file.
// Each record is written with a single write(2).
type criLog struct {
	mu  sync.Mutex
	w   io.Writer
	now func() time.Time
	buf []byte
}

func newCRILog(w io.Writer) *criLog { return &criLog{w: w, now: time.Now} }

// setWriter makes the next records go to w. A record being written
// finishes on the old writer first, so once this returns the old writer
// is no longer used.
func (l *criLog) setWriter(w io.Writer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.w = w
}

func (l *criLog) write(stream string, partial bool, content ...[]byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.now().AppendFormat(l.buf[:0], criTimeFormat)
	b = append(b, ' ')
	b = append(b, stream...)
	if partial {
		b = append(b, " P "...)
	} else {
		b = append(b, " F "...)
	}
	for _, c := range content {
		b = append(b, c...)
	}
	b = append(b, '\n')
	// A failed write (disk full) must not stop us draining the pipe, or
	// the container would block on a full pipe.
	_, _ = l.w.Write(b)
	l.buf = b[:0]
}

// copyStream reads a container stream until EOF (or any error: a pty
// master reads EIO once the container side is closed) and writes it as
// CRI records, the way containerd's cio does: one record per line, lines
// longer than criMaxLine split into P records, and a last line without a
// newline written as P.
func (l *criLog) copyStream(stream string, r io.Reader) {
	br := bufio.NewReaderSize(r, criMaxLine)
	var pending []byte
	for {
		chunk, err := br.ReadSlice('\n')
		full := err == nil
		if full {
			chunk = chunk[:len(chunk)-1]
		}
		pending = append(pending, chunk...)
		for len(pending) > criMaxLine {
			l.write(stream, true, pending[:criMaxLine])
			pending = append(pending[:0], pending[criMaxLine:]...)
		}
		if full {
			l.write(stream, false, pending)
			pending = pending[:0]
			continue
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if len(pending) > 0 {
			l.write(stream, true, pending)
		}
		return
	}
}
