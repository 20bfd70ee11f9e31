package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// The configuration subset this stand-in understands: enough for the
// image's own files and for the ConfigMaps Pods usually mount over
// /etc/nginx/conf.d. Unknown directives are ignored, not rejected.
//
//	pid FILE;  include GLOB;  http { ... }
//	server { listen ADDR [default_server]; server_name N...; root DIR; index F...;
//	         access_log off|PATH; location [=] PREFIX { root; alias; index; return CODE [TEXT|URL]; } }

const (
	prefix          = "/etc/nginx"
	defaultConf     = "/etc/nginx/nginx.conf"
	defaultPidFile  = "/var/run/nginx.pid"
	defaultRoot     = "/usr/share/nginx/html"
	defaultListen   = "80"
	defaultIndex    = "index.html"
	maxIncludeDepth = 16
)

// directive is one parsed statement, with its block if it has one.
type directive struct {
	name  string
	args  []string
	block []directive
	file  string
	line  int
}

type config struct {
	pidFile string
	servers []*server
	files   []string // every file read, for -T
}

type server struct {
	listens   []listen
	names     []string
	root      string
	index     []string
	accessLog bool
	locations []*location
	ret       *response // a server-level return answers every request
	isDefault bool
}

type listen struct {
	network string // tcp4 or tcp6
	addr    string // host:port
}

type location struct {
	prefix string
	exact  bool
	root   string
	alias  string
	index  []string
	ret    *response
}

type response struct {
	code int
	text string // body, or Location for redirects
}

// errSyntax marks configuration errors, reported as nginx's [emerg] lines.
var errSyntax = errors.New("syntax error")

// loadConfig reads path and what it includes. A missing default file gives
// the image's default server; a missing explicit one is an error, as in nginx.
func loadConfig(path string, explicit bool, globals string) (*config, error) {
	c := &config{pidFile: defaultPidFile}
	var top []directive
	if _, err := os.Stat(path); err != nil && !explicit {
		top = []directive{{name: "http", block: []directive{{name: "server"}}}}
	} else {
		var err error
		if top, err = parseFile(c, path, 0); err != nil {
			return nil, err
		}
	}
	if globals != "" {
		g, err := parse(globals, "command line")
		if err != nil {
			return nil, err
		}
		top = append(top, g...)
	}
	if err := c.apply(top); err != nil {
		return nil, err
	}
	if len(c.servers) == 0 {
		return nil, fmt.Errorf("%w: no \"server\" defined in %s", errSyntax, path)
	}
	return c, nil
}

