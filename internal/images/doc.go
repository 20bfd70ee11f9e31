// Package images is the node's image store. It pulls images from registries
// (through k3s-style mirrors), imports docker-archive and OCI-archive
// tarballs, and keeps every image as a stack of unpacked layer directories
// that are ready to be overlayfs lowerdirs.
//
// Everything lives under Config.Root. The agent uses <data-dir>/images/store
// (DefaultRoot) and auto-imports <data-dir>/images/*.tar (AutoImportDir), so
// dropped-in tarballs never mix with store internals:
//
//	layers/sha256/<diffID>/          one unpacked layer, shared by all images having it
//	layers/sha256/<diffID>.json      its size; written before the directory appears
//	imagedb/sha256/<id>/config.json  the image config; id is its sha256
//	imagedb/sha256/<id>/image.json   layer list, size, when it was stored
//	names.json                       reference -> image ID, for tags and repo digests
//	tmp/                             work in progress, on the same filesystem so a
//	                                 finished layer or record appears with one rename
//	store.lock, names.lock           flock(2) files, so the agent and `orca images`
//	                                 can work on one store at the same time
//
// A directory under layers/ or imagedb/ is complete by construction: it is
// built in tmp/ and renamed into place, and removed by renaming it back out.
package images

import "path/filepath"

// DefaultRoot is the store root for an agent data directory.
func DefaultRoot(dataDir string) string { return filepath.Join(dataDir, "images", "store") }

// AutoImportDir is where the agent looks for image tarballs at start.
func AutoImportDir(dataDir string) string { return filepath.Join(dataDir, "images") }
