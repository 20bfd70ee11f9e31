package images

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sync/errgroup"
)

// errDigestMismatch means layer content does not hash to the diffID the
// image config promises: a corrupt download or a tampered archive.
var errDigestMismatch = errors.New("layer content does not match its digest")

// maxParallelLayers bounds concurrent layer downloads per pull, like
// containerd's default max_concurrent_downloads.
const maxParallelLayers = 3

// layerInfo is stored next to each layer directory as <diffID>.json.
type layerInfo struct {
	DiffID string `json:"diffID"`
	Size   int64  `json:"size"` // bytes of the uncompressed tar stream
}

// layerSource is a layer to make present: its diffID from the image config,
// how to read its uncompressed tar stream, and its blob size as fetched
// (-1 when unknown) for PullStats.
type layerSource struct {
	diffID v1.Hash
	open   func() (io.ReadCloser, error)
	size   int64
}

// ensureLayers makes every layer present, unpacking missing ones in
// parallel, and returns their infos in order plus the blob bytes fetched.
func (s *Store) ensureLayers(ctx context.Context, sources []layerSource) ([]layerInfo, int64, error) {
	infos := make([]layerInfo, len(sources))
	var fetched atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(maxParallelLayers)
	for i, src := range sources {
		g.Go(func() error {
			info, unpacked, err := s.ensureLayer(gctx, src.diffID, src.open)
			if err != nil {
				return err
			}
			if unpacked && src.size > 0 {
				fetched.Add(src.size)
			}
			infos[i] = info
			return nil
		})
	}
	err := g.Wait()
	return infos, fetched.Load(), err
}

// ensureLayer makes layers/sha256/<diffID>/ exist. Each digest is unpacked
// at most once however many pulls want it: callers in this process queue on
// a per-digest mutex and then find the directory; another process racing us
// loses the final rename and discards its copy. Unpacking happens in tmp/
// (same filesystem) and the directory appears with one rename only after
// the content hashed to diffID, so a half or wrong layer is never visible.
func (s *Store) ensureLayer(ctx context.Context, diffID v1.Hash, open func() (io.ReadCloser, error)) (info layerInfo, unpacked bool, err error) {
	unlock := s.layerLocks.lock(diffID.String())
	defer unlock()
	if info, err := s.readLayerInfo(diffID); err == nil || !errors.Is(err, fs.ErrNotExist) {
		return info, false, err
	}

	tmp, err := os.MkdirTemp(s.path("tmp"), "layer-")
	if err != nil {
		return layerInfo{}, false, fmt.Errorf("unpacking layer %s: %w", diffID, err)
	}
	defer func() {
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return layerInfo{}, false, err
	}
	rc, err := open()
	if err != nil {
		return layerInfo{}, false, fmt.Errorf("fetching layer %s: %w", diffID, err)
	}
	defer rc.Close()
	h := sha256.New()
	var n countWriter
	r := io.TeeReader(ctxReader{ctx, rc}, io.MultiWriter(h, &n))
	if err := unpackTar(r, tmp, s.log); err != nil {
		return layerInfo{}, false, fmt.Errorf("unpacking layer %s: %w", diffID, err)
	}
	// The digest covers the whole stream, including tar padding after the
	// end-of-archive marker; draining also lets the compressed-blob
	// verification below us see EOF.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return layerInfo{}, false, fmt.Errorf("fetching layer %s: %w", diffID, err)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != diffID.String() {
		return layerInfo{}, false, fmt.Errorf("layer %s: got %s: %w", diffID, got, errDigestMismatch)
	}
	if err := syncFS(tmp); err != nil {
		return layerInfo{}, false, fmt.Errorf("unpacking layer %s: %w", diffID, err)
	}
	info = layerInfo{DiffID: diffID.String(), Size: int64(n)}
	data, _ := json.Marshal(info)
	final := s.layerDir(diffID.String())
	// The info file goes first, so a visible directory always has one.
	if err := writeFileAtomic(final+".json", data); err != nil {
		return layerInfo{}, false, err
	}
	switch err := os.Rename(tmp, final); {
	case err == nil:
		tmp = "" // it is the layer now
	case isExist(err):
		// Another process finished the same layer first; its copy is
		// identical and ours goes away with tmp.
	default:
		return layerInfo{}, false, fmt.Errorf("unpacking layer %s: %w", diffID, err)
	}
	if err := syncDir(s.path("layers", "sha256")); err != nil {
		return layerInfo{}, false, err
	}
	s.log.Debug("unpacked layer", "diffID", diffID.String(), "size", info.Size)
	return info, true, nil
}

// readLayerInfo returns fs.ErrNotExist when the layer is not unpacked.
func (s *Store) readLayerInfo(diffID v1.Hash) (layerInfo, error) {
	final := s.layerDir(diffID.String())
	if _, err := os.Stat(final); err != nil {
		return layerInfo{}, err
	}
	var info layerInfo
	data, err := os.ReadFile(final + ".json")
	if err != nil {
		return layerInfo{}, fmt.Errorf("layer %s: %w", diffID, err)
	}
	if err := json.Unmarshal(data, &info); err != nil {
		return layerInfo{}, fmt.Errorf("layer %s info: %w", diffID, err)
	}
	return info, nil
}

// isExist reports a rename that lost to an existing directory.
func isExist(err error) bool {
	return errors.Is(err, fs.ErrExist) || errors.Is(err, syscall.ENOTEMPTY)
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// ctxReader stops a long copy when ctx ends; archive files and some
// transports would otherwise keep going.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// keyedMutex is a mutex per key, created on demand and dropped when unused.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*refMutex
}

type refMutex struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) (unlock func()) {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*refMutex{}
	}
	m, ok := k.locks[key]
	if !ok {
		m = &refMutex{}
		k.locks[key] = m
	}
	m.refs++
	k.mu.Unlock()
	m.Lock()
	return func() {
		m.Unlock()
		k.mu.Lock()
		if m.refs--; m.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
