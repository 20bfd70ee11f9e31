package pods

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResolveSubPathStaysInTheVolume(t *testing.T) {
	vol, outside := t.TempDir(), t.TempDir()
	if err := os.Symlink(outside, filepath.Join(vol, "escape")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("inner", filepath.Join(vol, "alias")); err != nil {
		t.Fatal(err)
	}
	if _, err := resolveSubPath(vol, "escape/x"); err == nil {
		t.Error("a symlink out of the volume was followed")
	}
	if _, err := os.Stat(filepath.Join(outside, "x")); !os.IsNotExist(err) {
		t.Error("a directory was created outside the volume")
	}
	got, err := resolveSubPath(vol, "a/b")
	if err != nil || got != filepath.Join(vol, "a", "b") {
		t.Errorf("a/b: %q, %v", got, err)
	}
	if err := os.Mkdir(filepath.Join(vol, "inner"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, err := resolveSubPath(vol, "alias"); err != nil || got != filepath.Join(vol, "inner") {
		t.Errorf("alias: %q, %v", got, err)
	}
}
