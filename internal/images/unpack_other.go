//go:build !linux

package images

import (
	"errors"
	"io"
	"log/slog"
)

// Layers become overlayfs lowerdirs, which exist only on Linux.
func unpackTar(io.Reader, string, *slog.Logger) error { return errors.ErrUnsupported }

func syncFS(string) error { return nil }
