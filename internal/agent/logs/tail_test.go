package logs

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestTailKeepsTheLastLinesWithinTheByteCap(t *testing.T) {
	cases := []struct {
		name    string
		pad     int // extra bytes per line
		partial bool
	}{
		{name: "short lines: 80 lines fit in 2048 bytes"},
		{name: "long lines: the last 2048 bytes of 80 lines", pad: 50},
		{name: "split lines count once", pad: 50, partial: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			var lines []string
			for i := range 1000 {
				stream := Stdout
				if i%10 == 0 {
					stream = Stderr
				}
				content := fmt.Sprintf("line %04d%s", i, strings.Repeat(".", tc.pad))
				if tc.partial {
					_ = Encode(&b, at(i), stream, true, []byte(content[:4]))
					_ = Encode(&b, at(i), stream, false, []byte(content[4:]))
				} else {
					_ = Encode(&b, at(i), stream, false, []byte(content))
				}
				lines = append(lines, content+"\n")
			}
			path := writeFile(t, b.String())
			got, err := Tail(path, 80, 2048)
			if err != nil {
				t.Fatal(err)
			}
			want := strings.Join(lines[len(lines)-80:], "")
			if len(want) > 2048 {
				want = want[len(want)-2048:]
			}
			if got != want {
				t.Fatalf("got %d bytes %.80q..., want %d bytes %.80q...", len(got), got, len(want), want)
			}
		})
	}
}

func TestTailWithoutCapsReturnsTheWholeLog(t *testing.T) {
	var b bytes.Buffer
	_ = Encode(&b, at(0), Stdout, false, []byte("one"))
	_ = Encode(&b, at(1), Stderr, true, []byte("err "))
	_ = Encode(&b, at(2), Stderr, false, []byte("two"))
	got, err := Tail(writeFile(t, b.String()), -1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := "one\nerr two\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestLastBytesKeepsTheEndOfManySmallWrites(t *testing.T) {
	l := &lastBytes{max: 5}
	for _, s := range strings.Split("abcdefghijklmnopqrstuvwxyz", "") {
		_, _ = l.Write([]byte(s))
	}
	if got := string(l.bytes()); got != "vwxyz" {
		t.Fatalf("got %q", got)
	}
	if cap(l.b) > 64 {
		t.Fatalf("buffer grew to %d bytes for a 5-byte cap", cap(l.b))
	}
}
