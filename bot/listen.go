package bot

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// webhookCommit bounds how long a webhook call waits for its update to be
// committed; a write timeout must outlast it.
const webhookCommit = 30 * time.Second

// maxHeaderBytes bounds a request's headers on ListenAddr; Telegram's and
// a Prometheus scraper's are far smaller.
const maxHeaderBytes = 16 << 10

// listen opens ListenAddr holding at most ListenMaxConns connections at
// once: more wait in the kernel's queue, not in this process's file
// descriptors, until one closes. With the server's timeouts, a connection
// that stalls is closed after ListenReadTimeout, so stalled connections
// can delay the webhook and /healthz but never starve them.
func (b *Bot) listen() (*limitListener, error) {
	ln, err := net.Listen("tcp", b.cfg.ListenAddr)
	if err != nil {
		return nil, err
	}
	return newLimitListener(ln, b.cfg.ListenMaxConns), nil
}

// httpServer serves h with every timeout set: headers and body must come
// within ListenReadTimeout, an answer may take the webhook's commit time and
// more, and an idle keep-alive connection is closed after a minute.
func (b *Bot) httpServer(h http.Handler) *http.Server {
	rt := b.cfg.ListenReadTimeout
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: rt,
		ReadTimeout:       rt,
		WriteTimeout:      rt + webhookCommit + 5*time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    maxHeaderBytes,
	}
}

// limitListener accepts at most cap(sem) connections at a time.
type limitListener struct {
	net.Listener
	sem       chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	open      atomic.Int64
	peak      atomic.Int64 // the most connections held at once, for tests
}

func newLimitListener(ln net.Listener, n int) *limitListener {
	return &limitListener{Listener: ln, sem: make(chan struct{}, n), done: make(chan struct{})}
}

func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.sem <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.sem
		return nil, err
	}
	n := l.open.Add(1)
	for p := l.peak.Load(); n > p && !l.peak.CompareAndSwap(p, n); p = l.peak.Load() {
	}
	return &limitConn{Conn: c, l: l}, nil
}

func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.open.Add(-1)
		<-c.l.sem
	})
	return err
}
