package main

import (
	"runtime"

	// Makes `orca init` a container init (libcontainer re-executes this
	// binary so), and `orca orca-pause` the pause process of a pod that
	// shares its process namespace, before most packages' init functions
	// run.
	_ "github.com/orca-pods/orca/internal/runtime/linux/nsinit"
)

// init locks the main goroutine to the main thread. libcontainer and the
// runtime run goroutines that move their locked thread into a container's
// or pod's namespaces and exit without unlocking it; other threads are
// then discarded, but the main thread cannot be, and would stay in those
// namespaces for good, and /proc/self (the main thread's view) with it.
// Holding the main thread for main keeps them off it.
func init() {
	runtime.LockOSThread()
}
