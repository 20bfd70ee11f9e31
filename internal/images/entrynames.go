package images

import (
	"errors"
	"fmt"
	"path"
	"strings"
)

// OCI whiteout markers (image-spec layer.md). A ".wh.<name>" entry deletes
// <name> from the layers below; ".wh..wh..opq" hides everything below in
// its directory. Other ".wh..wh." names are AUFS bookkeeping and carry no
// meaning for overlayfs.
const (
	whiteoutPrefix     = ".wh."
	whiteoutMetaPrefix = ".wh..wh."
	whiteoutOpaqueDir  = ".wh..wh..opq"
)

// errUnsafePath marks a tar entry that would write outside the layer.
var errUnsafePath = errors.New("path escapes the layer root")

// cleanEntryName turns a tar entry name into a clean path relative to the
// layer root, "" for the root itself. A leading "/" is dropped (tar -x
// does the same); a ".." that would climb above the root is refused rather
// than silently clamped, because no honest image builder emits one.
func cleanEntryName(name string) (string, error) {
	c := path.Clean(strings.TrimLeft(name, "/"))
	if c == "." {
		return "", nil
	}
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", errUnsafePath
	}
	return c, nil
}

// whiteoutTarget returns the name a ".wh.<name>" entry deletes.
func whiteoutTarget(base string) (string, error) {
	t := strings.TrimPrefix(base, whiteoutPrefix)
	if t == "" || t == "." || t == ".." {
		return "", fmt.Errorf("whiteout of %q: %w", t, errUnsafePath)
	}
	return t, nil
}
