package logs

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

func TestParseCRILineReadsRecordsAndRejectsMalformedOnes(t *testing.T) {
	ts := time.Date(2016, 10, 6, 0, 17, 9, 669794202, time.UTC)
	cases := []struct {
		name    string
		line    string
		want    Entry
		wantErr string
	}{
		{name: "full line", line: "2016-10-06T00:17:09.669794202Z stdout F log content 1\n",
			want: Entry{Time: ts, Stream: Stdout, Content: []byte("log content 1")}},
		{name: "partial line without newline", line: "2016-10-06T00:17:09.669794202Z stderr P part",
			want: Entry{Time: ts, Stream: Stderr, Partial: true, Content: []byte("part")}},
		{name: "content keeps its spaces", line: "2016-10-06T00:17:09.669794202Z stdout F  a  b \n",
			want: Entry{Time: ts, Stream: Stdout, Content: []byte(" a  b ")}},
		{name: "tag extensions are ignored", line: "2016-10-06T00:17:09.669794202Z stdout P:x:y z\n",
			want: Entry{Time: ts, Stream: Stdout, Partial: true, Content: []byte("z")}},
		{name: "unknown tags end the line", line: "2016-10-06T00:17:09.669794202Z stdout Q z\n",
			want: Entry{Time: ts, Stream: Stdout, Content: []byte("z")}},
		{name: "empty record without space after tag", line: "2016-10-06T00:17:09.669794202Z stdout F\n",
			want: Entry{Time: ts, Stream: Stdout, Content: []byte{}}},
		{name: "variable-width timestamp with offset", line: "2016-10-06T02:17:09.6697942+02:00 stdout F x\n",
			want: Entry{Time: ts.Add(-2), Stream: Stdout, Content: []byte("x")}},
		{name: "no spaces", line: "garbage\n", wantErr: "malformed CRI log line: no stream after the timestamp"},
		{name: "bad timestamp", line: "yesterday stdout F x\n", wantErr: `malformed CRI log line: timestamp "yesterday" is not RFC 3339`},
		{name: "unknown stream", line: "2016-10-06T00:17:09Z stdin F x\n", wantErr: `malformed CRI log line: unknown stream "stdin"`},
		{name: "no tag", line: "2016-10-06T00:17:09Z stdout\n", wantErr: "malformed CRI log line: no tag after the stream"},
		{name: "empty tag", line: "2016-10-06T00:17:09Z stdout  x\n", wantErr: "malformed CRI log line: empty tag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseCRILine([]byte(tc.line))
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr || !errors.Is(err, ErrMalformed) {
					t.Fatalf("err = %v, want %q wrapping ErrMalformed", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !got.Time.Equal(tc.want.Time) || got.Stream != tc.want.Stream || got.Partial != tc.want.Partial || !bytes.Equal(got.Content, tc.want.Content) {
				t.Fatalf("got %+v (%q), want %+v (%q)", got, got.Content, tc.want, tc.want.Content)
			}
		})
	}
}

func TestEncodeWritesOneUTCRecordThatParsesBack(t *testing.T) {
	east := time.FixedZone("east", 2*3600)
	ts := time.Date(2026, 1, 2, 5, 4, 5, 7, east)
	var b bytes.Buffer
	if err := Encode(&b, ts, Stderr, true, []byte("hello world")); err != nil {
		t.Fatal(err)
	}
	if want := "2026-01-02T03:04:05.000000007Z stderr P hello world\n"; b.String() != want {
		t.Fatalf("encoded %q, want %q", b.String(), want)
	}
	e, err := ParseCRILine(b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if !e.Time.Equal(ts) || e.Stream != Stderr || !e.Partial || string(e.Content) != "hello world" {
		t.Fatalf("parsed back %+v", e)
	}
}

func TestEncodeRejectsNewlinesAndUnknownStreams(t *testing.T) {
	var b bytes.Buffer
	err := Encode(&b, time.Now(), Stdout, false, []byte("a\nb"))
	if err == nil || err.Error() != "encode log record: content contains a newline" {
		t.Fatalf("err = %v", err)
	}
	err = Encode(&b, time.Now(), "stdin", false, []byte("a"))
	if err == nil || err.Error() != `encode log record: unknown stream "stdin"` {
		t.Fatalf("err = %v", err)
	}
	if b.Len() != 0 {
		t.Fatalf("wrote %q on error", b.String())
	}
}
