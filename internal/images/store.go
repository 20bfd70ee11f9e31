package images

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Config configures a Store.
type Config struct {
	// Root holds all store data (see the package doc for the layout).
	Root string
	// Registries configures mirrors, auth and TLS for pulls.
	Registries RegistryConfig
	Logger     *slog.Logger
}

// Store keeps images on local disk. It is safe for concurrent use, also by
// several processes sharing one Root.
type Store struct {
	root       string
	log        *slog.Logger
	registries *registries
	layerLocks keyedMutex

	mu      sync.Mutex
	records map[string]*record // by ID; records never change once written
}

// Image is a stored image.
type Image struct {
	// Name is the reference the image was asked for by (Pull, or Get by a
	// name), else its first tag, else its first repo digest; "" when the
	// image has neither.
	Name string
	// Names are the image's tags, e.g. docker.io/library/busybox:latest.
	Names []string
	// ID is the config digest, sha256:<hex>.
	ID string
	// RepoDigest is the digest reference the image was pulled as, e.g.
	// docker.io/library/busybox@sha256:<manifest or index digest>; it is
	// what the kubelet reports as a container's imageID. RepoDigests lists
	// all of them.
	RepoDigest  string
	RepoDigests []string
	// Size is the sum of the uncompressed layer sizes.
	Size int64
	// Layers are absolute paths of unpacked layer directories, lowest
	// first. overlayfs lists lowerdirs topmost first, so mount them
	// reversed: lowerdir=Ln:...:L0. They are shared and must stay
	// read-only; a container writes to its own upperdir.
	Layers []string
	Config ImageConfig
}

// New opens (creating if needed) the store at cfg.Root.
func New(cfg Config) (*Store, error) {
	if cfg.Root == "" {
		return nil, errors.New("images: root is required")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("images: %w", err)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	regs, err := compileRegistries(cfg.Registries)
	if err != nil {
		return nil, fmt.Errorf("images: registries: %w", err)
	}
	s := &Store{root: root, log: cfg.Logger, registries: regs, records: map[string]*record{}}
	for _, dir := range []string{"layers/sha256", "imagedb/sha256", "tmp"} {
		if err := os.MkdirAll(s.path(dir), 0o700); err != nil {
			return nil, fmt.Errorf("images: %w", err)
		}
	}
	if err := s.cleanTmp(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) path(elem ...string) string {
	return filepath.Join(append([]string{s.root}, elem...)...)
}

func (s *Store) layerDir(diffID string) string {
	return s.path("layers", "sha256", trimAlgo(diffID))
}

// cleanTmp removes what a crashed pull or import left in tmp/. It only does
// so when no other process is using the store, because their work in
// progress lives there too.
func (s *Store) cleanTmp() error {
	unlock, ok, err := tryFlockExclusive(s.path("store.lock"))
	if err != nil || !ok {
		return err
	}
	defer unlock()
	entries, err := os.ReadDir(s.path("tmp"))
	if err != nil {
		return fmt.Errorf("images: %w", err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(s.path("tmp", e.Name())); err != nil {
			return fmt.Errorf("images: cleaning tmp: %w", err)
		}
	}
	return nil
}

// Get finds a local image by the name users write ("busybox"), its full
// name, its repo digest, its ID or a unique ID prefix.
func (s *Store) Get(ref string) (*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	id, asked, err := s.resolve(idx, ref)
	if err != nil {
		return nil, err
	}
	return s.image(idx, id, asked)
}

// resolve finds the image ID ref means, and the normalized name it was
// asked by ("" when ref is an ID).
func (s *Store) resolve(idx *nameIndex, ref string) (id, asked string, err error) {
	if r, err := parseReference(ref); err == nil {
		if id, ok := idx.Refs[r.String()]; ok {
			return id, r.String(), nil
		}
	}
	if prefix, ok := idPrefix(ref); ok {
		entries, err := os.ReadDir(s.path("imagedb", "sha256"))
		if err != nil {
			return "", "", fmt.Errorf("listing images: %w", err)
		}
		var found []string
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), prefix) {
				found = append(found, "sha256:"+e.Name())
			}
		}
		if len(found) == 1 {
			return found[0], "", nil
		}
		if len(found) > 1 {
			return "", "", fmt.Errorf("image ID prefix %q is ambiguous", ref)
		}
	}
	return "", "", fmt.Errorf("image %q: %w", ref, ErrNotFound)
}

// List returns all stored images, named ones first by name, then by ID.
func (s *Store) List() ([]*Image, error) {
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(s.path("imagedb", "sha256"))
	if err != nil {
		return nil, fmt.Errorf("listing images: %w", err)
	}
	var out []*Image
	for _, e := range entries {
		img, err := s.image(idx, "sha256:"+e.Name(), "")
		if errors.Is(err, ErrNotFound) {
			continue // removed meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, img)
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Name == "") != (out[j].Name == "") {
			return out[i].Name != ""
		}
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// image assembles the Image for id with its names from idx.
func (s *Store) image(idx *nameIndex, id, asked string) (*Image, error) {
	rec, err := s.readRecord(id)
	if err != nil {
		return nil, err
	}
	img := &Image{ID: rec.ID, Size: rec.Size, Config: rec.imageConfig()}
	for _, d := range rec.DiffIDs {
		img.Layers = append(img.Layers, s.layerDir(d))
	}
	for _, ref := range idx.refsTo(id) {
		if isDigestRef(ref) {
			img.RepoDigests = append(img.RepoDigests, ref)
		} else {
			img.Names = append(img.Names, ref)
		}
	}
	img.Name = asked
	if img.Name == "" && len(img.Names) > 0 {
		img.Name = img.Names[0]
	}
	if img.Name == "" && len(img.RepoDigests) > 0 {
		img.Name = img.RepoDigests[0]
	}
	// Prefer the repo digest of the repository the image was asked by.
	askedRepo, _ := SplitName(img.Name)
	for _, d := range img.RepoDigests {
		if repo, _ := SplitName(d); repo == askedRepo {
			img.RepoDigest = d
			break
		}
	}
	if img.RepoDigest == "" && len(img.RepoDigests) > 0 {
		img.RepoDigest = img.RepoDigests[0]
	}
	return img, nil
}
