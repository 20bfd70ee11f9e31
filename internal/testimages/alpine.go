package testimages

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"runtime"
	"strings"
)

// rootfs holds the static files of the Alpine-based images: rootfs/alpine
// for both, rootfs/nginx for nginx:alpine.
//
//go:embed rootfs
var rootfs embed.FS

// embedded returns the files under rootfs/<tree> as entries at their
// image paths.
func embedded(tree string) ([]entry, error) {
	var es []entry
	base := "rootfs/" + tree
	err := fs.WalkDir(rootfs, base, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := rootfs.ReadFile(p)
		if err != nil {
			return err
		}
		es = append(es, file(strings.TrimPrefix(p, base), 0o644, data))
		return nil
	})
	return es, err
}

// apkPackage is an entry of apk's installed database. Versions follow
// Alpine 3.21; sizes are rough and only feed "OK: N MiB in M packages".
type apkPackage struct {
	name, version, description, url, license string
	size                                     int64
}

// alpineBase is what every Alpine image has before its own packages.
var alpineBase = []apkPackage{
	{"alpine-baselayout", "3.6.8-r1", "Alpine base dir structure and init scripts", "https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout", "GPL-2.0-only", 8 << 10},
	{"alpine-baselayout-data", "3.6.8-r1", "Alpine base dir structure and init scripts", "https://git.alpinelinux.org/cgit/aports/tree/main/alpine-baselayout", "GPL-2.0-only", 77 << 10},
	{"alpine-keys", "2.5-r0", "Public keys for Alpine Linux packages", "https://alpinelinux.org", "MIT", 89 << 10},
	{"alpine-release", "3.21.3-r0", "Alpine release data", "https://alpinelinux.org", "MIT", 4 << 10},
	{"apk-tools", "2.14.6-r3", "Alpine Package Keeper - package manager for alpine", "https://gitlab.alpinelinux.org/alpine/apk-tools", "GPL-2.0-only", 253 << 10},
	{"busybox", "1.37.0-r12", "Size optimized toolbox of many common UNIX utilities", "https://busybox.net/", "GPL-2.0-only", 787 << 10},
	{"busybox-binsh", "1.37.0-r12", "busybox ash /bin/sh", "https://busybox.net/", "GPL-2.0-only", 1 << 10},
	{"ca-certificates-bundle", "20241121-r1", "Pre generated bundle of Mozilla certificates", "https://www.mozilla.org/en-US/about/governance/policies/security-group/certs/", "MPL-2.0 AND MIT", 230 << 10},
	{"libcrypto3", "3.3.3-r0", "Crypto library from openssl", "https://www.openssl.org/", "Apache-2.0", 4622 << 10},
	{"libssl3", "3.3.3-r0", "SSL shared libraries", "https://www.openssl.org/", "Apache-2.0", 781 << 10},
	{"musl", "1.2.5-r9", "the musl c library (libc) implementation", "https://musl.libc.org/", "MIT", 639 << 10},
	{"musl-utils", "1.2.5-r9", "the musl c library (libc) implementation", "https://musl.libc.org/", "MIT AND BSD-2-Clause AND GPL-2.0-or-later", 120 << 10},
	{"scanelf", "1.3.8-r1", "Scan ELF binaries for stuff", "https://wiki.gentoo.org/wiki/Hardened/PaX_Utilities", "GPL-2.0-only", 79 << 10},
	{"ssl_client", "1.37.0-r12", "EXternal ssl_client for busybox wget", "https://busybox.net/", "GPL-2.0-only", 13 << 10},
	{"zlib", "1.3.1-r2", "A compression/decompression Library", "https://zlib.net/", "Zlib", 100 << 10},
}

