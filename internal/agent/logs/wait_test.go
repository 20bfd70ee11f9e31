package logs

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// waiterImpls are the waiters every follower may get; each must pass the
// same tests.
var waiterImpls = map[string]func(path string, quiet time.Duration) (waiter, error){
	"poll": func(path string, quiet time.Duration) (waiter, error) { return newPollWaiter(path, quiet), nil },
	"inotify": func(path string, quiet time.Duration) (waiter, error) {
		w, err := newNotifyWaiter(path, quiet)
		if err != nil {
			return nil, err
		}
		return w, nil
	},
}

func newTestWaiter(t *testing.T, impl string, quiet time.Duration) (w waiter, log, sibling string) {
	t.Helper()
	dir := t.TempDir()
	log, sibling = filepath.Join(dir, "0.log"), filepath.Join(dir, "1.log")
	for _, p := range []string{log, sibling} {
		if err := os.WriteFile(p, nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	w, err := waiterImpls[impl](log, quiet)
	if err != nil {
		t.Skipf("%s waiter unavailable: %v", impl, err)
	}
	t.Cleanup(w.close)
	return w, log, sibling
}

func appendTo(t *testing.T, path, s string) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	if _, err := f.WriteString(s); err != nil {
		t.Error(err)
	}
}

func TestWaiterWakesOnAppendWellBeforeTheQuietPeriod(t *testing.T) {
	for impl := range waiterImpls {
		t.Run(impl, func(t *testing.T) {
			w, log, _ := newTestWaiter(t, impl, 5*time.Second)
			appended := make(chan struct{})
			defer func() { <-appended }()
			time.AfterFunc(20*time.Millisecond, func() { appendTo(t, log, "x\n"); close(appended) })
			start := time.Now()
			changed, err := w.wait(context.Background())
			if err != nil || !changed {
				t.Fatalf("wait = %v, %v; want true, nil", changed, err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("woke after %v", d)
			}
		})
	}
}

func TestWaiterReportsQuietWhenOnlyASiblingChanges(t *testing.T) {
	for impl := range waiterImpls {
		t.Run(impl, func(t *testing.T) {
			w, _, sibling := newTestWaiter(t, impl, 300*time.Millisecond)
			stop, stopped := make(chan struct{}), make(chan struct{})
			defer func() { close(stop); <-stopped }()
			go func() {
				defer close(stopped)
				for {
					select {
					case <-stop:
						return
					case <-time.After(10 * time.Millisecond):
						appendTo(t, sibling, "y\n")
					}
				}
			}()
			start := time.Now()
			changed, err := w.wait(context.Background())
			if err != nil || changed {
				t.Fatalf("wait = %v, %v; want false, nil", changed, err)
			}
			if d := time.Since(start); d < 250*time.Millisecond {
				t.Fatalf("returned after %v, before the quiet period", d)
			}
		})
	}
}

func TestWaiterReturnsWhenTheContextEnds(t *testing.T) {
	for impl := range waiterImpls {
		t.Run(impl, func(t *testing.T) {
			w, _, _ := newTestWaiter(t, impl, time.Minute)
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(20*time.Millisecond, cancel)
			start := time.Now()
			if _, err := w.wait(ctx); !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("returned after %v", d)
			}
		})
	}
}
