package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
)

const (
	// scanBlock is how much of the file tailStart reads per step.
	scanBlock = 32 << 10
	// headerMax bounds the bytes needed to read a record's timestamp,
	// stream and tag (a 35-byte timestamp, "stdout", a short tag).
	headerMax = 128
)

// tailStart returns the offset of the first record of the last n logical
// lines of r (size bytes), reading backwards from the end so that tailing a
// large log costs in proportion to the tail, not the file.
//
// A logical line is a run of P records ended by an F record of the same
// stream; a run of P records at the end of a stream (a last line without a
// newline, or one still being written) counts as a line too. Only records
// of streams opts wants count; records that do not parse count for nothing
// and are skipped again when read forwards.
//
// Lines of the two streams can interleave (stdout P, stderr F, stdout F);
// the window then starts after the stderr line and opens with the stdout
// continuation, which is printed as a line of its own.
func tailStart(r io.ReaderAt, size, n int64, opts *Options) (int64, error) {
	if n < 0 || size == 0 {
		return 0, nil
	}
	if n == 0 {
		return size, nil
	}
	var (
		count int64
		seen  [2]bool // a line of this stream is already counted
		next  = size  // start of the record after the one being visited
		buf   = make([]byte, scanBlock+headerMax)
		carry []byte // first bytes of the region already scanned
	)
	// visit counts the record starting at off, whose first bytes are hdr,
	// and reports whether it is the first record before the window.
	visit := func(off int64, hdr []byte) bool {
		hdr = hdr[:min(len(hdr), headerMax)]
		if i := bytes.IndexByte(hdr, '\n'); i >= 0 {
			hdr = hdr[:i]
		}
		if e, err := ParseCRILine(hdr); err == nil && opts.wants(e.Stream) {
			k := streamIndex(e.Stream)
			if !e.Partial || !seen[k] {
				count++
			}
			seen[k] = true
			if count > n {
				return true
			}
		}
		next = off
		return false
	}
	for end := size; end > 0; {
		start := max(end-scanBlock, 0)
		data := buf[:end-start]
		if _, err := r.ReadAt(data, start); err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("read at %d: %w", start, err)
		}
		data = append(data, carry...)
		// A record starts after every newline but the file's last byte.
		for i := int(end - start); ; {
			i = bytes.LastIndexByte(data[:i], '\n')
			if i < 0 {
				break
			}
			if off := start + int64(i) + 1; off < size && visit(off, data[i+1:]) {
				return next, nil
			}
		}
		if start == 0 && visit(0, data) {
			return next, nil
		}
		carry = append(carry[:0:0], data[:min(len(data), headerMax)]...)
		end = start
	}
	return 0, nil
}

func streamIndex(stream string) int {
	if stream == Stdout {
		return 0
	}
	return 1
}
