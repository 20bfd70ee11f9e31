package testimages

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// blobLayer is a gzip-compressed OCI layer held in memory with both of its
// digests known, so images are assembled without re-reading layers.
type blobLayer struct {
	uncompressed, compressed []byte
	diffID, digest           v1.Hash
}

var _ v1.Layer = (*blobLayer)(nil)

// compressedLayer gzips a layer tarball, or reads the result of an earlier
// process from cacheDir: gzip is most of the time a build takes.
func compressedLayer(tarball []byte, cacheDir string) (v1.Layer, error) {
	diffID := sha256Hash(tarball)
	cached := filepath.Join(cacheDir, "layers", diffID.Hex+".tar.gz")
	gz, err := os.ReadFile(cached)
	if err != nil {
		var buf bytes.Buffer
		zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
		if err != nil {
			return nil, err
		}
		if _, err := zw.Write(tarball); err != nil {
			return nil, err
		}
		if err := zw.Close(); err != nil {
			return nil, err
		}
		gz = buf.Bytes()
		// Best effort: without a cache the next process compresses again.
		_ = writeFileAtomic(cached, gz)
	}
	return &blobLayer{uncompressed: tarball, compressed: gz, diffID: diffID, digest: sha256Hash(gz)}, nil
}

func sha256Hash(b []byte) v1.Hash {
	sum := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(sum[:])}
}

// writeFileAtomic writes through a temporary file and a rename, so a
// concurrent reader sees the whole file or none.
func writeFileAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func (l *blobLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *blobLayer) Size() (int64, error)     { return int64(len(l.compressed)), nil }

func (l *blobLayer) MediaType() (types.MediaType, error) { return types.OCILayer, nil }

func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.compressed)), nil
}

func (l *blobLayer) Uncompressed() (io.ReadCloser, error) {
	return io.NopCloser(bytes.NewReader(l.uncompressed)), nil
}
