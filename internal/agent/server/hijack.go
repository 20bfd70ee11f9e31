package server

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
)

// goneWriter hands out, when a handler hijacks the connection, one that
// closes Gone once the peer went away (a read fails: EOF, reset, idle
// timeout) or the handler closed it. After a hijack net/http no longer
// cancels the request's context when the client disconnects, so without
// this an exec'd process whose client vanished would run on unobserved.
type goneWriter struct {
	http.ResponseWriter
	gone chan struct{}
	once sync.Once
}

func newGoneWriter(w http.ResponseWriter) *goneWriter {
	return &goneWriter{ResponseWriter: w, gone: make(chan struct{})}
}

// Gone is closed when the hijacked connection is finished.
func (g *goneWriter) Gone() <-chan struct{} { return g.gone }

func (g *goneWriter) signal() { g.once.Do(func() { close(g.gone) }) }

// Hijack implements http.Hijacker. Bytes net/http read ahead are served
// first, then the watched connection.
func (g *goneWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(g.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	wc := &watchedConn{Conn: conn, signal: g.signal}
	var r io.Reader = wc
	if n := rw.Reader.Buffered(); n > 0 {
		ahead, _ := rw.Reader.Peek(n)
		r = io.MultiReader(bytes.NewReader(bytes.Clone(ahead)), wc)
	}
	return wc, bufio.NewReadWriter(bufio.NewReader(r), bufio.NewWriter(wc)), nil
}

// Flush implements http.Flusher, which the wrapping would otherwise hide.
func (g *goneWriter) Flush() { _ = http.NewResponseController(g.ResponseWriter).Flush() }

type watchedConn struct {
	net.Conn
	signal func()
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil {
		c.signal()
	}
	return n, err
}

func (c *watchedConn) Close() error {
	c.signal()
	return c.Conn.Close()
}
