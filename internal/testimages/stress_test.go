package testimages

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestStressVMWorkerRunsUntilTimeoutAndSucceeds(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(Program(t, "stress"), "--vm", "1", "--vm-bytes", "10M", "--timeout", "1")
	out, errOut, code := run(t, cmd)
	if code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	want := regexp.MustCompile(`^stress: info: \[\d+\] dispatching hogs: 0 cpu, 0 io, 1 vm, 0 hdd\n` +
		`stress: info: \[\d+\] successful run completed in [12]s\n$`)
	if !want.MatchString(out) {
		t.Errorf("stdout %q does not match %s", out, want)
	}
}

func TestStressCPUAndVMWorkersAreSeparateProcesses(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(Program(t, "stress"), "--cpu", "1", "--vm", "2", "--vm-bytes", "1M", "--vm-hang", "0", "--timeout", "1")
	d := startDaemon(t, cmd)
	var found []int
	deadline := time.Now().Add(5 * time.Second)
	for len(found) < 3 && time.Now().Before(deadline) {
		found = workers(t, cmd.Process.Pid)
		time.Sleep(50 * time.Millisecond)
	}
	if len(found) != 3 {
		t.Fatalf("stress has %d worker processes, want 3", len(found))
	}
	if code := d.wait(t); code != 0 {
		t.Errorf("exit %d, stderr:\n%s", code, d.stderr)
	}
}

// The course's memory-hog Pod: the OOM killer SIGKILLs the worker, and the
// parent reports it in stress's words and exits 1.
func TestStressReportsAKilledWorkerAndFails(t *testing.T) {
	t.Parallel()
	cmd := exec.Command(Program(t, "stress"), "--vm", "1", "--vm-bytes", "1M", "--vm-hang", "0")
	// Lead a process group, as a shell would make it, so the reaping
	// kill(-pid) finds the group.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	d := startDaemon(t, cmd)
	var found []int
	deadline := time.Now().Add(5 * time.Second)
	for len(found) == 0 && time.Now().Before(deadline) {
		found = workers(t, cmd.Process.Pid)
		time.Sleep(20 * time.Millisecond)
	}
	if len(found) != 1 {
		t.Fatalf("stress has %d workers, want 1", len(found))
	}
	if err := syscall.Kill(found[0], syscall.SIGKILL); err != nil {
		t.Fatalf("kill worker %d: %v; stress stderr:\n%s", found[0], err, d.stderr)
	}
	if code := d.wait(t); code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	parent, worker := strconv.Itoa(cmd.Process.Pid), strconv.Itoa(found[0])
	// The run time is a difference of wall-clock seconds, as in stress.
	want := regexp.MustCompile(`^stress: FAIL: \[` + parent + `\] \(415\) <-- worker ` + worker + ` got signal 9\n` +
		`stress: WARN: \[` + parent + `\] \(417\) now reaping child worker processes\n` +
		`stress: FAIL: \[` + parent + `\] \(451\) failed run completed in [01]s\n$`)
	if got := d.stderr.String(); !want.MatchString(got) {
		t.Errorf("stderr:\n%s\nwant it to match:\n%s", got, want)
	}
}

func TestStressRejectsOptionsAsStressDoes(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--vm"}, "(180) missing argument to option '--vm'\n"},
		{[]string{"--vm", "0"}, "(184) invalid number of vm hogs: 0\n"},
		{[]string{"--bogus"}, "(244) unrecognized option: --bogus\n"},
	}
	for _, tt := range tests {
		_, errOut, code := run(t, exec.Command(Program(t, "stress"), tt.args...))
		if code != 1 || !strings.HasPrefix(errOut, "stress: FAIL: [") || !strings.HasSuffix(errOut, tt.want) {
			t.Errorf("stress %v: exit %d, stderr %q, want 1 and ...%q", tt.args, code, errOut, tt.want)
		}
	}
}

// workers lists stress's worker processes: its children that carry the
// worker job in their environment. Other children come and go: the Go
// runtime clones a short-lived process to probe for pidfd support. The
// kernel lists children per thread, and Go starts processes from any thread.
func workers(t *testing.T, pid int) []int {
	t.Helper()
	if _, err := os.Stat("/proc/self/task/" + strconv.Itoa(os.Getpid()) + "/children"); err != nil {
		t.Skip("the kernel does not list children in /proc (CONFIG_PROC_CHILDREN)")
	}
	tasks, _ := filepath.Glob("/proc/" + strconv.Itoa(pid) + "/task/*/children")
	var out []int
	for _, task := range tasks {
		data, err := os.ReadFile(task)
		if err != nil {
			continue // the thread ended
		}
		for _, f := range strings.Fields(string(data)) {
			env, err := os.ReadFile("/proc/" + f + "/environ")
			if err != nil || !strings.Contains(string(env), "\x00ORCA_STRESS_WORKER=") {
				continue
			}
			n, _ := strconv.Atoi(f)
			out = append(out, n)
		}
	}
	return out
}
