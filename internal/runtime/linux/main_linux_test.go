package linux

import (
	"os"
	goruntime "runtime"
	"testing"

	"github.com/opencontainers/runc/libcontainer"

	// Like cmd/orca: re-executed as `<test binary> init`, the test binary
	// becomes a container's init (in nsinit's init function, before
	// TestMain).
	_ "github.com/orca-pods/orca/internal/runtime/linux/nsinit"
)

// TestMain lets the recovery tests run an earlier runtime in a child
// process. (`<test binary> orca-pause`, a sandbox's pause process, is
// handled by nsinit's init function too.)
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "init" {
		libcontainer.Init() // not reached: nsinit did it
	}
	// Keep the main thread for the main goroutine, as cmd/orca does: see
	// the package documentation.
	goruntime.LockOSThread()
	if os.Getenv(earlierRuntimeEnv) != "" {
		os.Exit(runEarlierRuntime())
	}
	if os.Getenv(earlierPauseEnv) != "" {
		os.Exit(runEarlierPauseRuntime())
	}
	os.Exit(m.Run())
}
