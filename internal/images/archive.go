package images

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// maxMetadataSize bounds manifests, indexes and configs read from an
// archive into memory.
const maxMetadataSize = 16 << 20

// tarArchive gives random access to the files of an image tarball by
// reopening it and skipping to the entry; tar.Reader seeks over file data,
// so that costs one header read per entry.
type tarArchive struct {
	path    string
	entries map[string]*tar.Header
}

// archiveImage is one image found in an archive.
type archiveImage struct {
	names     []reference
	rawConfig []byte
	layers    []func() (io.ReadCloser, error) // blob streams, maybe compressed
}

func openTarArchive(p string) (*tarArchive, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a := &tarArchive{path: p, entries: map[string]*tar.Header{}}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return a, nil
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		a.entries[archivePath(hdr.Name)] = hdr
	}
}

func archivePath(n string) string { return strings.TrimPrefix(path.Clean("/"+n), "/") }

func (a *tarArchive) has(name string) bool { _, ok := a.entries[name]; return ok }

// open streams one file, following symlinks and hard links between
// entries (old docker save output links duplicate layers).
func (a *tarArchive) open(name string) (io.ReadCloser, error) {
	name = archivePath(name)
	for hops := 0; ; hops++ {
		hdr, ok := a.entries[name]
		if !ok {
			return nil, fmt.Errorf("%s: no %s in archive", a.path, name)
		}
		if hops > 16 {
			return nil, fmt.Errorf("%s: too many links at %s", a.path, name)
		}
		if hdr.Typeflag == tar.TypeSymlink {
			name = archivePath(path.Join(path.Dir(name), hdr.Linkname))
			continue
		}
		if hdr.Typeflag == tar.TypeLink {
			name = archivePath(hdr.Linkname)
			continue
		}
		break
	}
	f, err := os.Open(a.path)
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(f)
	for {
		hdr, err := tr.Next()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: finding %s: %w", a.path, name, err)
		}
		if archivePath(hdr.Name) == name {
			return struct {
				io.Reader
				io.Closer
			}{tr, f}, nil
		}
	}
}

func (a *tarArchive) readFile(name string) ([]byte, error) {
	rc, err := a.open(name)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(io.LimitReader(rc, maxMetadataSize+1))
	if err != nil {
		return nil, fmt.Errorf("%s: reading %s: %w", a.path, name, err)
	}
	if len(data) > maxMetadataSize {
		return nil, fmt.Errorf("%s: %s is larger than %d bytes", a.path, name, maxMetadataSize)
	}
	return data, nil
}

// readBlob reads a content-addressed file and checks its digest.
func (a *tarArchive) readBlob(name string, want v1.Hash) ([]byte, error) {
	data, err := a.readFile(name)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if got := "sha256:" + hex.EncodeToString(sum[:]); want.Algorithm != "sha256" || got != want.String() {
		return nil, fmt.Errorf("%s: %s has digest %s, want %s", a.path, name, got, want)
	}
	return data, nil
}

// uncompressed turns a layer blob stream, gzip, zstd or plain tar, into its
// tar stream; go-containerregistry sniffs the compression from the bytes.
func uncompressed(open func() (io.ReadCloser, error)) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) {
		l, err := partial.CompressedToLayer(archiveBlob{open})
		if err != nil {
			return nil, err
		}
		return l.Uncompressed()
	}
}

// archiveBlob adapts a blob stream to partial.CompressedLayer; only
// Compressed is ever called on the way to Uncompressed.
type archiveBlob struct{ open func() (io.ReadCloser, error) }

func (b archiveBlob) Compressed() (io.ReadCloser, error) { return b.open() }
func (b archiveBlob) Digest() (v1.Hash, error)           { return v1.Hash{}, errors.ErrUnsupported }
func (b archiveBlob) Size() (int64, error)               { return 0, errors.ErrUnsupported }
func (b archiveBlob) MediaType() (types.MediaType, error) {
	return types.DockerLayer, nil
}

func parseConfigDiffIDs(rawConfig []byte) ([]v1.Hash, error) {
	cfg, err := v1.ParseConfigFile(bytes.NewReader(rawConfig))
	if err != nil {
		return nil, fmt.Errorf("parsing image config: %w", err)
	}
	return cfg.RootFS.DiffIDs, nil
}
