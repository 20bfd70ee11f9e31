package logs

import (
	"errors"
	"io"
)

// errLimitReached ends a read once limitBytes have been written.
var errLimitReached = errors.New("log byte limit reached")

// emitter turns records into output lines: it joins the P records of a
// line, applies since per line and timestamps once per line, routes each
// stream to its writer and enforces limitBytes.
type emitter struct {
	opts   *Options
	w      [2]io.Writer // by streamIndex
	remain int64        // bytes left to write; -1 for no limit
	// Per stream: inLine is set after a P record, so the next record of
	// the stream continues a line; skip is set when that line is older
	// than since.
	inLine [2]bool
	skip   [2]bool
	buf    []byte
}

// newEmitter writes to stdout and stderr; a nil writer discards its stream
// (its bytes still count against limitBytes).
func newEmitter(opts *Options, stdout, stderr io.Writer) *emitter {
	e := &emitter{opts: opts, w: [2]io.Writer{stdout, stderr}, remain: opts.bytes}
	for i, w := range e.w {
		if w == nil {
			e.w[i] = io.Discard
		}
	}
	return e
}

func (e *emitter) emit(en Entry) error {
	if !e.opts.wants(en.Stream) {
		return nil
	}
	k := streamIndex(en.Stream)
	b := e.buf[:0]
	if !e.inLine[k] {
		e.skip[k] = en.Time.Before(e.opts.since)
		if e.opts.timestamps && !e.skip[k] {
			b = en.Time.AppendFormat(b, TimeFormat)
			b = append(b, ' ')
		}
	}
	e.inLine[k] = en.Partial
	if e.skip[k] {
		return nil
	}
	b = append(b, en.Content...)
	if !en.Partial {
		b = append(b, '\n')
	}
	e.buf = b
	if e.remain >= 0 && int64(len(b)) > e.remain {
		b = b[:e.remain]
	}
	if len(b) == 0 {
		return e.checkLimit()
	}
	n, err := e.w[k].Write(b)
	if e.remain >= 0 {
		e.remain -= int64(n)
	}
	if err != nil {
		return err
	}
	if n < len(b) {
		return io.ErrShortWrite
	}
	return e.checkLimit()
}

func (e *emitter) checkLimit() error {
	if e.remain == 0 {
		return errLimitReached
	}
	return nil
}
