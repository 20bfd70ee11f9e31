// Command curl is orca's stand-in for curl in the nginx:alpine test image:
// HTTP/1.1 (and HTTPS) GET, HEAD and simple POST, with curl's option syntax
// for the options Pod tests and course texts use, its exit codes (6 cannot
// resolve, 7 cannot connect, 22 HTTP error with -f, 28 timeout, ...) and its
// "curl: (N) ..." messages. Headers are printed as the server sent them.
//
// Supported: -s -S -f -o FILE -O -I -i -L -X M -H H -d DATA -A UA -m S
// --connect-timeout S -w FMT -v -k --max-redirs N, and bundled short
// options such as -fsSL.
package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

const userAgent = "curl/8.12.1"

// exitError is a curl failure: its exit code and message.
type exitError struct {
	code int
	msg  string
}

func (e *exitError) Error() string { return e.msg }

func fail(code int, format string, args ...any) *exitError {
	return &exitError{code: code, msg: fmt.Sprintf(format, args...)}
}

type options struct {
	silent, showError, failHTTP bool
	head, include, location     bool
	verbose, insecure           bool
	remoteName                  bool
	output                      string
	method                      string
	headers                     []string
	data                        *string
	agent                       string
	maxTime, connectTimeout     time.Duration
	writeOut                    string
	maxRedirs                   int
	urls                        []string
}

// Short options that take a value, and the long names of all options.
var (
	shortWithValue = "oXHdAmw"
	shortNames     = map[byte]string{
		's': "--silent", 'S': "--show-error", 'f': "--fail", 'o': "--output", 'O': "--remote-name",
		'I': "--head", 'i': "--include", 'L': "--location", 'X': "--request", 'H': "--header",
		'd': "--data", 'A': "--user-agent", 'm': "--max-time", 'w': "--write-out", 'v': "--verbose",
		'k': "--insecure", 'h': "--help", 'V': "--version",
	}
	longWithValue = map[string]bool{
		"--output": true, "--request": true, "--header": true, "--data": true, "--data-raw": true,
		"--data-binary": true, "--user-agent": true, "--max-time": true, "--connect-timeout": true,
		"--write-out": true, "--max-redirs": true, "--url": true,
	}
)

func main() {
	o, err := parseArgs(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "curl: %s\ncurl: try 'curl --help' or 'curl --manual' for more information\n", err.msg)
		os.Exit(err.code)
	}
	code := 0
	for _, u := range o.urls {
		if err := fetch(o, u); err != nil {
			if !o.silent || o.showError {
				fmt.Fprintf(os.Stderr, "curl: (%d) %s\n", err.code, err.msg)
			}
			code = err.code
		}
	}
	os.Exit(code)
}

func parseArgs(args []string) (options, *exitError) {
	o := options{agent: userAgent, maxRedirs: 50}
	for i := 0; i < len(args); i++ {
		a := args[i]
		var names []string
		var inline string
		hasInline := false
		switch {
		case strings.HasPrefix(a, "--"):
			names = []string{a}
		case strings.HasPrefix(a, "-") && len(a) > 1:
			// Bundled short options; one that takes a value ends the
			// bundle, with the value attached or in the next word.
			for j := 1; j < len(a); j++ {
				long, ok := shortNames[a[j]]
				if !ok {
					return o, fail(2, "option -%c: is unknown", a[j])
				}
				names = append(names, long)
				if strings.IndexByte(shortWithValue, a[j]) >= 0 {
					if j+1 < len(a) {
						inline, hasInline = a[j+1:], true
					}
					break
				}
			}
		default:
			o.urls = append(o.urls, a)
			continue
		}
		for _, name := range names {
			value := ""
			if longWithValue[name] {
				switch {
				case hasInline:
					value = inline
				case i+1 < len(args):
					i++
					value = args[i]
				default:
					return o, fail(2, "option %s: requires parameter", name)
				}
			}
			if err := o.set(name, value); err != nil {
				return o, err
			}
		}
	}
	if len(o.urls) == 0 {
		return o, fail(2, "no URL specified")
	}
	return o, nil
}

func (o *options) set(name, value string) *exitError {
	seconds := func() (time.Duration, *exitError) {
		f, err := strconv.ParseFloat(value, 64)
		if err != nil || f < 0 {
			return 0, fail(2, "option %s: expected a proper numerical parameter", name)
		}
		return time.Duration(f * float64(time.Second)), nil
	}
	var err *exitError
	switch name {
	case "--silent":
		o.silent = true
	case "--show-error":
		o.showError = true
	case "--fail":
		o.failHTTP = true
	case "--head":
		o.head = true
	case "--include":
		o.include = true
	case "--location":
		o.location = true
	case "--verbose":
		o.verbose = true
	case "--insecure":
		o.insecure = true
	case "--remote-name":
		o.remoteName = true
	case "--output":
		o.output = value
	case "--request":
		o.method = value
	case "--header":
		o.headers = append(o.headers, value)
	case "--data", "--data-raw", "--data-binary":
		if o.data != nil {
			value = *o.data + "&" + value
		}
		o.data = &value
	case "--user-agent":
		o.agent = value
	case "--max-time":
		o.maxTime, err = seconds()
	case "--connect-timeout":
		o.connectTimeout, err = seconds()
	case "--write-out":
		o.writeOut = value
	case "--url":
		o.urls = append(o.urls, value)
	case "--max-redirs":
		n, perr := strconv.Atoi(value)
		if perr != nil {
			return fail(2, "option %s: expected a proper numerical parameter", name)
		}
		o.maxRedirs = n
	case "--help":
		fmt.Println("Usage: curl [options...] <url>\n -d, --data <data>   HTTP POST data\n -f, --fail          Fail fast with no output on HTTP errors\n -h, --help <category> Get help for commands\n -i, --include       Include response headers in output\n -o, --output <file> Write to file instead of stdout\n -O, --remote-name   Write output to file named as remote file\n -s, --silent        Silent mode\n -A, --user-agent <name> Send User-Agent <name> to server\n -v, --verbose       Make the operation more talkative\n -V, --version       Show version number and quit")
		os.Exit(0)
	case "--version":
		fmt.Printf("%s (x86_64-alpine-linux-musl) (orca test image)\nProtocols: http https\nFeatures: IPv6 SSL\n", strings.Replace(userAgent, "/", " ", 1))
		os.Exit(0)
	default:
		return fail(2, "option %s: is unknown", name)
	}
	return err
}
