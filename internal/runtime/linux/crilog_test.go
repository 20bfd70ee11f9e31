package linux

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestCopyStreamWritesCRIRecords(t *testing.T) {
	long := strings.Repeat("x", criMaxLine)
	for _, tc := range []struct {
		name, in string
		want     []string // "<tag> <content>"
	}{
		{"lines", "hello\nworld\n", []string{"F hello", "F world"}},
		{"empty line", "\n", []string{"F "}},
		{"carriage return kept", "a\r\n", []string{"F a\r"}},
		{"last line without newline is partial", "a\nb", []string{"F a", "P b"}},
		{"exactly the max is one record", long + "\n", []string{"F " + long}},
		{"longer lines are split", long + "yz\n", []string{"P " + long, "F yz"}},
		{"split twice", long + long + "z\n", []string{"P " + long, "P " + long, "F z"}},
		{"nothing", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			l := newCRILog(&out)
			l.now = func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC) }
			l.copyStream("stdout", strings.NewReader(tc.in))
			var want strings.Builder
			for _, w := range tc.want {
				want.WriteString("2026-01-02T03:04:05.000000006Z stdout " + w + "\n")
			}
			if out.String() != want.String() {
				t.Errorf("got\n%q\nwant\n%q", out.String(), want.String())
			}
		})
	}
}

// Records of two streams interleave but never mix within a line.
func TestCRILogSerialisesStreams(t *testing.T) {
	var out bytes.Buffer
	l := newCRILog(&out)
	done := make(chan struct{})
	go func() {
		l.copyStream("stderr", strings.NewReader(strings.Repeat("e\n", 1000)))
		close(done)
	}()
	l.copyStream("stdout", strings.NewReader(strings.Repeat("o\n", 1000)))
	<-done
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2000 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, line := range lines {
		if !strings.HasSuffix(line, " stdout F o") && !strings.HasSuffix(line, " stderr F e") {
			t.Fatalf("mixed line %q", line)
		}
	}
}