func parseFile(c *config, path string, depth int) ([]directive, error) {
	if depth > maxIncludeDepth {
		return nil, fmt.Errorf("%w: include nested too deeply in %s", errSyntax, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("open() %q failed (%s)", path, errnoText(err))
	}
	c.files = append(c.files, path)
	ds, err := parse(string(data), path)
	if err != nil {
		return nil, err
	}
	return expandIncludes(c, ds, depth)
}

// expandIncludes replaces include directives, at any depth, by the
// directives of the files they name (a glob, relative to the prefix).
func expandIncludes(c *config, ds []directive, depth int) ([]directive, error) {
	var out []directive
	for _, d := range ds {
		if d.name != "include" {
			if d.block != nil {
				b, err := expandIncludes(c, d.block, depth)
				if err != nil {
					return nil, err
				}
				d.block = b
			}
			out = append(out, d)
			continue
		}
		if len(d.args) != 1 {
			return nil, fmt.Errorf("%w: invalid number of arguments in \"include\" directive in %s:%d", errSyntax, d.file, d.line)
		}
		pattern := d.args[0]
		if !filepath.IsAbs(pattern) {
			pattern = filepath.Join(prefix, pattern)
		}
		matches, _ := filepath.Glob(pattern)
		if len(matches) == 0 && !strings.ContainsAny(pattern, "*?[") {
			return nil, fmt.Errorf("open() %q failed (2: No such file or directory) in %s:%d", pattern, d.file, d.line)
		}
		sort.Strings(matches)
		for _, m := range matches {
			sub, err := parseFile(c, m, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
	}
	return out, nil
}

// parse tokenizes nginx syntax: words, quoted strings, ';', '{', '}', and
// '#' comments.
func parse(src, file string) ([]directive, error) {
	p := &parser{src: src, file: file, line: 1}
	ds, err := p.block(false)
	if err != nil {
		return nil, err
	}
	return ds, nil
}

type parser struct {
	src  string
	pos  int
	file string
	line int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s in %s:%d", errSyntax, fmt.Sprintf(format, args...), p.file, p.line)
}

func (p *parser) block(nested bool) ([]directive, error) {
	var out []directive
	var words []string
	line := p.line
	for {
		tok, quoted, err := p.token()
		if err != nil {
			return nil, err
		}
		switch {
		case tok == "" && !quoted:
			if nested {
				return nil, p.errorf("unexpected end of file, expecting \"}\"")
			}
			if len(words) > 0 {
				return nil, p.errorf("unexpected end of file, expecting \";\" or \"}\"")
			}
			return out, nil
		case tok == ";" && !quoted:
			if len(words) == 0 {
				return nil, p.errorf("unexpected \";\"")
			}
			out = append(out, directive{name: words[0], args: words[1:], file: p.file, line: line})
			words = nil
		case tok == "{" && !quoted:
			if len(words) == 0 {
				return nil, p.errorf("unexpected \"{\"")
			}
			b, err := p.block(true)
			if err != nil {
				return nil, err
			}
			if b == nil {
				b = []directive{}
			}
			out = append(out, directive{name: words[0], args: words[1:], block: b, file: p.file, line: line})
			words = nil
		case tok == "}" && !quoted:
			if !nested || len(words) > 0 {
				return nil, p.errorf("unexpected \"}\"")
			}
			return out, nil
		default:
			if len(words) == 0 {
				line = p.line
			}
			words = append(words, tok)
		}
	}
}

// skipSpace moves past blanks and comments; false means the input ended.
func (p *parser) skipSpace() bool {
	for p.pos < len(p.src) {
		switch p.src[p.pos] {
		case '\n':
			p.line++
			p.pos++
		case ' ', '\t', '\r':
			p.pos++
		case '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return true
		}
	}
	return false
}

// token returns the next token; quoted reports a quoted string (which may
// be empty or look like punctuation).
func (p *parser) token() (tok string, quoted bool, err error) {
	if !p.skipSpace() {
		return "", false, nil
	}
	c := p.src[p.pos]
	if c == ';' || c == '{' || c == '}' {
		p.pos++
		return string(c), false, nil
	}
	if c == '"' || c == '\'' {
		var b strings.Builder
		for p.pos++; p.pos < len(p.src); p.pos++ {
			ch := p.src[p.pos]
			if ch == '\\' && p.pos+1 < len(p.src) {
				p.pos++
				b.WriteByte(p.src[p.pos])
				continue
			}
			if ch == c {
				p.pos++
				return b.String(), true, nil
			}
			if ch == '\n' {
				p.line++
			}
			b.WriteByte(ch)
		}
		return "", false, p.errorf("unexpected end of file, expecting %q", string(c))
	}
	start := p.pos
	for p.pos < len(p.src) && !strings.ContainsRune(" \t\r\n;{}#", rune(p.src[p.pos])) {
		p.pos++
	}
	return p.src[start:p.pos], false, nil
}

// apply interprets the main context.
func (c *config) apply(ds []directive) error {
	for _, d := range ds {
		switch d.name {
		case "pid":
			if len(d.args) == 1 {
				c.pidFile = d.args[0]
			}
		case "http":
			inherit := server{root: filepath.Join(prefix, "html"), index: []string{defaultIndex}, accessLog: true}
			if err := c.applyHTTP(d.block, inherit); err != nil {
				return err
			}
		}
	}
	return nil
}

func (c *config) applyHTTP(ds []directive, inherit server) error {
	for _, d := range ds {
		switch d.name {
		case "root", "index", "access_log":
			applyCommon(&inherit, d)
		}
	}
	for _, d := range ds {
		if d.name != "server" {
			continue
		}
		s := inherit
		s.listens, s.locations, s.ret = nil, nil, nil
		if d.file == "" && len(d.block) == 0 {
			// The default server of an image without configuration files.
			s.root = defaultRoot
		}
		for _, sd := range d.block {
			switch sd.name {
			case "listen":
				if len(sd.args) == 0 {
					return fmt.Errorf("%w: invalid number of arguments in \"listen\" directive in %s:%d", errSyntax, sd.file, sd.line)
				}
				l, err := parseListen(sd.args[0])
				if err != nil {
					return fmt.Errorf("%w: %v in %s:%d", errSyntax, err, sd.file, sd.line)
				}
				s.listens = append(s.listens, l)
				for _, a := range sd.args[1:] {
					if a == "default_server" || a == "default" {
						s.isDefault = true
					}
				}
			case "server_name":
				s.names = sd.args
			case "root", "index", "access_log":
				applyCommon(&s, sd)
			case "location":
				loc, err := parseLocation(sd)
				if err != nil {
					return err
				}
				s.locations = append(s.locations, loc)
			case "return":
				r, err := parseReturn(sd)
				if err != nil {
					return err
				}
				s.ret = r
			}
		}
		if len(s.listens) == 0 {
			l, _ := parseListen(defaultListen)
			s.listens = []listen{l}
		}
		c.servers = append(c.servers, &s)
	}
	return nil
}

func applyCommon(s *server, d directive) {
	switch d.name {
	case "root":
		if len(d.args) == 1 {
			s.root = absPath(d.args[0])
		}
	case "index":
		s.index = d.args
	case "access_log":
		s.accessLog = len(d.args) == 0 || d.args[0] != "off"
	}
}

func absPath(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(prefix, p)
}

func parseLocation(d directive) (*location, error) {
	loc := &location{}
	switch {
	case len(d.args) == 2 && d.args[0] == "=":
		loc.exact, loc.prefix = true, d.args[1]
	case len(d.args) == 2 && d.args[0] == "^~":
		loc.prefix = d.args[1]
	case len(d.args) == 1:
		loc.prefix = d.args[0]
	default:
		// Regular expression locations are beyond this stand-in; skip them.
		return &location{prefix: "\x00unsupported"}, nil
	}
	for _, ld := range d.block {
		switch ld.name {
		case "root":
			if len(ld.args) == 1 {
				loc.root = absPath(ld.args[0])
			}
		case "alias":
			if len(ld.args) == 1 {
				loc.alias = ld.args[0]
			}
		case "index":
			loc.index = ld.args
		case "return":
			r, err := parseReturn(ld)
			if err != nil {
				return nil, err
			}
			loc.ret = r
		}
	}
	return loc, nil
}

func parseReturn(d directive) (*response, error) {
	if len(d.args) == 0 || len(d.args) > 2 {
		return nil, fmt.Errorf("%w: invalid number of arguments in \"return\" directive in %s:%d", errSyntax, d.file, d.line)
	}
	code, err := strconv.Atoi(d.args[0])
	if err != nil {
		// "return URL;" is a 302 redirect.
		return &response{code: 302, text: d.args[0]}, nil
	}
	r := &response{code: code}
	if len(d.args) == 2 {
		r.text = d.args[1]
	}
	return r, nil
}

// parseListen reads "80", "8080", "127.0.0.1:8080", "*:80", "[::]:80" or "localhost:80".
func parseListen(s string) (listen, error) {
	if strings.HasPrefix(s, "unix:") {
		return listen{}, fmt.Errorf("unix sockets are not supported by this test image")
	}
	if strings.HasPrefix(s, "[") {
		return listen{network: "tcp6", addr: s}, nil
	}
	host, port := "0.0.0.0", s
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		host, port = s[:i], s[i+1:]
		if host == "*" {
			host = "0.0.0.0"
		}
	} else if _, err := strconv.Atoi(s); err != nil {
		host, port = s, "80"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return listen{}, fmt.Errorf("invalid port in %q of the \"listen\" directive", s)
	}
	return listen{network: "tcp4", addr: host + ":" + port}, nil
}
