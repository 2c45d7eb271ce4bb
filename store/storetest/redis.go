package storetest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisURLEnv names the variable holding the URL of a Redis server shared by
// the tests of a whole run (scripts/test.sh sets it).
const RedisURLEnv = "AIMABOT_TEST_REDIS_URL"

const (
	redisStartAttempts = 5
	redisStartDeadline = 10 * time.Second
	redisStopDeadline  = 10 * time.Second
)

// StartRedis returns the URL of a Redis server for t. When
// AIMABOT_TEST_REDIS_URL is set, that server is used as it is (nothing is
// flushed: give each test its own key prefix with [RedisPrefix]). Otherwise
// a private redis-server from PATH is started on a free loopback port, with
// no persistence, and stopped when t ends. A missing redis-server fails t.
func StartRedis(t testing.TB) (url string) {
	t.Helper()
	if u := os.Getenv(RedisURLEnv); u != "" {
		return u
	}
	srv, port := startOnFreePort(t, redisBinary(t), t.TempDir(), false)
	t.Cleanup(func() {
		if err := srv.stop(); err != nil {
			t.Errorf("stopping redis-server: %v", err)
		}
	})
	return redisURL(port)
}

// redisBinary finds redis-server on PATH, failing t when it is missing.
func redisBinary(t testing.TB) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server is not on PATH: run the tests with scripts/test.sh "+
			"(it installs and starts Redis), install Debian's redis-server package, "+
			"or set %s to a Redis URL", RedisURLEnv)
	}
	return bin
}

func redisURL(port int) string { return fmt.Sprintf("redis://127.0.0.1:%d/0", port) }

// startOnFreePort starts redis-server with its files in dir on a free
// loopback port, trying other ports when one is taken meanwhile.
func startOnFreePort(t testing.TB, bin, dir string, persistent bool, extra ...string) (*redisServer, int) {
	t.Helper()
	var failures []string
	for range redisStartAttempts {
		port, err := freePort()
		if err != nil {
			t.Fatalf("finding a free port for redis-server: %v", err)
		}
		srv, exited, err := startRedisServer(bin, port, dir, persistent, extra...)
		if err == nil {
			return srv, port
		}
		if !exited {
			t.Fatalf("starting redis-server on 127.0.0.1:%d: %v", port, err)
		}
		// Most likely someone took the port meanwhile: try another.
		failures = append(failures, fmt.Sprintf("port %d: %v", port, err))
	}
	t.Fatalf("redis-server did not start in %d attempts:\n%s", redisStartAttempts, strings.Join(failures, "\n"))
	return nil, 0
}

// RedisProcess is a redis-server of the test's own, with its data on
// disk (appendonly, fsync always), that the test can stop and start again
// on the same port, keeping the data. For tests of a Redis outage.
type RedisProcess struct {
	URL string // redis://127.0.0.1:<port>/0

	bin  string
	port int
	dir  string

	mu  sync.Mutex
	srv *redisServer // nil while stopped
}

// StartRedisProcess starts a redis-server of t's own from PATH, whatever
// AIMABOT_TEST_REDIS_URL says, on a free loopback port with its files in a
// directory of t's, and stops it when t ends. A missing redis-server, or
// one that does not start, fails t.
func StartRedisProcess(t testing.TB) *RedisProcess {
	t.Helper()
	bin := redisBinary(t)
	dir := t.TempDir() // removed after the Cleanup below has stopped the server
	srv, port := startOnFreePort(t, bin, dir, true)
	p := &RedisProcess{URL: redisURL(port), bin: bin, port: port, dir: dir, srv: srv}
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.srv == nil {
			return
		}
		if err := p.srv.stop(); err != nil {
			t.Errorf("stopping redis-server: %v", err)
		}
		p.srv = nil
	})
	return p
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it to
// exit; it is killed, failing t, if it does not within 10 seconds.
// Stopping a stopped server fails t.
func (p *RedisProcess) Stop(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv == nil {
		t.Fatalf("RedisProcess.Stop: redis-server on port %d is not running", p.port)
	}
	err := p.srv.stop()
	p.srv = nil
	if err != nil {
		t.Fatalf("stopping redis-server on port %d: %v", p.port, err)
	}
}

