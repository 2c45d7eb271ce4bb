package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// `aimabot serve` replicas run as child processes by the load test, a
// round-robin proxy in front of them, and what is read off them: CPU time
// and peak memory from /proc, round trips from their /metrics, and the
// commands Redis processed.

// replica is one `aimabot serve` child in webhook mode.
type replica struct {
	name string
	addr string // its listener, host:port
	exe  string
	env  []string

	mu sync.Mutex
	// moved, when set, is told the replica's new address when start had
	// to take another port (one taken meanwhile by another process).
	moved  func(addr string)
	cmd    *exec.Cmd
	stderr *syncBuf
	exited chan struct{}
	// cpuBefore and rssPeak keep the figures of earlier processes of this
	// replica (before a restart); anonPeak is the most anonymous memory
	// seen in any of them.
	cpuBefore time.Duration
	rssPeak   int64
	anonPeak  int64
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// freeAddr is a loopback address nobody listened on a moment ago.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("finding a free port: %w", err)
	}
	addr := l.Addr().String()
	return addr, l.Close()
}

// newReplica prepares a replica named name: env is the serve
// configuration (token, API URL, store, staff), to which its webhook and
// listener are added. hookURL is where Telegram posts updates (this
// replica or the proxy in front).
func newReplica(exe, name string, env []string, hookURL string) (*replica, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	if hookURL == "" {
		hookURL = "http://" + addr + "/telegram"
	}
	env = append(append([]string(nil), env...), "REPLICA_ID="+name, "LISTEN_ADDR="+addr,
		"WEBHOOK_URL="+hookURL, "WEBHOOK_SECRET=load-test-secret")
	return &replica{name: name, addr: addr, exe: exe, env: env}, nil
}

// errPortTaken: the replica's port was taken between freeAddr and its
// listening, by another process.
var errPortTaken = errors.New("the replica's port was taken meanwhile")

// start runs the replica and waits until it is ready (/readyz answers 200).
// A port taken meanwhile is replaced by another, a few times.
func (r *replica) start(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := r.startOnce(ctx)
		if err == nil || attempt == 3 || !errors.Is(err, errPortTaken) {
			return err
		}
		addr, aerr := freeAddr()
		if aerr != nil {
			return aerr
		}
		r.mu.Lock()
		r.addr = addr
		r.env = append(r.env, "LISTEN_ADDR="+addr) // the later setting wins
		moved := r.moved
		r.mu.Unlock()
		if moved != nil {
			moved(addr)
		}
	}
}

// listenAddr is the replica's address now.
func (r *replica) listenAddr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr
}

func (r *replica) startOnce(ctx context.Context) error {
	r.mu.Lock()
	cmd := exec.Command(r.exe, "serve", "--unlimited")
	cmd.Env = append(os.Environ(), r.env...)
	r.stderr = &syncBuf{}
	cmd.Stderr = r.stderr
	if err := cmd.Start(); err != nil {
		r.mu.Unlock()
		return fmt.Errorf("starting replica %s: %w", r.name, err)
	}
	r.cmd = cmd
	exited := make(chan struct{})
	r.exited = exited
	r.mu.Unlock()
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()

	cli := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-exited:
			err := fmt.Errorf("replica %s exited at start (%v):\n%s", r.name, cmd.ProcessState, lastLogLines(r.stderr.String(), 10))
			if strings.Contains(r.stderr.String(), "address already in use") {
				err = fmt.Errorf("%w: %w", errPortTaken, err)
			}
			return err
		default:
		}
		if resp, err := cli.Get("http://" + r.listenAddr() + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			r.kill()
			return fmt.Errorf("replica %s not ready within 20 s:\n%s", r.name, lastLogLines(r.stderr.String(), 10))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the replica with SIGKILL, as a crash would, keeping its CPU
// time and peak memory for the totals.
func (r *replica) kill() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return
	}
	r.keepFigures()
	_ = r.cmd.Process.Kill()
	<-r.exited
	r.cmd = nil
}

