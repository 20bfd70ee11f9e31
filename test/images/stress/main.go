// Command stress is orca's stand-in for Amos Waterland's stress 1.0.4, the
// tool in the polinux/stress image. It keeps the parts Pods exercise: the
// option syntax, one worker process per hog, the parent's wait loop and its
// messages, and the exit status (the number of failed workers).
//
// Workers are real processes, as in stress. Go cannot fork, so the parent
// re-executes itself with the same argv (ps shows identical command lines,
// as after fork) and names the worker's job in the environment.
//
// Line numbers in FAIL and WARN messages are those stress 1.0.4 prints, so
// logs read like the real tool's; users and tests match on them.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// workerEnv carries a worker's job from parent to child: "kind:timeout:backoff".
const workerEnv = "ORCA_STRESS_WORKER"

const version = "1.0.4"

// options is the parsed command line.
type options struct {
	verbosity int // 0 quiet, 2 default, 3 verbose
	dryRun    bool
	backoff   int64 // microseconds, multiplied by the forks left
	timeout   int64 // seconds, 0 for none

	cpu, io, vm, hdd int64

	vmBytes  int64
	vmStride int64
	vmHang   int64 // -1: no hang, 0: forever, n: seconds
	vmKeep   bool
	hddBytes int64
}

// logger prints stress's message kinds with its prefixes.
type logger struct {
	prog      string
	verbosity int
}

func (l logger) dbg(format string, args ...any) {
	if l.verbosity >= 3 {
		fmt.Fprintf(os.Stdout, "%s: dbug: [%d] %s", l.prog, os.Getpid(), fmt.Sprintf(format, args...))
	}
}

func (l logger) info(format string, args ...any) {
	if l.verbosity >= 2 {
		fmt.Fprintf(os.Stdout, "%s: info: [%d] %s", l.prog, os.Getpid(), fmt.Sprintf(format, args...))
	}
}

func (l logger) warn(line int, format string, args ...any) {
	if l.verbosity >= 1 {
		fmt.Fprintf(os.Stderr, "%s: WARN: [%d] (%d) %s", l.prog, os.Getpid(), line, fmt.Sprintf(format, args...))
	}
}

func (l logger) fail(line int, format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s: FAIL: [%d] (%d) %s", l.prog, os.Getpid(), line, fmt.Sprintf(format, args...))
}

func main() {
	log := logger{prog: filepath.Base(os.Args[0]), verbosity: 2}
	opts := parse(log, os.Args[1:])
	log.verbosity = opts.verbosity

	if job := os.Getenv(workerEnv); job != "" {
		os.Exit(runWorker(log, opts, job))
	}
	os.Exit(runParent(log, opts))
}

// flag describes an option that takes a value: where stress 1.0.4 reports
// a missing argument, an invalid value, and how to store the value.
type flag struct {
	missingLine, invalidLine int
	invalidMsg               string
	parse                    func(log logger, s string) int64
	valid                    func(int64) bool
	set                      func(*options, int64)
}

func positive(v int64) bool    { return v > 0 }
func nonNegative(v int64) bool { return v >= 0 }

var valued = map[string]flag{
	"--timeout":   {150, 154, "invalid timeout value: %ds\n", parseSeconds, positive, func(o *options, v int64) { o.timeout = v }},
	"--cpu":       {160, 164, "invalid number of cpu hogs: %d\n", parseBytes, positive, func(o *options, v int64) { o.cpu = v }},
	"--io":        {170, 174, "invalid number of io hogs: %d\n", parseBytes, positive, func(o *options, v int64) { o.io = v }},
	"--vm":        {180, 184, "invalid number of vm hogs: %d\n", parseBytes, positive, func(o *options, v int64) { o.vm = v }},
	"--vm-bytes":  {190, 194, "invalid vm byte value: %d\n", parseBytes, positive, func(o *options, v int64) { o.vmBytes = v }},
	"--vm-stride": {200, 204, "invalid stride value: %d\n", parseBytes, positive, func(o *options, v int64) { o.vmStride = v }},
	"--vm-hang":   {210, 214, "invalid value: %d\n", parseBytes, nonNegative, func(o *options, v int64) { o.vmHang = v }},
	"--hdd":       {224, 228, "invalid number of hdd hogs: %d\n", parseBytes, positive, func(o *options, v int64) { o.hdd = v }},
	"--hdd-bytes": {234, 238, "invalid hdd byte value: %d\n", parseBytes, positive, func(o *options, v int64) { o.hddBytes = v }},
	"--backoff":   {135, 143, "invalid backoff factor: %d\n", parseInt, nonNegative, func(o *options, v int64) { o.backoff = v }},
}

var shortFlags = map[string]string{"-t": "--timeout", "-c": "--cpu", "-i": "--io", "-m": "--vm", "-d": "--hdd"}

