package main

import (
	"fmt"
	"os"
	"syscall"
	"time"
	"unsafe"
)

// meter is curl's progress meter, reduced to its header and final line. curl
// shows it on stderr unless -s or -v is given or the data goes to a terminal.
type meter struct{ on bool }

func newMeter(o options) *meter {
	toTerminal := o.output == "" && !o.remoteName && isTerminal(os.Stdout)
	m := &meter{on: !o.silent && !o.verbose && !toTerminal}
	if m.on {
		fmt.Fprint(os.Stderr, "  % Total    % Received % Xferd  Average Speed   Time    Time     Time  Current\n"+
			"                                 Dload  Upload   Total   Spent    Left  Speed\n")
	}
	return m
}

func (m *meter) done(t *transfer) {
	if !m.on {
		return
	}
	elapsed := time.Since(t.start).Seconds()
	speed := int64(0)
	if elapsed > 0 {
		speed = int64(float64(t.downloaded) / elapsed)
	}
	n := size5(t.downloaded)
	fmt.Fprintf(os.Stderr, "\r%3d %5s  %3d %5s  %3d %5s %6s %6s %8s %8s %8s %5s\n",
		100, n, 100, n, 0, "0", size5(speed), "0", "--:--:--", "--:--:--", "--:--:--", size5(speed))
}

// size5 formats a byte count in at most five characters, as curl does.
func size5(n int64) string {
	switch {
	case n < 100000:
		return fmt.Sprint(n)
	case n < 10000<<10:
		return fmt.Sprintf("%dk", n>>10)
	case n < 10000<<20:
		return fmt.Sprintf("%dM", n>>20)
	}
	return fmt.Sprintf("%dG", n>>30)
}

func isTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}