// stop ends the replica gracefully (SIGTERM), killing it after 15 s.
func (r *replica) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd == nil {
		return nil
	}
	r.keepFigures()
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(15 * time.Second):
		_ = r.cmd.Process.Kill()
		<-r.exited
		r.cmd = nil
		return fmt.Errorf("replica %s ignored SIGTERM for 15 s", r.name)
	}
	st := r.cmd.ProcessState
	r.cmd = nil
	if !st.Success() {
		return fmt.Errorf("replica %s: %v:\n%s", r.name, st, lastLogLines(r.stderr.String(), 10))
	}
	return nil
}

// keepFigures adds the running process's CPU time and peak memory to the
// replica's. r.mu must be held.
func (r *replica) keepFigures() {
	p, err := procFigures(r.cmd.Process.Pid)
	if err != nil {
		return
	}
	r.cpuBefore += p.cpu
	r.rssPeak = max(r.rssPeak, p.hwm)
	r.anonPeak = max(r.anonPeak, p.anon)
}

// figures are the replica's CPU time, peak resident memory and peak
// anonymous memory so far, over all its processes. Each call samples the
// anonymous memory, which the kernel keeps no peak of.
func (r *replica) figures() (cpu time.Duration, rss, anon int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.cmd != nil {
		if p, err := procFigures(r.cmd.Process.Pid); err == nil {
			r.anonPeak = max(r.anonPeak, p.anon)
			return r.cpuBefore + p.cpu, max(r.rssPeak, p.hwm), r.anonPeak
		}
	}
	return r.cpuBefore, r.rssPeak, r.anonPeak
}

// log is what the replica wrote to stderr.
func (r *replica) log() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stderr == nil {
		return ""
	}
	return r.stderr.String()
}

// clockTicks is Linux's USER_HZ, the unit of /proc/<pid>/stat's times.
const clockTicks = 100

// procStat is what /proc tells of a process.
type procStat struct {
	cpu  time.Duration // user and system
	hwm  int64         // peak resident set (VmHWM), in bytes
	anon int64         // resident anonymous memory now (RssAnon), in bytes
}

// procFigures reads a process's CPU time, peak resident set and anonymous
// memory from /proc.
func procFigures(pid int) (procStat, error) {
	var p procStat
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return p, fmt.Errorf("reading the CPU time of process %d: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces: fields count from
	// after its closing parenthesis.
	s := string(stat)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(fields) < 13 {
		return p, fmt.Errorf("process %d: short /proc stat", pid)
	}
	utime, _ := strconv.ParseInt(fields[11], 10, 64)
	stime, _ := strconv.ParseInt(fields[12], 10, 64)
	p.cpu = time.Duration(utime+stime) * time.Second / clockTicks

	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return p, fmt.Errorf("reading the memory of process %d: %w", pid, err)
	}
	defer f.Close()
	kB := func(v string) int64 {
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		return n * 1024
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			p.hwm = kB(v)
		}
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			p.anon = kB(v)
		}
	}
	return p, sc.Err()
}

// roundTrips reads aimabot_store_round_trips_total off the replica's
// /metrics; 0 when it is not running.
func (r *replica) roundTrips() float64 {
	v, _ := r.metric("aimabot_store_round_trips_total")
	return v
}

// metric reads one series without labels off the replica's /metrics; ok
// is false when the replica does not answer or has no such series.
func (r *replica) metric(name string) (v float64, ok bool) {
	cli := &http.Client{Timeout: 2 * time.Second}
	resp, err := cli.Get("http://" + r.listenAddr() + "/metrics")
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	for line := range strings.SplitSeq(string(body), "\n") {
		if s, found := strings.CutPrefix(line, name+" "); found {
			f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			return f, err == nil
		}
	}
	return 0, false
}

