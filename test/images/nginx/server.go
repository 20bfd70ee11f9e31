package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// site answers requests with the current configuration; SIGHUP swaps it.
type site struct {
	cfg      atomic.Pointer[config]
	log      *errorLog
	override string // --listen: every server answers on this one address
}

type connIDKey struct{}

var connCounter atomic.Uint64

// connContext numbers connections as nginx does ("*1" in error lines).
func connContext(ctx context.Context, _ net.Conn) context.Context {
	return context.WithValue(ctx, connIDKey{}, connCounter.Add(1))
}

// handler serves the requests accepted on one listen address.
func (s *site) handler(addr string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cfg := s.cfg.Load()
		srv := s.pick(cfg, addr, r.Host)
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		rec.Header().Set("Server", "nginx/"+version)
		s.serve(rec, r, srv)
		if srv.accessLog {
			accessLog(r, rec)
		}
	})
}

// pick chooses the server block for a request: a server_name match among
// the servers on the address, else the default_server, else the first.
func (s *site) pick(cfg *config, addr, host string) *server {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	var onAddr []*server
	for _, srv := range cfg.servers {
		for _, l := range srv.listens {
			if s.override != "" || l.addr == addr {
				onAddr = append(onAddr, srv)
				break
			}
		}
	}
	if len(onAddr) == 0 {
		return cfg.servers[0]
	}
	for _, srv := range onAddr {
		for _, n := range srv.names {
			if strings.EqualFold(n, host) {
				return srv
			}
		}
	}
	for _, srv := range onAddr {
		if srv.isDefault {
			return srv
		}
	}
	return onAddr[0]
}

