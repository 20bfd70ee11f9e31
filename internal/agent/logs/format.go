package logs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"time"
)

// Stream names as they appear in a CRI log record.
const (
	Stdout = "stdout"
	Stderr = "stderr"
)

// TimeFormat is RFC 3339 with fixed-width nanoseconds. Encode writes it,
// and `timestamps=true` prefixes output lines with it (the kubelet's
// RFC3339NanoFixed). Parsing accepts any RFC 3339 timestamp.
const TimeFormat = "2006-01-02T15:04:05.000000000Z07:00"

// ErrMalformed is wrapped by ParseCRILine for a line that is not a CRI log
// record.
var ErrMalformed = errors.New("malformed CRI log line")

// Entry is one record of a CRI log file:
//
//	<timestamp> <stream> <tag> <content>\n
//
// where the tag is "F" for a record that ends a line and "P" for a partial
// one continued by the next record of the same stream. Tags may carry
// ':'-separated extensions ("F:x"); only the part before the first ':'
// counts, and anything but "P" ends the line, as in the kubelet.
type Entry struct {
	Time    time.Time
	Stream  string // Stdout or Stderr
	Partial bool
	// Content is the record's text without the line terminator. From
	// ParseCRILine it aliases the parsed line.
	Content []byte
}

// ParseCRILine parses one record, with or without its trailing newline.
func ParseCRILine(line []byte) (Entry, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	var e Entry
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return e, fmt.Errorf("%w: no stream after the timestamp", ErrMalformed)
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return e, fmt.Errorf("%w: timestamp %q is not RFC 3339", ErrMalformed, ts)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return e, fmt.Errorf("%w: no tag after the stream", ErrMalformed)
	}
	switch string(stream) {
	case Stdout:
		e.Stream = Stdout
	case Stderr:
		e.Stream = Stderr
	default:
		return e, fmt.Errorf("%w: unknown stream %q", ErrMalformed, stream)
	}
	// An empty record may be written without the space after its tag.
	tag, content, _ := bytes.Cut(rest, []byte{' '})
	tag, _, _ = bytes.Cut(tag, []byte{':'})
	if len(tag) == 0 {
		return e, fmt.Errorf("%w: empty tag", ErrMalformed)
	}
	e.Time = t
	e.Partial = string(tag) == "P"
	e.Content = content
	return e, nil
}

// AppendEntry appends the CRI record for content to dst, with t in UTC.
// content must not contain a newline (Encode checks; this does not, so a
// writer can reuse one buffer per record without allocating).
func AppendEntry(dst []byte, t time.Time, stream string, partial bool, content []byte) []byte {
	dst = t.UTC().AppendFormat(dst, TimeFormat)
	dst = append(dst, ' ')
	dst = append(dst, stream...)
	if partial {
		dst = append(dst, " P "...)
	} else {
		dst = append(dst, " F "...)
	}
	dst = append(dst, content...)
	return append(dst, '\n')
}

// Encode writes one CRI record to w in a single Write, so records appended
// to an O_APPEND file by several writers never interleave. A writer splits
// a line longer than its record limit into P records followed by an F.
func Encode(w io.Writer, t time.Time, stream string, partial bool, content []byte) error {
	if stream != Stdout && stream != Stderr {
		return fmt.Errorf("encode log record: unknown stream %q", stream)
	}
	if bytes.IndexByte(content, '\n') >= 0 {
		return errors.New("encode log record: content contains a newline")
	}
	_, err := w.Write(AppendEntry(nil, t, stream, partial, content))
	return err
}