// parse reads options the way stress does: in order, each value the next
// word, and a value starting with '-' accepted only if a digit follows.
func parse(log logger, args []string) options {
	o := options{
		verbosity: 2,
		backoff:   3000,
		vmBytes:   256 << 20,
		vmStride:  4096,
		vmHang:    -1,
		hddBytes:  1 << 30,
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if long, ok := shortFlags[arg]; ok {
			arg = long
		}
		switch arg {
		case "--help", "-?":
			usage(log.prog)
			os.Exit(0)
		case "--version":
			fmt.Printf("%s %s\n", log.prog, version)
			os.Exit(0)
		case "--verbose", "-v":
			o.verbosity = 3
		case "--quiet", "-q":
			o.verbosity = 0
		case "--dry-run", "-n":
			o.dryRun = true
		case "--vm-keep":
			o.vmKeep = true
		default:
			f, ok := valued[arg]
			if !ok {
				log.fail(244, "unrecognized option: %s\n", arg)
				os.Exit(1)
			}
			i++
			if i == len(args) || (strings.HasPrefix(args[i], "-") && !(len(args[i]) > 1 && isDigit(args[i][1]))) {
				log.fail(f.missingLine, "missing argument to option '%s'\n", arg)
				os.Exit(1)
			}
			v := f.parse(log, args[i])
			if !f.valid(v) {
				log.fail(f.invalidLine, f.invalidMsg, v)
				os.Exit(1)
			}
			f.set(&o, v)
		}
	}
	return o
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

// leadingInt parses the integer prefix of s as C's sscanf("%lli") does:
// optional sign, then decimal, 0x hex or 0 octal.
func leadingInt(s string) (int64, bool) {
	end := 0
	if end < len(s) && (s[end] == '-' || s[end] == '+') {
		end++
	}
	for end < len(s) && (isDigit(s[end]) || strings.ContainsRune("xXabcdefABCDEF", rune(s[end]))) {
		end++
	}
	for end > 0 {
		if v, err := strconv.ParseInt(s[:end], 0, 64); err == nil {
			return v, true
		}
		end--
	}
	return 0, false
}

// parseBytes reads a size with an optional B, K, M or G suffix (powers of
// 1024). Its two line numbers, and parseSeconds', are estimates: the rest
// are counted from stress 1.0.4's source.
func parseBytes(log logger, s string) int64 {
	shift := 0
	switch s[len(s)-1] {
	case 'b', 'B':
	case 'k', 'K':
		shift = 10
	case 'm', 'M':
		shift = 20
	case 'g', 'G':
		shift = 30
	default:
		if !isDigit(s[len(s)-1]) {
			log.fail(596, "unrecognized suffix: %c\n", s[len(s)-1])
			os.Exit(1)
		}
	}
	v, ok := leadingInt(s)
	if !ok {
		log.fail(602, "invalid number: %s\n", s)
		os.Exit(1)
	}
	return v << shift
}

// parseSeconds reads a duration with an optional s, m, h, d or y suffix.
func parseSeconds(log logger, s string) int64 {
	factor := int64(1)
	switch s[len(s)-1] {
	case 's', 'S':
	case 'm', 'M':
		factor = 60
	case 'h', 'H':
		factor = 60 * 60
	case 'd', 'D':
		factor = 60 * 60 * 24
	case 'y', 'Y':
		factor = 60 * 60 * 24 * 365
	default:
		if !isDigit(s[len(s)-1]) {
			log.fail(644, "unrecognized suffix: %c\n", s[len(s)-1])
			os.Exit(1)
		}
	}
	v, ok := leadingInt(s)
	if !ok {
		log.fail(650, "invalid number: %s\n", s)
		os.Exit(1)
	}
	return v * factor
}

func parseInt(log logger, s string) int64 {
	v, ok := leadingInt(s)
	if !ok {
		log.fail(138, "invalid number: %s\n", s)
		os.Exit(1)
	}
	return v
}

func usage(prog string) {
	fmt.Printf(`'%[1]s' imposes certain types of compute stress on your system

Usage: %[1]s [OPTION [ARG]] ...
 -?, --help         show this help statement
     --version      show version statement
 -v, --verbose      be verbose
 -q, --quiet        be quiet
 -n, --dry-run      show what would have been done
 -t, --timeout N    timeout after N seconds
     --backoff N    wait factor of N microseconds before work starts
 -c, --cpu N        spawn N workers spinning on sqrt()
 -i, --io N         spawn N workers spinning on sync()
 -m, --vm N         spawn N workers spinning on malloc()/free()
     --vm-bytes B   malloc B bytes per vm worker (default is 256MB)
     --vm-stride B  touch a byte every B bytes (default is 4096)
     --vm-hang N    sleep N secs before free (default none, 0 is inf)
     --vm-keep      redirty memory instead of freeing and reallocating
 -d, --hdd N        spawn N workers spinning on write()/unlink()
     --hdd-bytes B  write B bytes per hdd worker (default is 1GB)

Example: %[1]s --cpu 8 --io 4 --vm 2 --vm-bytes 128M --timeout 10s

Note: Numbers may be suffixed with s,m,h,d,y (time) or B,K,M,G (size).
`, prog)
}

// since reports whole seconds elapsed, as stress's time(NULL) arithmetic does.
func since(start time.Time) int64 {
	return time.Now().Unix() - start.Unix()
}