// Start starts the stopped server again, on the same port and with the same
// data directory, and waits until it answers PING (after loading its data).
// Starting a running server, or failing to start (say, someone took the
// port meanwhile), fails t.
func (p *RedisProcess) Start(t testing.TB) {
	t.Helper()
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		t.Fatalf("RedisProcess.Start: redis-server on port %d is already running", p.port)
	}
	srv, _, err := startRedisServer(p.bin, p.port, p.dir, true)
	if err != nil {
		t.Fatalf("starting redis-server again on 127.0.0.1:%d: %v", p.port, err)
	}
	p.srv = srv
}

// freePort returns a loopback TCP port nobody listened on a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	return port, l.Close()
}

type redisServer struct {
	cmd    *exec.Cmd
	exited chan struct{} // closed when cmd.Wait returns
	output *lockedBuffer
}

// startRedisServer starts redis-server and waits for it to answer. exited
// reports that it quit by itself (typically: the port was taken). A
// persistent server keeps an append-only file in dir, fsynced at every
// write; another keeps nothing on disk.
func startRedisServer(bin string, port int, dir string, persistent bool, extra ...string) (srv *redisServer, exited bool, err error) {
	out := &lockedBuffer{}
	appendOnly := []string{"--appendonly", "no"}
	if persistent {
		appendOnly = []string{"--appendonly", "yes", "--appendfsync", "always"}
	}
	args := append([]string{
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--dir", dir,
		"--daemonize", "no",
	}, appendOnly...)
	args = append(args, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Stdout = out
	cmd.Stderr = out
	if err := cmd.Start(); err != nil {
		return nil, false, err
	}
	srv = &redisServer{cmd: cmd, exited: make(chan struct{}), output: out}
	go func() {
		_ = cmd.Wait()
		close(srv.exited)
	}()

	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(redisStartDeadline)
	for {
		select {
		case <-srv.exited:
			return nil, true, fmt.Errorf("redis-server exited (%v): %s", cmd.ProcessState, lastLines(out.String(), 5))
		default:
		}
		if pingRaw(addr) == nil {
			return srv, false, nil
		}
		if time.Now().After(deadline) {
			_ = srv.stop()
			return nil, false, fmt.Errorf("no answer to PING within %v: %s", redisStartDeadline, lastLines(out.String(), 5))
		}
		select {
		case <-srv.exited:
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// pingRaw sends PING without any client library.
func pingRaw(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if !strings.HasPrefix(line, "+PONG") {
		return fmt.Errorf("PING answered %q", strings.TrimSpace(line))
	}
	return nil
}

// stop sends SIGTERM and waits; after redisStopDeadline it kills.
func (s *redisServer) stop() error {
	select {
	case <-s.exited:
		return nil
	default:
	}
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		select {
		case <-s.exited: // it was already on its way out
			return nil
		default:
			return err
		}
	}
	select {
	case <-s.exited:
		return nil
	case <-time.After(redisStopDeadline):
		_ = s.cmd.Process.Kill()
		<-s.exited
		return fmt.Errorf("redis-server ignored SIGTERM for %v and was killed", redisStopDeadline)
	}
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// RedisPrefix returns a key prefix no other test uses, made of t's name and
// a random suffix, and removes the keys under it from the server at url when
// t ends, so a shared server keeps no test data.
func RedisPrefix(t testing.TB, url string) string {
	t.Helper()
	name := []byte(t.Name())
	for i, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			name[i] = '_'
		}
	}
	if len(name) > 80 {
		name = name[len(name)-80:]
	}
	prefix := "aimabot-test:" + string(name) + ":" + strings.ToLower(rand.Text()[:10]) + ":"

	t.Cleanup(func() {
		opt, err := redis.ParseURL(url)
		if err != nil {
			t.Errorf("cleaning up redis keys: %v", err)
			return
		}
		client := redis.NewClient(opt)
		defer client.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		iter := client.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		for iter.Next(ctx) {
			if err := client.Del(ctx, iter.Val()).Err(); err != nil {
				t.Errorf("cleaning up redis keys: %v", err)
				return
			}
		}
		if err := iter.Err(); err != nil {
			t.Errorf("cleaning up redis keys: %v", err)
		}
	})
	return prefix
}
