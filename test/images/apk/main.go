// Command apk is orca's offline stand-in for Alpine's apk-tools in the
// nginx:alpine and polinux/stress test images. Tests must be hermetic, so
// nothing is downloaded: "apk add" succeeds for packages the image already
// holds (curl among them) and fails, as apk does for an unknown name, for
// the rest. It reads the real installed database, /lib/apk/db/installed,
// and records added names in /etc/apk/world as apk does.
//
// Supported: add [--no-cache] [-U] [-q] PKG..., info [-v|-e|PKG], list -I,
// update, --version; --root/-p DIR selects another root (apk's own option).
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

const version = "apk-tools 2.14.6, compiled for x86_64."

// pkg is one entry of the installed database.
type pkg struct {
	name, version, arch, description, url, origin, license string
	installedSize                                          int64
}

func main() {
	root := "/"
	quiet := false
	var args []string
	in := os.Args[1:]
	for i := 0; i < len(in); i++ {
		switch a := in[i]; {
		case a == "--root" || a == "-p":
			if i+1 < len(in) {
				i++
				root = in[i]
			}
		case strings.HasPrefix(a, "--root="):
			root = strings.TrimPrefix(a, "--root=")
		case a == "-q" || a == "--quiet":
			quiet = true
		case a == "--no-cache" || a == "-U" || a == "--update-cache" || a == "--no-progress" || a == "--force-broken-world":
		case a == "--version" || a == "-V":
			fmt.Println(version)
			return
		default:
			args = append(args, a)
		}
	}
	if len(args) == 0 {
		usage()
		os.Exit(1)
	}
	db := filepath.Join(root, "lib/apk/db/installed")
	pkgs, err := readInstalled(db)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: Failed to open apk database: %s\n", cText(err))
		os.Exit(99)
	}
	switch args[0] {
	case "add":
		os.Exit(add(root, pkgs, args[1:], quiet))
	case "info":
		os.Exit(info(pkgs, args[1:]))
	case "list":
		for _, p := range pkgs {
			fmt.Printf("%s-%s %s {%s} (%s) [installed]\n", p.name, p.version, p.arch, p.origin, p.license)
		}
	case "update":
		fmt.Printf("OK: %d distinct packages available\n", len(pkgs))
	case "del":
		fmt.Fprintln(os.Stderr, "ERROR: apk del is not supported by orca's offline test image")
		os.Exit(1)
	default:
		fmt.Fprintf(os.Stderr, "apk: unknown applet %q\n", args[0])
		usage()
		os.Exit(1)
	}
}

func usage() {
	fmt.Fprintf(os.Stderr, "%s\n\nusage: apk [<OPTIONS>...] COMMAND [<ARGUMENTS>...]\n\n"+
		"Package installation and removal:\n  add     Add packages to WORLD and commit changes\n"+
		"Querying package information:\n  info    Give detailed information about packages or repositories\n"+
		"  list    List packages matching a pattern or other criteria\n"+
		"Repository maintenance:\n  update  Update repository indexes\n\n"+
		"This apk is an offline stand-in: only packages already in the image can be added.\n", version)
}

// add succeeds when every named package is installed, recording the names
// in the world file; otherwise it reports them as apk does and fails.
func add(root string, pkgs []pkg, names []string, quiet bool) int {
	var wanted []string
	for _, n := range names {
		if strings.HasPrefix(n, "-") {
			continue // options such as --virtual are accepted and ignored
		}
		wanted = append(wanted, n)
	}
	if len(wanted) == 0 {
		fmt.Fprintln(os.Stderr, "ERROR: no packages specified")
		return 1
	}
	lock, err := os.OpenFile(filepath.Join(root, "lib/apk/db/lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: Unable to lock database: %s\n", cText(err))
		fmt.Fprintf(os.Stderr, "ERROR: Failed to open apk database: %s\n", cText(err))
		return 99
	}
	defer lock.Close()

	var missing []string
	for _, w := range wanted {
		name := packageName(w)
		if !slices.ContainsFunc(pkgs, func(p pkg) bool { return p.name == name }) {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		fmt.Fprintln(os.Stderr, "WARNING: orca's test image is offline; only packages it already contains can be added")
		fmt.Fprintln(os.Stderr, "ERROR: unable to select packages:")
		for _, m := range missing {
			fmt.Fprintf(os.Stderr, "  %s (no such package):\n    required by: world[%s]\n", m, m)
		}
		return len(missing)
	}
	if err := addToWorld(filepath.Join(root, "etc/apk/world"), wanted); err != nil {
		fmt.Fprintf(os.Stderr, "ERROR: Unable to write world: %s\n", cText(err))
		return 1
	}
	if !quiet {
		var total int64
		for _, p := range pkgs {
			total += p.installedSize
		}
		fmt.Printf("OK: %d MiB in %d packages\n", (total+(1<<20)-1)>>20, len(pkgs))
	}
	return 0
}

// packageName drops a version constraint: curl=8.12.1-r1, curl>8, curl~8.
func packageName(s string) string {
	if i := strings.IndexAny(s, "=<>~"); i >= 0 {
		return s[:i]
	}
	return s
}

func addToWorld(path string, names []string) error {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	world := strings.Fields(string(data))
	for _, n := range names {
		if !slices.Contains(world, n) {
			world = append(world, n)
		}
	}
	slices.Sort(world)
	return os.WriteFile(path, []byte(strings.Join(world, "\n")+"\n"), 0o644)
}

func info(pkgs []pkg, args []string) int {
	verbose, exists := false, false
	var names []string
	for _, a := range args {
		switch a {
		case "-v", "-vv":
			verbose = true
		case "-e", "--installed":
			exists = true
		default:
			names = append(names, a)
		}
	}
	if len(names) == 0 {
		for _, p := range pkgs {
			if verbose {
				fmt.Printf("%s-%s\n", p.name, p.version)
			} else {
				fmt.Println(p.name)
			}
		}
		return 0
	}
	status := 0
	for _, n := range names {
		i := slices.IndexFunc(pkgs, func(p pkg) bool { return p.name == n })
		switch {
		case i < 0:
			status = 1
		case exists:
			fmt.Println(n)
		default:
			p := pkgs[i]
			id := p.name + "-" + p.version
			fmt.Printf("%s description:\n%s\n\n%s webpage:\n%s\n\n%s installed size:\n%d KiB\n\n",
				id, p.description, id, p.url, id, p.installedSize>>10)
		}
	}
	return status
}

// readInstalled parses apk's database: blank-line separated records of
// "X:value" lines (P name, V version, A arch, I installed size, T
// description, U url, o origin, L license).
func readInstalled(path string) ([]pkg, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []pkg
	var cur pkg
	flush := func() {
		if cur.name != "" {
			out = append(out, cur)
		}
		cur = pkg{}
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			flush()
			continue
		}
		key, value, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		switch key {
		case "P":
			cur.name = value
		case "V":
			cur.version = value
		case "A":
			cur.arch = value
		case "T":
			cur.description = value
		case "U":
			cur.url = value
		case "o":
			cur.origin = value
		case "L":
			cur.license = value
		case "I":
			fmt.Sscan(value, &cur.installedSize)
		}
	}
	flush()
	return out, sc.Err()
}

func cText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	s := err.Error()
	return strings.ToUpper(s[:1]) + s[1:]
}
