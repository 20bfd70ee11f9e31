package logs

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"
)

// ReadLogs writes the log at path to stdout and stderr (the same writer for
// both interleaves them, as `kubectl logs` shows them; a nil one discards
// its stream) per opts:
//
//   - tailLines selects the last lines, counting a run of P records and the
//     F that ends it as one line, and sinceSeconds/sinceTime then skip lines
//     whose first record is older;
//   - the P records of a line are joined, and timestamps prefix the line
//     once, with its first record's time, in TimeFormat and a space;
//   - limitBytes stops the output after that many bytes, mid-line if need be;
//   - records that do not parse are skipped with a warning to opts.Logger.
//
// Without Follow it reads the file as it was when opened. With Follow it
// keeps emitting records as they are appended until ctx ends (returning
// ctx.Err()) or isRunning reports false once the file has been quiet for a
// while; it then drains what is left and returns nil. isRunning may be nil
// for a container that is not running.
//
// A missing log is an error that wraps fs.ErrNotExist.
func ReadLogs(ctx context.Context, path string, opts *Options, isRunning func() bool, stdout, stderr io.Writer) error {
	if opts == nil {
		opts = NewOptions(nil, time.Now())
	}
	f, err := openLog(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("container log %s: %w", path, err)
	}
	size := fi.Size()
	start, err := tailStart(f, size, opts.tail, opts)
	if err != nil {
		return fmt.Errorf("container log %s: tail %d lines: %w", path, opts.tail, err)
	}
	r := &reader{path: path, log: opts.logger(), out: newEmitter(opts, stdout, stderr)}
	if !opts.follow {
		r.lines = newLineReader(io.NewSectionReader(f, start, size-start))
		err = r.drain(ctx)
		if err == nil {
			err = r.flushIncomplete()
		}
		return r.finish(err)
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return fmt.Errorf("container log %s: seek to %d: %w", path, start, err)
	}
	r.lines = newLineReader(f)
	if isRunning == nil {
		isRunning = func() bool { return false }
	}
	return r.finish(r.follow(ctx, f.Name(), opts.quietPeriod(), isRunning))
}

// openLog opens path (resolving symlinks, so a follower watches the real
// file's directory), with a terse error for a log that does not exist.
func openLog(path string) (*os.File, error) {
	real, err := filepath.EvalSymlinks(path)
	var f *os.File
	if err == nil {
		f, err = os.Open(real)
	}
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("container log %s: %w", path, err)
	}
	return f, nil
}

// maxWarnings bounds the per-record warnings of one read; the rest are
// counted in a final warning.
const maxWarnings = 5

// reader moves records from the file to the emitter.
type reader struct {
	path      string
	log       *slog.Logger
	lines     *lineReader
	out       *emitter
	malformed int
}

// drain emits every complete record up to the current end of the file.
func (r *reader) drain(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		line, err := r.lines.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read container log %s: %w", r.path, err)
		}
		if err := r.handle(line); err != nil {
			return err
		}
	}
}

// flushIncomplete emits a last record that has no newline. It is only
// called once no more can be written: the kubelet, too, prints such a
// record (torn by a crash, or caught mid-write) rather than lose it.
func (r *reader) flushIncomplete() error {
	line := r.lines.takePending()
	if len(line) == 0 {
		return nil
	}
	r.log.Warn("incomplete last record in container log", "path", r.path, "line", clip(line))
	return r.handle(line)
}

func (r *reader) handle(line []byte) error {
	e, err := ParseCRILine(line)
	if err != nil {
		r.malformed++
		if r.malformed <= maxWarnings {
			r.log.Warn("skipping malformed record in container log", "path", r.path, "line", clip(line), "err", err)
		}
		return nil
	}
	return r.out.emit(e)
}

// finish maps the end of the byte budget to success and reports the
// malformed records that were not warned about one by one.
func (r *reader) finish(err error) error {
	if r.malformed > maxWarnings {
		r.log.Warn("skipped malformed records in container log", "path", r.path, "count", r.malformed)
	}
	if errors.Is(err, errLimitReached) {
		return nil
	}
	return err
}

// follow emits records as they are appended, until ctx ends or the
// container stops. The watch starts before the first read so no append
// can slip between reaching the end of the file and waiting.
func (r *reader) follow(ctx context.Context, path string, quiet time.Duration, isRunning func() bool) error {
	w := newWaiter(path, quiet, r.log)
	defer w.close()
	checkRunning := true
	for {
		if err := r.drain(ctx); err != nil {
			return err
		}
		// Ask the runtime only when the log has been quiet: a container
		// that is writing is running, and a stopped one writes nothing.
		if checkRunning && !isRunning() {
			// Records written between the drain and the check.
			if err := r.drain(ctx); err != nil {
				return err
			}
			return r.flushIncomplete()
		}
		changed, err := w.wait(ctx)
		if err != nil {
			return err
		}
		checkRunning = !changed
	}
}

// clip shortens a line for a log message.
func clip(b []byte) string {
	const n = 200
	if len(b) > n {
		return string(b[:n]) + "..."
	}
	return string(b)
}

// lineReader returns whole newline-terminated records. At the end of the
// file it keeps the bytes of an unfinished record, so that a follower
// completes the record when the writer does instead of splitting it.
type lineReader struct {
	br      *bufio.Reader
	pending []byte
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{br: bufio.NewReaderSize(r, 64<<10)}
}

// next returns the next record including its newline, or io.EOF at the
// current end of the file. A bufio.Reader reports EOF once and then reads
// the file again, so next can be called again after the file grows.
func (l *lineReader) next() ([]byte, error) {
	line, err := l.br.ReadBytes('\n')
	if len(l.pending) > 0 {
		line = append(l.pending, line...)
		l.pending = nil
	}
	if err != nil {
		l.pending = line
		return nil, err
	}
	return line, nil
}

func (l *lineReader) takePending() []byte {
	p := l.pending
	l.pending = nil
	return p
}
