package logs

import (
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// quietPeriod is how long a follower waits without seeing the log change
// before it asks whether the container is still running (the kubelet's
// logForceCheckPeriod).
const quietPeriod = time.Second

// Options mirror corev1.PodLogOptions as the kubelet applies them. Build
// them with NewOptions; the zero value is not meaningful.
type Options struct {
	tail       int64     // logical lines from the end; -1 for all
	bytes      int64     // output bytes; -1 for no limit
	since      time.Time // lines older than this are skipped
	follow     bool
	timestamps bool
	stdout     bool // emit the stdout stream
	stderr     bool // emit the stderr stream

	// quiet overrides quietPeriod (tests).
	quiet time.Duration

	// Logger receives warnings about records that cannot be parsed (they
	// are skipped). Nil means slog.Default().
	Logger *slog.Logger
}

// NewOptions converts the API options as the kubelet does: sinceSeconds
// counts back from now, and the later of sinceSeconds and sinceTime wins
// if both are set; a nil or "All" stream selects both streams. Previous and
// Container choose the file and are the caller's business. nil apiOpts
// means the defaults: everything, once, without timestamps.
func NewOptions(apiOpts *corev1.PodLogOptions, now time.Time) *Options {
	o := &Options{tail: -1, bytes: -1, stdout: true, stderr: true}
	if apiOpts == nil {
		return o
	}
	o.follow = apiOpts.Follow
	o.timestamps = apiOpts.Timestamps
	if apiOpts.TailLines != nil {
		o.tail = *apiOpts.TailLines
	}
	if apiOpts.LimitBytes != nil {
		o.bytes = *apiOpts.LimitBytes
	}
	if apiOpts.SinceSeconds != nil {
		o.since = now.Add(-time.Duration(*apiOpts.SinceSeconds) * time.Second)
	}
	if apiOpts.SinceTime != nil && apiOpts.SinceTime.After(o.since) {
		o.since = apiOpts.SinceTime.Time
	}
	if apiOpts.Stream != nil {
		switch *apiOpts.Stream {
		case corev1.LogStreamStdout:
			o.stderr = false
		case corev1.LogStreamStderr:
			o.stdout = false
		}
	}
	return o
}

// wants reports whether records of stream are part of the output.
func (o *Options) wants(stream string) bool {
	if stream == Stdout {
		return o.stdout
	}
	return o.stderr
}

func (o *Options) quietPeriod() time.Duration {
	if o.quiet > 0 {
		return o.quiet
	}
	return quietPeriod
}

func (o *Options) logger() *slog.Logger {
	if o.Logger != nil {
		return o.Logger
	}
	return slog.Default()
}
