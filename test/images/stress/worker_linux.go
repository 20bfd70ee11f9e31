package main

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

// runWorker is a forked stress worker: it waits its backoff, arms its
// timeout and runs one hog until the hog fails or a signal ends it.
func runWorker(log logger, o options, job string) int {
	parts := strings.Split(job, ":")
	if len(parts) != 3 {
		log.fail(0, "bad worker job %q\n", job)
		return 1
	}
	kind := parts[0]
	timeout, _ := strconv.ParseInt(parts[1], 10, 64)
	backoff, _ := strconv.ParseInt(parts[2], 10, 64)

	// A C worker dies of SIGALRM (its alarm) and SIGUSR1 (the parent
	// reaping); the parent tells the two apart from real failures by the
	// signal number. Go catches and drops both by default, so put back the
	// kernel's default action.
	for _, sig := range []syscall.Signal{syscall.SIGALRM, syscall.SIGUSR1} {
		if err := setDefaultAction(sig); err != nil {
			log.fail(0, "sigaction: %s\n", cError(err))
			return 1
		}
	}
	if timeout > 0 {
		pid := os.Getpid()
		time.AfterFunc(time.Duration(timeout)*time.Second, func() {
			_ = syscall.Kill(pid, syscall.SIGALRM)
		})
	}
	time.Sleep(time.Duration(backoff) * time.Microsecond)
	if o.dryRun {
		return 0
	}
	switch kind {
	case "cpu":
		return hogCPU()
	case "io":
		return hogIO()
	case "vm":
		return hogVM(log, o.vmBytes, o.vmStride, o.vmHang, o.vmKeep)
	case "hdd":
		return hogHDD(log, o.hddBytes)
	}
	log.fail(0, "unknown hog %q\n", kind)
	return 1
}

// sigaction is the kernel's struct sigaction on amd64 and arm64 alike.
type sigaction struct {
	handler  uintptr // 0 is SIG_DFL
	flags    uint64
	restorer uintptr
	mask     uint64
}

// setDefaultAction sets sig's disposition to SIG_DFL behind the Go
// runtime's back; os/signal can only restore the runtime's own handler.
func setDefaultAction(sig syscall.Signal) error {
	var sa sigaction
	_, _, errno := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(&sa)), 0, unsafe.Sizeof(sa.mask), 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

var sink float64

func hogCPU() int {
	for {
		sink = math.Sqrt(float64(rand.Int32()))
	}
}

func hogIO() int {
	for {
		syscall.Sync()
	}
}

// hogVM maps bytes of anonymous memory (what malloc does for large sizes),
// dirties one byte per stride so every page is resident, optionally sleeps,
// checks the bytes, and frees the mapping to start again unless keep is set.
func hogVM(log logger, bytes, stride, hang int64, keep bool) int {
	var mem []byte
	allocate := true
	for {
		if allocate {
			log.dbg("allocating %d bytes ...\n", bytes)
			var err error
			mem, err = syscall.Mmap(-1, 0, int(bytes), syscall.PROT_READ|syscall.PROT_WRITE,
				syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
			if err != nil {
				log.fail(494, "hogvm malloc failed: %s\n", cError(err))
				return 1
			}
			if keep {
				allocate = false
			}
		}
		log.dbg("touching bytes in strides of %d bytes ...\n", stride)
		for i := int64(0); i < bytes; i += stride {
			mem[i] = 'Z'
		}
		switch {
		case hang == 0:
			log.dbg("sleeping forever with allocated memory\n")
			for {
				time.Sleep(1024 * time.Second)
			}
		case hang > 0:
			log.dbg("sleeping for %ds with allocated memory\n", hang)
			time.Sleep(time.Duration(hang) * time.Second)
		}
		for i := int64(0); i < bytes; i += stride {
			if mem[i] != 'Z' {
				log.fail(520, "memory corruption at: %p\n", &mem[i])
				return 1
			}
		}
		if allocate {
			if err := syscall.Munmap(mem); err != nil {
				log.fail(0, "munmap: %s\n", cError(err))
				return 1
			}
			log.dbg("freed %d bytes\n", bytes)
		}
	}
}

// hogHDD writes bytes to an unlinked file in the working directory, again
// and again: fast in chunks, then a byte at a time, as stress does.
func hogHDD(log logger, bytes int64) int {
	const chunk = 1<<20 - 1
	buf := make([]byte, chunk)
	for i := range chunk - 1 {
		buf[i] = byte(32 + rand.IntN(95))
	}
	buf[chunk-1] = '\n'
	for {
		f, err := os.CreateTemp(".", "stress.")
		if err != nil {
			log.fail(0, "mkstemp failed: %s\n", cError(err))
			return 1
		}
		log.dbg("opened %s for writing %d bytes\n", f.Name(), bytes)
		log.dbg("unlinking %s\n", f.Name())
		if err := os.Remove(f.Name()); err != nil {
			log.fail(0, "unlink of %s failed: %s\n", f.Name(), cError(err))
			return 1
		}
		log.dbg("fast writing to %s\n", f.Name())
		var j int64
		for ; j+chunk < bytes; j += chunk {
			if _, err := f.Write(buf); err != nil {
				log.fail(0, "write failed: %s\n", cError(err))
				return 1
			}
		}
		log.dbg("slow writing to %s\n", f.Name())
		for ; j < bytes-1; j++ {
			if _, err := f.Write(buf[j%chunk : j%chunk+1]); err != nil {
				log.fail(0, "write failed: %s\n", cError(err))
				return 1
			}
		}
		if _, err := f.Write([]byte{'\n'}); err != nil {
			log.fail(0, "write failed: %s\n", cError(err))
			return 1
		}
		j++
		log.dbg("closing %s after %d bytes\n", f.Name(), j)
		f.Close()
	}
}
