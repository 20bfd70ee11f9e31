package linux

import (
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/orca-pods/orca/internal/runtime"
)

// tickNumbers parses the "tick <n>" lines of a log.
func tickNumbers(t *testing.T, path string) []int {
	t.Helper()
	var out []int
	for _, line := range strings.Split(strings.TrimSuffix(logText(t, path, "stdout"), "\n"), "\n") {
		if line == "" {
			continue
		}
		n, err := strconv.Atoi(strings.TrimPrefix(line, "tick "))
		if err != nil {
			t.Fatalf("%s: line %q", path, line)
		}
		out = append(out, n)
	}
	return out
}

func waitTicks(t *testing.T, path string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if fi, err := os.Stat(path); err == nil && fi.Size() > 0 && len(tickNumbers(t, path)) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: fewer than %d ticks", path, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log rotation renames the file, then reopens: the lines written before
// stay in the renamed file, the ones after go to a fresh file, and none is
// lost or written twice.
func TestReopenContainerLogSendsNewLinesToAFreshFile(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	sb := e.sandbox("rotate")
	cfg := e.config("ticker", "sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.01; done")
	id := e.start(sb, cfg)
	waitTicks(t, cfg.LogPath, 5)

	rotated := cfg.LogPath + ".20240101-000000"
	if err := os.Rename(cfg.LogPath, rotated); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.ReopenContainerLog(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitTicks(t, cfg.LogPath, 5)
	oldSize := func() int64 {
		fi, err := os.Stat(rotated)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	before := oldSize()
	time.Sleep(100 * time.Millisecond)
	if after := oldSize(); after != before {
		t.Errorf("the renamed file still grows: %d -> %d bytes", before, after)
	}
	if err := e.rt.StopContainer(ctx, id, 0); err != nil {
		t.Fatal(err)
	}

	old, cur := tickNumbers(t, rotated), tickNumbers(t, cfg.LogPath)
	all := append(old, cur...)
	for i, n := range all {
		if n != i+1 {
			t.Fatalf("ticks not consecutive across the files at %d: old ends %v, new starts %v", i, old[max(0, len(old)-3):], cur[:min(3, len(cur))])
		}
	}
	t.Logf("%d ticks in the renamed file, %d in the new one", len(old), len(cur))

	if err := e.rt.ReopenContainerLog(ctx, id); !errors.Is(err, runtime.ErrNotRunning) {
		t.Errorf("reopen of an exited container: %v, want ErrNotRunning", err)
	}
	if err := e.rt.ReopenContainerLog(ctx, "nope"); !errors.Is(err, runtime.ErrNotFound) {
		t.Errorf("reopen of an unknown container: %v, want ErrNotFound", err)
	}
}

// ReopenContainerLog recreates a log whose directory was removed too.
func TestReopenContainerLogCreatesAMissingLogDir(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	sb := e.sandbox("rotate-dir")
	cfg := e.config("ticker", "sh", "-c", "i=0; while :; do i=$((i+1)); echo tick $i; sleep 0.01; done")
	cfg.LogPath = e.base + "/logs/sub/ticker.log"
	id := e.start(sb, cfg)
	waitTicks(t, cfg.LogPath, 1)
	if err := os.RemoveAll(e.base + "/logs/sub"); err != nil {
		t.Fatal(err)
	}
	if err := e.rt.ReopenContainerLog(ctx, id); err != nil {
		t.Fatal(err)
	}
	waitTicks(t, cfg.LogPath, 3)
}
