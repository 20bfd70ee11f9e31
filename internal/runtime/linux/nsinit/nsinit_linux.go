// Package nsinit turns the binary that imports it into a container init
// when libcontainer re-executes it as `<binary> init`, and into a pod's
// pause process when the runtime starts it as `<binary> orca-pause`.
//
// Import it for its side effect from the main package:
//
//	import _ "github.com/orca-pods/orca/internal/runtime/linux/nsinit"
//
// Doing this in a package of its own, with few dependencies, makes it
// early: Go initializes packages in import-path order as soon as their
// imports are initialized, so this init runs before those of most of the
// binary's packages (k8s.io/..., go.etcd.io/..., google.golang.org/...),
// which a container init does not need and which would add tens of
// milliseconds to every container start, and memory to every pause process.
package nsinit

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
	// nsenter's C constructor runs before the Go runtime starts and sets
	// up the container's namespaces.
	_ "github.com/opencontainers/runc/libcontainer/nsenter"
)

func init() {
	if len(os.Args) < 2 {
		return
	}
	switch os.Args[1] {
	case "init":
		libcontainer.Init() // never returns
	case PauseArg:
		pause() // never returns
	}
}
