package logs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// syncBuffer is written by ReadLogs's goroutine and read by the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func waitForOutput(t *testing.T, out *syncBuffer, want string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for out.String() != want {
		if time.Now().After(deadline) {
			t.Fatalf("output:\n got %q\nwant %q", out.String(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func openAppend(t *testing.T, path string) *os.File {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// followOptions makes the follower ask isRunning after 50ms of quiet
// instead of a second.
func followOptions(api corev1.PodLogOptions) *Options {
	api.Follow = true
	o := NewOptions(&api, at(10))
	o.quiet = 50 * time.Millisecond
	o.Logger = quiet()
	return o
}

func TestReadLogsFollowShowsAppendedLinesUntilTheContainerStops(t *testing.T) {
	path := writeFixture(t)
	f := openAppend(t, path)
	var running atomic.Bool
	running.Store(true)
	one := int64(1)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- ReadLogs(context.Background(), path, followOptions(corev1.PodLogOptions{TailLines: &one}), running.Load, &out, &out)
	}()
	waitForOutput(t, &out, "three\n")

	appended := make(chan struct{})
	go func() {
		defer close(appended)
		_ = Encode(f, at(11), Stdout, true, []byte("four-a "))
		time.Sleep(20 * time.Millisecond)
		_ = Encode(f, at(12), Stdout, false, []byte("four-b"))
		_ = Encode(f, at(13), Stderr, false, []byte("err four"))
	}()
	<-appended
	waitForOutput(t, &out, "three\nfour-a four-b\nerr four\n")

	// A record that reaches the file in two writes is read whole.
	rec := AppendEntry(nil, at(14), Stdout, false, []byte("five"))
	if _, err := f.Write(rec[:20]); err != nil {
		t.Fatal(err)
	}
	time.Sleep(150 * time.Millisecond)
	if got := out.String(); got != "three\nfour-a four-b\nerr four\n" {
		t.Fatalf("half a record was emitted: %q", got)
	}
	if _, err := f.Write(rec[20:]); err != nil {
		t.Fatal(err)
	}
	waitForOutput(t, &out, "three\nfour-a four-b\nerr four\nfive\n")

	// The container writes a last line and exits: the follower drains it
	// and returns.
	_ = Encode(f, at(15), Stdout, false, []byte("bye"))
	running.Store(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadLogs still following after the container stopped")
	}
	if want := "three\nfour-a four-b\nerr four\nfive\nbye\n"; out.String() != want {
		t.Fatalf("output:\n got %q\nwant %q", out.String(), want)
	}
}

func TestReadLogsFollowOfAStoppedContainerReturnsAfterTheLog(t *testing.T) {
	path := writeFixture(t)
	var out syncBuffer
	err := ReadLogs(context.Background(), path, followOptions(corev1.PodLogOptions{}), nil, &out, &out)
	if err != nil {
		t.Fatal(err)
	}
	if want := "one\nerr one\ntwo-a two-b two-c\nerr two\nthree\n"; out.String() != want {
		t.Fatalf("output:\n got %q\nwant %q", out.String(), want)
	}
}

func TestReadLogsFollowEndsWithTheContext(t *testing.T) {
	path := writeFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- ReadLogs(ctx, path, followOptions(corev1.PodLogOptions{}), func() bool { return true }, &out, &out)
	}()
	waitForOutput(t, &out, "one\nerr one\ntwo-a two-b two-c\nerr two\nthree\n")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadLogs ignored the cancelled context")
	}
}

func TestReadLogsFollowEndsAtLimitBytes(t *testing.T) {
	path := writeFixture(t)
	f := openAppend(t, path)
	limit := int64(len("one\nerr one\ntwo-a two-b two-c\nerr two\nthree\n") + 3)
	var out syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- ReadLogs(context.Background(), path, followOptions(corev1.PodLogOptions{LimitBytes: &limit}), func() bool { return true }, &out, &out)
	}()
	waitForOutput(t, &out, "one\nerr one\ntwo-a two-b two-c\nerr two\nthree\n")
	_ = Encode(f, at(11), Stdout, false, []byte("four"))
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ReadLogs still following after limitBytes")
	}
	if want := "one\nerr one\ntwo-a two-b two-c\nerr two\nthree\nfou"; out.String() != want {
		t.Fatalf("output:\n got %q\nwant %q", out.String(), want)
	}
}
