package testimages

import (
	"archive/tar"
	"bytes"
	"fmt"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// epoch is every file's mtime and every image's creation time, so builds
// are byte-for-byte reproducible.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// entry is one file, directory or symlink of a layer.
type entry struct {
	path     string // absolute, e.g. "/bin/sh"
	typ      byte   // tar.TypeDir, tar.TypeReg or tar.TypeSymlink
	mode     int64  // permission bits, with sticky/setuid bits
	uid, gid int
	data     []byte // regular files
	link     string // symlinks
}

func dir(p string, mode int64) entry { return entry{path: p, typ: tar.TypeDir, mode: mode} }

func file(p string, mode int64, data []byte) entry {
	return entry{path: p, typ: tar.TypeReg, mode: mode, data: data}
}

func symlink(p, target string) entry {
	return entry{path: p, typ: tar.TypeSymlink, mode: 0o777, link: target}
}

func owned(e entry, uid, gid int) entry {
	e.uid, e.gid = uid, gid
	return e
}

// newLayer writes entries as a gzip-compressed OCI layer: sorted by path,
// parents before children (missing parents are added as root-owned 0755
// directories), fixed times, numeric owners only. Compressed layers are
// cached in cacheDir by diffID.
func newLayer(entries []entry, cacheDir string) (v1.Layer, error) {
	byPath := map[string]entry{}
	for _, e := range entries {
		byPath[path.Clean(e.path)] = e
	}
	for p := range byPath {
		for d := path.Dir(p); d != "/"; d = path.Dir(d) {
			if _, ok := byPath[d]; !ok {
				byPath[d] = dir(d, 0o755)
			}
		}
	}
	paths := make([]string, 0, len(byPath))
	for p := range byPath {
		paths = append(paths, p)
	}
	// Sorting by components keeps every directory before its contents.
	sort.Slice(paths, func(i, j int) bool { return pathLess(paths[i], paths[j]) })

	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, p := range paths {
		e := byPath[p]
		hdr := &tar.Header{
			Typeflag: e.typ,
			Name:     p[1:],
			Mode:     e.mode,
			Uid:      e.uid,
			Gid:      e.gid,
			ModTime:  epoch,
		}
		switch e.typ {
		case tar.TypeDir:
			hdr.Name += "/"
		case tar.TypeReg:
			hdr.Size = int64(len(e.data))
		case tar.TypeSymlink:
			hdr.Linkname = e.link
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("layer %s: %w", p, err)
		}
		if e.typ == tar.TypeReg {
			if _, err := tw.Write(e.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}

	return compressedLayer(tarBuf.Bytes(), cacheDir)
}

// pathLess orders paths component by component ("/a" < "/a/b" < "/a-b").
func pathLess(a, b string) bool {
	for a != "" && b != "" {
		var ca, cb string
		ca, a = cut(a)
		cb, b = cut(b)
		if ca != cb {
			return ca < cb
		}
	}
	return a == "" && b != ""
}

func cut(p string) (first, rest string) {
	p = p[1:]
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			return p[:i], p[i:]
		}
	}
	return p, ""
}
