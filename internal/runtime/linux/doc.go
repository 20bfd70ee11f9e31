// Package linux runs pod sandboxes and containers on this machine with runc's
// libcontainer, behind runtime.Runtime.
//
// A sandbox has no pause process: its network, IPC and UTS namespaces are
// created on a throwaway OS thread and kept alive by bind mounts (the
// network one under /run/netns, the others under the state directory), and
// containers join them by path. A container gets its own mount and PID
// namespaces, an overlayfs root stacked from the image layers, a cgroup
// below the pod's cgroup and a CRI-format log file fed by pipes.
//
// The exception is a pod that shares its process namespace
// (SandboxConfig.SharePID): a PID namespace cannot outlive its PID 1, so
// such a sandbox has a pause process, this binary re-executed as
// `orca-pause` in a new PID namespace (see pause_linux.go). It reaps
// orphans, outlives the Runtime that started it (which records its pid in
// sandbox.json for the next one to adopt), and is killed by RemoveSandbox;
// if it dies, the next container start replaces it. When the init of a
// container in a shared (or the host's) PID namespace exits, the
// container's other processes are killed, as containerd does.
//
// ReopenContainerLog switches a running container's copier goroutines to a
// new file at its LogPath, for log rotation.
//
// The binary that uses this package must
//   - let libcontainer re-execute it as the container's init: import
//     linux/nsinit for its side effect (it calls libcontainer.Init when
//     os.Args[1] == "init", early, before most packages' init functions;
//     it also runs the pause process when os.Args[1] == "orca-pause");
//   - lock its main goroutine to the main thread in an init function
//     (runtime.LockOSThread). libcontainer and this package run goroutines
//     that move their locked OS thread into other namespaces and exit
//     without unlocking it, so that Go discards the thread; the main thread
//     cannot be discarded, and if such a goroutine ran there the whole
//     process's /proc/self (mountinfo, ns/*) would show a container's
//     namespaces from then on.
//
// cmd/orca/init_linux.go and this package's TestMain do both. Seccomp
// profiles need cgo and the "seccomp" build tag (libseccomp-dev to build,
// libseccomp2 to run); without the tag, containers run without seccomp and
// the runtime logs a warning once.
//
// Files under Config.StateDir:
//
//	libcontainer/<id>/        libcontainer's own state (while the process lives)
//	containers/<id>.json      the container record: config and last known status
//	io/<id>/                  FIFOs for the container's stdout, stderr (and stdin)
//	sandboxes/<id>/           sandbox.json (with the pause pid) and the ipc and uts namespace pins
//
// and under Config.RootDir, <id>/{upper,work,rootfs} per container. A
// pause process runs in the cgroup <pod cgroup>/pause.
package linux