// drained waits until no message waits in any outbox of the store the
// replicas share (they report the whole store's), so that a message sent
// twice has arrived by then.
func drained(ctx context.Context, reps []*replica) error {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	for {
		for _, r := range reps {
			if depth, ok := r.metric("aimabot_outbox_depth"); ok && depth == 0 {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the outboxes to empty: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// proxy passes each webhook call to the next replica in turn, as a load
// balancer in front of replicas would. A replica that refuses the
// connection (stopped, or not listening yet) is skipped, as nginx's
// proxy_next_upstream does; a call cut while a replica handled it answers
// 502, and Telegram (here: the fake server) delivers the update again.
type proxy struct {
	mu      sync.Mutex
	targets []string
	next    atomic.Uint64
	tr      *http.Transport
	srv     *http.Server
	addr    string
}

func startProxy(addrs []string) (*proxy, error) {
	p := &proxy{targets: addrs, tr: &http.Transport{MaxIdleConnsPerHost: 100, ResponseHeaderTimeout: 30 * time.Second,
		DialContext: (&net.Dialer{Timeout: time.Second}).DialContext}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	p.addr = ln.Addr().String()
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: "http", Host: "replica"}) // the transport picks which
		},
		Transport: p,
		ErrorLog:  log.New(io.Discard, "", 0),
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	p.srv = &http.Server{Handler: rp, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// RoundTrip sends the call to the next replica, and to the one after it
// when that one refuses the connection.
func (p *proxy) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := io.ReadAll(req.Body)
	_ = req.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("proxy: reading the call: %w", err)
	}
	p.mu.Lock()
	targets := slices.Clone(p.targets)
	p.mu.Unlock()
	first := p.next.Add(1)
	for i := range uint64(len(targets)) {
		r := req.Clone(req.Context())
		r.URL.Host = targets[(first+i)%uint64(len(targets))]
		r.Host = r.URL.Host
		r.Body = io.NopCloser(bytes.NewReader(body))
		resp, err := p.tr.RoundTrip(r)
		var op *net.OpError
		if err != nil && errors.As(err, &op) && op.Op == "dial" {
			continue // nothing was sent: the next replica may take it
		}
		return resp, err
	}
	return nil, errors.New("proxy: no replica accepts connections")
}

// retarget points the proxy's i-th target at addr (a replica that moved).
func (p *proxy) retarget(i int, addr string) {
	p.mu.Lock()
	p.targets[i] = addr
	p.mu.Unlock()
}

func (p *proxy) close() {
	_ = p.srv.Close()
	p.tr.CloseIdleConnections()
}

// redisCommands is the number of commands the Redis server (every master
// of a cluster) has processed, from INFO stats.
func redisCommands(ctx context.Context, rawURL string) (int64, error) {
	var cluster *redis.ClusterOptions
	if u, err := url.Parse(rawURL); err == nil && u.Query().Has("addr") {
		if cluster, err = redis.ParseClusterURL(rawURL); err != nil {
			return 0, err
		}
	} else {
		opt, err := redis.ParseURL(rawURL)
		if err != nil {
			return 0, err
		}
		n := redis.NewClient(opt)
		info, err := n.Info(ctx, "stats", "cluster").Result()
		n.Close()
		if err != nil {
			return 0, fmt.Errorf("redis INFO stats: %w", err)
		}
		if !strings.Contains(info, "cluster_enabled:1") {
			return commandsIn(info), nil
		}
		cluster = &redis.ClusterOptions{Addrs: []string{opt.Addr}, Username: opt.Username, Password: opt.Password, TLSConfig: opt.TLSConfig}
	}
	cc := redis.NewClusterClient(cluster)
	defer cc.Close()
	var total atomic.Int64
	err := cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
		info, err := n.Info(ctx, "stats").Result()
		total.Add(commandsIn(info))
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("redis cluster INFO stats: %w", err)
	}
	return total.Load(), nil
}

func commandsIn(info string) int64 {
	for line := range strings.SplitSeq(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "total_commands_processed:"); ok {
			c, _ := strconv.ParseInt(v, 10, 64)
			return c
		}
	}
	return 0
}

func lastLogLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