var nginxPackages = []apkPackage{
	{"brotli-libs", "1.1.0-r2", "Generic lossless compressor (libraries)", "https://github.com/google/brotli", "MIT", 887 << 10},
	{"c-ares", "1.34.5-r0", "Asynchronous DNS/names resolver library", "https://c-ares.org/", "MIT", 234 << 10},
	{"curl", "8.12.1-r1", "URL retrival utility and library", "https://curl.se/", "curl", 260 << 10},
	{"libcurl", "8.12.1-r1", "The multiprotocol file transfer library", "https://curl.se/", "curl", 672 << 10},
	{"libidn2", "2.3.7-r0", "Encode/Decode library for internationalized domain names", "https://www.gnu.org/software/libidn#libidn2", "GPL-2.0-or-later OR LGPL-3.0-or-later", 408 << 10},
	{"libpsl", "0.21.5-r3", "C library for the Publix Suffix List", "https://rockdaboot.github.io/libpsl", "MIT", 72 << 10},
	{"libunistring", "1.2-r0", "Library for manipulating Unicode strings and C strings", "https://www.gnu.org/software/libunistring/", "GPL-2.0-or-later OR LGPL-3.0-or-later", 1688 << 10},
	{"nghttp2-libs", "1.64.0-r0", "Experimental HTTP/2 client, server and proxy (libraries)", "https://nghttp2.org", "MIT", 162 << 10},
	{"nginx", "1.27.5-r1", "High performance web server", "https://nginx.org/", "BSD-2-Clause", 1600 << 10},
	{"pcre2", "10.43-r0", "Perl-compatible regular expression library", "https://pcre.org/", "BSD-3-Clause", 636 << 10},
	{"tzdata", "2025b-r0", "Timezone data", "https://www.iana.org/time-zones", "Public-Domain", 1478 << 10},
	{"zstd-libs", "1.5.6-r2", "Zstandard - Fast real-time compression algorithm (libraries)", "https://www.zstd.net", "BSD-3-Clause OR GPL-2.0-or-later", 708 << 10},
}

var stressPackages = []apkPackage{
	{"libgcc", "14.2.0-r4", "GNU C compiler runtime libraries", "https://gcc.gnu.org", "GPL-2.0-or-later AND LGPL-2.1-or-later", 232 << 10},
	{"libstdc++", "14.2.0-r4", "GNU C++ standard runtime library", "https://gcc.gnu.org", "GPL-2.0-or-later AND LGPL-2.1-or-later", 2708 << 10},
}

// alpineEntries makes a layer's Alpine files: os-release, the apk
// configuration, the installed database and world file for pkgs, and the
// apk stand-in itself.
func alpineEntries(apk []byte, world []string, pkgs ...[]apkPackage) ([]entry, error) {
	es, err := embedded("alpine")
	if err != nil {
		return nil, err
	}
	var db strings.Builder
	for _, list := range append([][]apkPackage{alpineBase}, pkgs...) {
		for _, p := range list {
			fmt.Fprintf(&db, "P:%s\nV:%s\nA:%s\nI:%d\nT:%s\nU:%s\nL:%s\no:%s\n\n",
				p.name, p.version, apkArch(), p.size, p.description, p.url, p.license, origin(p.name))
		}
	}
	return append(es,
		dir("/lib/apk/db", 0o755),
		file("/lib/apk/db/installed", 0o644, []byte(db.String())),
		file("/etc/apk/world", 0o644, []byte(strings.Join(world, "\n")+"\n")),
		file("/sbin/apk", 0o755, apk),
	), nil
}

func apkArch() string {
	if runtime.GOARCH == "arm64" {
		return "aarch64"
	}
	return "x86_64"
}

// origin is the aport a package is built from.
func origin(name string) string {
	switch {
	case strings.HasPrefix(name, "alpine-baselayout"):
		return "alpine-baselayout"
	case name == "busybox-binsh" || name == "ssl_client":
		return "busybox"
	case name == "libcrypto3" || name == "libssl3":
		return "openssl"
	case name == "musl-utils":
		return "musl"
	case name == "libcurl":
		return "curl"
	case name == "libgcc" || name == "libstdc++":
		return "gcc"
	case strings.HasSuffix(name, "-libs"):
		return strings.TrimSuffix(name, "-libs")
	case name == "ca-certificates-bundle":
		return "ca-certificates"
	}
	return path.Base(name)
}