func (s *site) serve(w *recorder, r *http.Request, srv *server) {
	if srv.ret != nil {
		respond(w, r, srv.ret)
		return
	}
	urlPath := path.Clean("/" + r.URL.Path)
	if strings.HasSuffix(r.URL.Path, "/") && urlPath != "/" {
		urlPath += "/"
	}
	loc := matchLocation(srv.locations, urlPath)
	if loc != nil && loc.ret != nil {
		respond(w, r, loc.ret)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		errorPage(w, http.StatusMethodNotAllowed)
		return
	}
	root, index := srv.root, srv.index
	file := filepath.Join(root, filepath.FromSlash(urlPath))
	if loc != nil {
		if loc.index != nil {
			index = loc.index
		}
		switch {
		case loc.alias != "":
			file = filepath.Join(loc.alias, strings.TrimPrefix(urlPath, loc.prefix))
		case loc.root != "":
			file = filepath.Join(loc.root, filepath.FromSlash(urlPath))
		}
	}

	fi, err := os.Stat(file)
	if err != nil {
		s.requestError(r, srv, "open() %q failed (%s)", file, errnoText(err))
		errorPage(w, statusFor(err))
		return
	}
	if fi.IsDir() {
		if !strings.HasSuffix(r.URL.Path, "/") {
			w.Header().Set("Location", "http://"+r.Host+r.URL.Path+"/")
			errorPage(w, http.StatusMovedPermanently)
			return
		}
		found := false
		for _, name := range index {
			candidate := filepath.Join(file, name)
			if ci, err := os.Stat(candidate); err == nil && !ci.IsDir() {
				file, fi, found = candidate, ci, true
				break
			}
		}
		if !found {
			s.requestError(r, srv, "directory index of %q is forbidden", file+"/")
			errorPage(w, http.StatusForbidden)
			return
		}
	}
	f, err := os.Open(file)
	if err != nil {
		s.requestError(r, srv, "open() %q failed (%s)", file, errnoText(err))
		errorPage(w, statusFor(err))
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", contentType(file))
	w.Header()["ETag"] = []string{fmt.Sprintf("\"%x-%x\"", fi.ModTime().Unix(), fi.Size())}
	w.Header().Set("Connection", "keep-alive")
	http.ServeContent(w, r, "", fi.ModTime(), f)
}

// matchLocation is nginx's prefix matching: an exact match wins, else the
// longest prefix.
func matchLocation(locs []*location, p string) *location {
	var best *location
	for _, l := range locs {
		if l.exact {
			if l.prefix == p {
				return l
			}
			continue
		}
		if strings.HasPrefix(p, l.prefix) && (best == nil || len(l.prefix) > len(best.prefix)) {
			best = l
		}
	}
	return best
}

func respond(w *recorder, r *http.Request, ret *response) {
	switch ret.code {
	case 301, 302, 303, 307, 308:
		loc := ret.text
		if strings.HasPrefix(loc, "/") {
			loc = "http://" + r.Host + loc
		}
		w.Header().Set("Location", loc)
		errorPage(w, ret.code)
	default:
		if ret.text == "" && ret.code >= 400 {
			errorPage(w, ret.code)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.WriteHeader(ret.code)
		if r.Method != http.MethodHead {
			fmt.Fprint(w, ret.text)
		}
	}
}

// errorPage writes nginx's built-in page for a status.
func errorPage(w *recorder, code int) {
	reason := http.StatusText(code)
	if code == http.StatusMethodNotAllowed {
		reason = "Not Allowed"
	}
	title := fmt.Sprintf("%d %s", code, reason)
	body := "<html>\r\n<head><title>" + title + "</title></head>\r\n<body>\r\n<center><h1>" + title +
		"</h1></center>\r\n<hr><center>nginx/" + version + "</center>\r\n</body>\r\n</html>\r\n"
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return http.StatusNotFound
	case errors.Is(err, fs.ErrPermission):
		return http.StatusForbidden
	}
	return http.StatusInternalServerError
}

// requestError logs like nginx's error log: the connection number, then
// the client, server and request.
func (s *site) requestError(r *http.Request, srv *server, format string, args ...any) {
	id, _ := r.Context().Value(connIDKey{}).(uint64)
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	name := ""
	if len(srv.names) > 0 {
		name = srv.names[0]
	}
	s.log.printf("error", "*%d %s, client: %s, server: %s, request: \"%s %s %s\", host: \"%s\"",
		id, fmt.Sprintf(format, args...), host, name, r.Method, r.RequestURI, r.Proto, r.Host)
}

// mimeTypes is the part of nginx's mime.types a test meets; the rest is
// default_type application/octet-stream.
var mimeTypes = map[string]string{
	".html": "text/html", ".htm": "text/html", ".shtml": "text/html",
	".css": "text/css", ".xml": "text/xml", ".txt": "text/plain",
	".js": "application/javascript", ".json": "application/json",
	".gif": "image/gif", ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".png": "image/png",
	".svg": "image/svg+xml", ".ico": "image/x-icon", ".webp": "image/webp",
	".pdf": "application/pdf", ".zip": "application/zip", ".gz": "application/octet-stream",
}

func contentType(file string) string {
	if t, ok := mimeTypes[strings.ToLower(filepath.Ext(file))]; ok {
		return t
	}
	return "application/octet-stream"
}

// recorder keeps what the access log needs.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (r *recorder) WriteHeader(code int) {
	if !r.wrote {
		r.status, r.wrote = code, true
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	r.wrote = true
	n, err := r.ResponseWriter.Write(b)
	r.bytes += int64(n)
	return n, err
}

// accessLog writes the image's "main" log format to stdout, where the
// image's access.log symlink points.
func accessLog(r *http.Request, rec *recorder) {
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	user := "-"
	if u, _, ok := r.BasicAuth(); ok {
		user = u
	}
	line := fmt.Sprintf("%s - %s [%s] \"%s %s %s\" %d %d \"%s\" \"%s\" \"%s\"\n",
		host, user, time.Now().Format("02/Jan/2006:15:04:05 -0700"), r.Method, r.RequestURI, r.Proto,
		rec.status, rec.bytes, dash(r.Referer()), dash(r.UserAgent()), dash(r.Header.Get("X-Forwarded-For")))
	os.Stdout.WriteString(line)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
