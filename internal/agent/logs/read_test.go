package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is the fixture's clock: record times are t0 plus whole seconds.
func at(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }

// stamp is how --timestamps shows at(sec).
func stamp(sec int) string { return at(sec).Format(TimeFormat) + " " }

// writeFixture writes a log with interleaved streams, a line the runtime
// split into P records, and a line that is not a record.
func writeFixture(t *testing.T) string {
	t.Helper()
	var b bytes.Buffer
	enc := func(sec int, stream string, partial bool, content string) {
		if err := Encode(&b, at(sec), stream, partial, []byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	enc(0, Stdout, false, "one")
	enc(1, Stderr, false, "err one")
	enc(2, Stdout, true, "two-a ")
	enc(3, Stdout, true, "two-b ")
	enc(4, Stdout, false, "two-c")
	b.WriteString("not a cri line\n")
	enc(6, Stderr, false, "err two")
	enc(7, Stdout, false, "three")
	return writeFile(t, b.String())
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "0.log")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func quiet() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestReadLogsAppliesPodLogOptionsAsTheKubeletDoes(t *testing.T) {
	path := writeFixture(t)
	i64 := func(v int64) *int64 { return &v }
	str := func(v string) *string { return &v }
	cases := []struct {
		name    string
		opts    corev1.PodLogOptions
		split   bool // separate writers for stdout and stderr
		wantOut string
		wantErr string
	}{
		{name: "plain read joins partial lines and skips malformed ones",
			wantOut: "one\nerr one\ntwo-a two-b two-c\nerr two\nthree\n"},
		{name: "timestamps prefix each line once with its first record's time",
			opts:    corev1.PodLogOptions{Timestamps: true},
			wantOut: stamp(0) + "one\n" + stamp(1) + "err one\n" + stamp(2) + "two-a two-b two-c\n" + stamp(6) + "err two\n" + stamp(7) + "three\n"},
		{name: "tail 2", opts: corev1.PodLogOptions{TailLines: i64(2)},
			wantOut: "err two\nthree\n"},
		{name: "tail 3 counts a joined partial line as one",
			opts:    corev1.PodLogOptions{TailLines: i64(3)},
			wantOut: "two-a two-b two-c\nerr two\nthree\n"},
		{name: "tail larger than the file shows everything",
			opts:    corev1.PodLogOptions{TailLines: i64(100)},
			wantOut: "one\nerr one\ntwo-a two-b two-c\nerr two\nthree\n"},
		{name: "tail 0 shows nothing", opts: corev1.PodLogOptions{TailLines: i64(0)}},
		{name: "sinceTime drops whole lines older than it by their first record",
			opts:    corev1.PodLogOptions{SinceTime: &metav1.Time{Time: at(3)}},
			wantOut: "err two\nthree\n"},
		{name: "sinceTime equal to a line's time keeps it",
			opts:    corev1.PodLogOptions{SinceTime: &metav1.Time{Time: at(2)}},
			wantOut: "two-a two-b two-c\nerr two\nthree\n"},
		{name: "sinceSeconds counts back from now",
			opts:    corev1.PodLogOptions{SinceSeconds: i64(4)}, // now is at(10)
			wantOut: "err two\nthree\n"},
		{name: "the later of sinceSeconds and sinceTime wins",
			opts:    corev1.PodLogOptions{SinceSeconds: i64(9), SinceTime: &metav1.Time{Time: at(7)}},
			wantOut: "three\n"},
		{name: "since applies within the tail",
			opts:    corev1.PodLogOptions{TailLines: i64(3), SinceTime: &metav1.Time{Time: at(7)}},
			wantOut: "three\n"},
		{name: "limitBytes stops mid-line",
			opts:    corev1.PodLogOptions{LimitBytes: i64(6)},
			wantOut: "one\ner"},
		{name: "limitBytes counts timestamps",
			opts:    corev1.PodLogOptions{LimitBytes: i64(33), Timestamps: true}, // a stamp is 31 bytes
			wantOut: stamp(0) + "on"},
		{name: "limitBytes larger than the log",
			opts:    corev1.PodLogOptions{LimitBytes: i64(1 << 20), TailLines: i64(1)},
			wantOut: "three\n"},
		{name: "stdout and stderr go to their own writers", split: true,
			wantOut: "one\ntwo-a two-b two-c\nthree\n", wantErr: "err one\nerr two\n"},
		{name: "stream Stdout", split: true, opts: corev1.PodLogOptions{Stream: str(corev1.LogStreamStdout)},
			wantOut: "one\ntwo-a two-b two-c\nthree\n"},
		{name: "stream Stderr", split: true, opts: corev1.PodLogOptions{Stream: str(corev1.LogStreamStderr)},
			wantErr: "err one\nerr two\n"},
		{name: "stream All", split: true, opts: corev1.PodLogOptions{Stream: str(corev1.LogStreamAll)},
			wantOut: "one\ntwo-a two-b two-c\nthree\n", wantErr: "err one\nerr two\n"},
		{name: "tail counts only the selected stream's lines",
			opts:    corev1.PodLogOptions{Stream: str(corev1.LogStreamStdout), TailLines: i64(2)},
			wantOut: "two-a two-b two-c\nthree\n"},
		{name: "limitBytes counts only the selected stream",
			opts:    corev1.PodLogOptions{Stream: str(corev1.LogStreamStderr), LimitBytes: i64(10)},
			wantOut: "err one\ner"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := NewOptions(&tc.opts, at(10))
			opts.Logger = quiet()
			var out, errOut bytes.Buffer
			stderr := &out
			if tc.split {
				stderr = &errOut
			}
			if err := ReadLogs(context.Background(), path, opts, nil, &out, stderr); err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.wantOut {
				t.Errorf("stdout:\n got %q\nwant %q", out.String(), tc.wantOut)
			}
			if errOut.String() != tc.wantErr {
				t.Errorf("stderr:\n got %q\nwant %q", errOut.String(), tc.wantErr)
			}
		})
	}
}

func TestReadLogsWarnsAboutEachMalformedRecord(t *testing.T) {
	path := writeFixture(t)
	var logBuf bytes.Buffer
	opts := NewOptions(nil, t0)
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
	if err := ReadLogs(context.Background(), path, opts, nil, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("level=WARN msg=\"skipping malformed record in container log\" path=%s line=\"not a cri line\\n\" err=\"malformed CRI log line: timestamp \\\"not\\\" is not RFC 3339\"\n", path)
	if logBuf.String() != want {
		t.Fatalf("log:\n got %q\nwant %q", logBuf.String(), want)
	}
}

func TestReadLogsWarnsAboutFiveMalformedRecordsThenCountsThem(t *testing.T) {
	path := writeFile(t, strings.Repeat("junk\n", 8))
	var logBuf bytes.Buffer
	opts := NewOptions(nil, t0)
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	if err := ReadLogs(context.Background(), path, opts, nil, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(logBuf.String(), "\n"), "\n")
	if len(lines) != maxWarnings+1 || !strings.HasSuffix(lines[maxWarnings], `msg="skipped malformed records in container log" path=`+path+" count=8") {
		t.Fatalf("log:\n%s", logBuf.String())
	}
}

func TestReadLogsOfMissingFileIsNotExistError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ns_pod_uid", "c", "0.log")
	err := ReadLogs(context.Background(), path, NewOptions(nil, t0), nil, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || err.Error() != "container log "+path+": no such file or directory" {
		t.Fatalf("err = %v", err)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("err %v does not wrap fs.ErrNotExist", err)
	}
	if _, err := Tail(path, 80, 2048); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Tail err = %v, want fs.ErrNotExist", err)
	}
}

func TestReadLogsPrintsATrailingPartialLineWithoutNewline(t *testing.T) {
	var b bytes.Buffer
	for i, s := range []string{"a", "b"} {
		_ = Encode(&b, at(i), Stdout, false, []byte(s))
	}
	_ = Encode(&b, at(2), Stdout, true, []byte("prompt> "))
	path := writeFile(t, b.String())
	for _, tail := range []int64{-1, 1, 2} {
		opts := NewOptions(&corev1.PodLogOptions{TailLines: &tail}, t0)
		var out bytes.Buffer
		if err := ReadLogs(context.Background(), path, opts, nil, &out, &out); err != nil {
			t.Fatal(err)
		}
		want := map[int64]string{-1: "a\nb\nprompt> ", 1: "prompt> ", 2: "b\nprompt> "}[tail]
		if out.String() != want {
			t.Errorf("tail %d: got %q, want %q", tail, out.String(), want)
		}
	}
}

func TestReadLogsEmitsARecordTornAtTheEndOfTheFile(t *testing.T) {
	var b bytes.Buffer
	_ = Encode(&b, at(0), Stdout, false, []byte("whole"))
	b.WriteString(at(1).Format(TimeFormat) + " stdout F tor") // caught mid-write
	path := writeFile(t, b.String())
	opts := NewOptions(nil, t0)
	opts.Logger = quiet()
	var out bytes.Buffer
	if err := ReadLogs(context.Background(), path, opts, nil, &out, &out); err != nil {
		t.Fatal(err)
	}
	if want := "whole\ntor\n"; out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

// TestReadLogsTailsLargeLogsAcrossScanBlocks checks tailStart, which reads
// the file backwards in blocks, against lines counted forwards, on a log
// several blocks long whose split lines straddle block boundaries.
func TestReadLogsTailsLargeLogsAcrossScanBlocks(t *testing.T) {
	var b bytes.Buffer
	var lines []string // logical lines in order, with newline
	for i := range 3000 {
		stream := Stdout
		if i%7 == 0 {
			stream = Stderr
		}
		content := fmt.Sprintf("line %d %s", i, strings.Repeat("x", i%97))
		if i%11 == 0 { // split across records, some longer than a scan block
			parts := []string{content[:5], strings.Repeat("y", (i%3)*scanBlock/2), content[5:]}
			for _, p := range parts[:2] {
				_ = Encode(&b, at(i), stream, true, []byte(p))
			}
			_ = Encode(&b, at(i), stream, false, []byte(parts[2]))
			content = parts[0] + parts[1] + parts[2]
		} else {
			_ = Encode(&b, at(i), stream, false, []byte(content))
		}
		lines = append(lines, content+"\n")
	}
	if b.Len() < 4*scanBlock {
		t.Fatalf("fixture of %d bytes does not span several scan blocks", b.Len())
	}
	path := writeFile(t, b.String())
	for _, n := range []int64{1, 2, 10, 11, 12, 500, 2999, 3000, 3001} {
		opts := NewOptions(&corev1.PodLogOptions{TailLines: &n}, t0)
		var out bytes.Buffer
		if err := ReadLogs(context.Background(), path, opts, nil, &out, &out); err != nil {
			t.Fatal(err)
		}
		want := strings.Join(lines[max(0, len(lines)-int(n)):], "")
		if out.String() != want {
			t.Errorf("tail %d: got %d bytes (%.60q...), want %d bytes (%.60q...)", n, out.Len(), out.String(), len(want), want)
		}
	}
}

func TestReadLogsWithoutFollowStopsAtTheSizeItOpened(t *testing.T) {
	path := writeFixture(t)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	// Append a line from inside the first write, after the file was sized.
	appended := false
	w := writerFunc(func(p []byte) (int, error) {
		if !appended {
			appended = true
			if err := Encode(f, at(8), Stdout, false, []byte("late")); err != nil {
				t.Fatal(err)
			}
		}
		return len(p), nil
	})
	var out bytes.Buffer
	opts := NewOptions(nil, t0)
	opts.Logger = quiet()
	if err := ReadLogs(context.Background(), path, opts, nil, &out, w); err != nil {
		t.Fatal(err)
	}
	if !appended || strings.Contains(out.String(), "late") {
		t.Fatalf("appended=%v, stdout %q", appended, out.String())
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }
