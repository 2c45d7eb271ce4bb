package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// loadConfig is aimabot-load's command line.
type loadConfig struct {
	users       int
	duration    time.Duration
	json        bool
	replicas    int
	redisURL    string
	data        string
	stored      int
	stepTimeout time.Duration
	scripts     []script
	exe         string // the aimabot binary the replicas run
}

// loadReport is the result; its JSON names are the tool's interface.
type loadReport struct {
	Store                    string  `json:"store"`
	Replicas                 int     `json:"replicas"`
	Users                    int     `json:"users"`
	Stored                   int     `json:"stored_conversations"`
	Seconds                  float64 `json:"seconds"`
	Conversations            int     `json:"conversations"`
	Updates                  int     `json:"updates"`
	UpdatesPerSec            float64 `json:"updates_per_sec"`
	P50ms                    float64 `json:"p50_ms"`
	P95ms                    float64 `json:"p95_ms"`
	P99ms                    float64 `json:"p99_ms"`
	Errors                   int     `json:"errors"`
	Lost                     int     `json:"lost"`
	Duplicated               int     `json:"duplicated"`
	RedisRoundTripsPerUpdate float64 `json:"redis_round_trips_per_update"`
	RedisCommandsPerUpdate   float64 `json:"redis_commands_per_update"`
	CPUMicrosPerUpdate       float64 `json:"cpu_us_per_update"`
	PeakRSSMB                float64 `json:"peak_rss_mb"`
	// PeakAnonMB is the most anonymous memory (heap, stacks; RssAnon) a
	// replica had when sampled, once a second: peak RSS without the pages
	// of files it maps, such as the embedded store's database.
	PeakAnonMB float64 `json:"peak_anon_mb"`
}

const loadUsage = `usage: aimabot-load [--bin PATH] [--users N] [--duration D] [--json] [--replicas N] [--redis-url URL] [--data DIR] [--stored N] [--scripts a,b] [--step-timeout D]`

// runLoadtest drives simulated applicants through whole conversations,
// through the fake Bot API server, against `aimabot serve` replicas it
// starts as child processes, and reports throughput, latency and costs.
func runLoadtest(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("aimabot-load")
	cfg := loadConfig{}
	bin := fs.String("bin", "", "the aimabot binary the replicas run (default the aimabot next to aimabot-load, else on PATH)")
	fs.IntVar(&cfg.users, "users", 200, "simulated applicants talking at once")
	fs.DurationVar(&cfg.duration, "duration", 30*time.Second, "how long new conversations start; those running then finish")
	fs.BoolVar(&cfg.json, "json", false, "print the report as JSON")
	fs.IntVar(&cfg.replicas, "replicas", 1, "serve replicas, behind a round-robin proxy (more than one need Redis)")
	fs.StringVar(&cfg.redisURL, "redis-url", getenv("REDIS_URL"), "Redis URL, or a cluster's (env REDIS_URL); the embedded store when unset")
	fs.StringVar(&cfg.data, "data", "", "embedded store directory; default a temporary one, removed afterwards")
	fs.IntVar(&cfg.stored, "stored", 0, "finished conversations stored before the measurement")
	fs.DurationVar(&cfg.stepTimeout, "step-timeout", 10*time.Second, "how long an applicant waits for a reply before counting it lost")
	names := fs.String("scripts", "", "comma-separated conversations to run (default all: "+scriptNames(loadScripts())+")")
	if err := parseFlags(fs, args); err != nil {
		return usagef("%v\n%s", err, loadUsage)
	}
	cfg.scripts = loadScripts()
	if *names != "" {
		var picked []script
		for _, n := range strings.Split(*names, ",") {
			i := slices.IndexFunc(cfg.scripts, func(s script) bool { return s.name == strings.TrimSpace(n) })
			if i < 0 {
				return usagef("--scripts: no conversation %q (there are %s)", n, scriptNames(cfg.scripts))
			}
			picked = append(picked, cfg.scripts[i])
		}
		cfg.scripts = picked
	}
	switch {
	case cfg.users < 1 || cfg.users > 100_000:
		return usagef("--users must be 1 to 100000")
	case cfg.duration <= 0:
		return usagef("--duration must be positive")
	case cfg.replicas < 1 || cfg.replicas > 8:
		return usagef("--replicas must be 1 to 8")
	case cfg.replicas > 1 && cfg.redisURL == "":
		return usagef("%d replicas need a shared store: set REDIS_URL", cfg.replicas)
	case cfg.stored < 0:
		return usagef("--stored must not be negative")
	case cfg.stepTimeout <= 0:
		return usagef("--step-timeout must be positive")
	}
	exe, err := findServer(*bin)
	if err != nil {
		return err
	}
	cfg.exe = exe
	rep, err := loadtest(ctx, cfg, progressTo(stderr))
	if rep != nil {
		if cfg.json {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(rep); jerr != nil {
				return fmt.Errorf("loadtest: writing the report: %w", jerr)
			}
		} else {
			printReport(stdout, rep)
		}
	}
	return err
}

// progressTo writes the progress line: rewritten in place on a terminal,
// a line every five seconds otherwise.
func progressTo(w io.Writer) func(line string, final bool) {
	f, ok := w.(*os.File)
	tty := false
	if ok {
		if st, err := f.Stat(); err == nil && st.Mode()&os.ModeCharDevice != 0 {
			tty = true
		}
	}
	var n int
	return func(line string, final bool) {
		n++
		switch {
		case tty && final:
			fmt.Fprintf(w, "\r\033[K%s\n", line)
		case tty:
			fmt.Fprintf(w, "\r\033[K%s", line)
		case final || n%5 == 0:
			fmt.Fprintln(w, line)
		}
	}
}

func printReport(w io.Writer, r *loadReport) {
	fmt.Fprintf(w, "aimabot-load: %d replica(s) on %s, %d users, %d stored conversations, %.1f s\n",
		r.Replicas, r.Store, r.Users, r.Stored, r.Seconds)
	fmt.Fprintf(w, "  updates         %d (%.0f/s) in %d conversations\n", r.Updates, r.UpdatesPerSec, r.Conversations)
	fmt.Fprintf(w, "  latency         p50 %.2f ms, p95 %.2f ms, p99 %.2f ms (update offered to reply accepted)\n", r.P50ms, r.P95ms, r.P99ms)
	fmt.Fprintf(w, "  replies         %d errors, %d lost, %d duplicated (against the run without load)\n", r.Errors, r.Lost, r.Duplicated)
	fmt.Fprintf(w, "  bot CPU         %.0f µs per update\n", r.CPUMicrosPerUpdate)
	if r.Store != "embedded" {
		fmt.Fprintf(w, "  Redis           %.2f round trips, %.2f commands per update\n", r.RedisRoundTripsPerUpdate, r.RedisCommandsPerUpdate)
	}
	fmt.Fprintf(w, "  peak RSS        %.1f MB (largest replica), of which anonymous %.1f MB\n", r.PeakRSSMB, r.PeakAnonMB)
}

func scriptNames(scripts []script) string {
	var names []string
	for _, s := range scripts {
		names = append(names, s.name)
	}
	return strings.Join(names, ", ")
}

// loadtest runs the reference, then the measurement. The replicas lift
// Telegram's send limits (--unlimited), which serve allows only against
// a Bot API server on loopback: the fake one here.
func loadtest(ctx context.Context, cfg loadConfig, progress func(string, bool)) (*loadReport, error) {
	w := newWorld(nil)
	defer w.close()
	run := strings.ToLower(rand.Text()[:8])
	env := []string{"TELEGRAM_BOT_TOKEN=" + w.srv.Token(), "TELEGRAM_API_URL=" + w.srv.URL(),
		"STAFF_CHAT_ID=" + strconv.FormatInt(loadStaffChat, 10), "STAFF_USER_IDS=" + strconv.FormatInt(loadStaffUser, 10),
		"LOG_LEVEL=warn"}
	storeName := "embedded"
	var refEnv, loadEnv []string
	if cfg.redisURL != "" {
		storeName = "redis"
		if strings.Contains(cfg.redisURL, "addr=") {
			storeName = "redis cluster"
		}
		refPrefix, loadPrefix := "aimabot-load:"+run+":ref:", "aimabot-load:"+run+":"
		refEnv = append(slices.Clone(env), "REDIS_URL="+cfg.redisURL, "REDIS_PREFIX="+refPrefix)
		loadEnv = append(slices.Clone(env), "REDIS_URL="+cfg.redisURL, "REDIS_PREFIX="+loadPrefix)
		defer dropKeys(cfg.redisURL, refPrefix)
		defer dropKeys(cfg.redisURL, loadPrefix)
	} else {
		dir := cfg.data
		if dir == "" {
			tmp, err := os.MkdirTemp("", "aimabot-loadtest-")
			if err != nil {
				return nil, fmt.Errorf("loadtest: %w", err)
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		refEnv = append(slices.Clone(env), "AIMABOT_DATA="+filepath.Join(dir, "reference-"+run))
		loadEnv = append(slices.Clone(env), "AIMABOT_DATA="+filepath.Join(dir, "load-"+run))
	}

	// The reference: each script once, at the same time, with no load.
	progress("loadtest: recording the conversations without load…", false)
	refs, err := recordReferences(ctx, w, cfg, refEnv)
	if err != nil {
		return nil, err
	}

	if cfg.stored > 0 {
		progress(fmt.Sprintf("loadtest: storing %d finished conversations…", cfg.stored), false)
		if err := storeConversations(ctx, refEnv, loadEnv, cfg.stored); err != nil {
			return nil, err
		}
	}

	// The measurement.
	reps, stop, err := startReplicas(ctx, cfg, loadEnv, "load")
	if err != nil {
		return nil, err
	}
	defer stop()
	rep, err := measure(ctx, w, cfg, reps, refs, progress)
	if rep != nil {
		rep.Store, rep.Stored = storeName, cfg.stored
	}
	if serr := stop(); err == nil && serr != nil {
		err = serr
	}
	return rep, err
}

// startReplicas starts cfg.replicas serve processes behind a round-robin
// proxy: one replica too, as a deployment has a load balancer or a TLS
// terminator in front, and so that one and several replicas are measured
// alike. stop ends them gracefully and is safe to call again.
func startReplicas(ctx context.Context, cfg loadConfig, env []string, name string) ([]*replica, func() error, error) {
	var px *proxy
	addrs := []string{}
	reps := []*replica{}
	var once sync.Once
	var stopErr error
	stop := func() error {
		once.Do(func() {
			for _, r := range reps {
				if err := r.stop(); err != nil && stopErr == nil {
					stopErr = fmt.Errorf("loadtest: %w", err)
				}
			}
			if px != nil {
				px.close()
			}
		})
		return stopErr
	}
	for i := range cfg.replicas {
		r, err := newReplica(cfg.exe, name+"-"+strconv.Itoa(i+1), env, "")
		if err != nil {
			return nil, stop, err
		}
		reps = append(reps, r)
		addrs = append(addrs, r.addr)
	}
	var err error
	if px, err = startProxy(addrs); err != nil {
		return nil, stop, err
	}
	hook := "http://" + px.addr + "/telegram"
	for i, r := range reps {
		r.env = append(r.env, "WEBHOOK_URL="+hook) // the later setting wins
		r.moved = func(addr string) { px.retarget(i, addr) }
	}
	for _, r := range reps {
		if err := r.start(ctx); err != nil {
			stop()
			return nil, stop, fmt.Errorf("loadtest: %w", err)
		}
	}
	return reps, stop, nil
}

func recordReferences(ctx context.Context, w *world, cfg loadConfig, env []string) ([]reference, error) {
	one := cfg
	one.replicas = 1
	reps, stop, err := startReplicas(ctx, one, env, "reference")
	if err != nil {
		return nil, err
	}
	defer stop()
	refs := make([]reference, len(cfg.scripts))
	errs := make([]error, len(cfg.scripts))
	rctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	for i, sc := range cfg.scripts {
		wg.Go(func() { refs[i], errs[i] = w.record(rctx, int64(i+1), sc) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("loadtest: the run without load failed: %w\n%s", err, lastLogLines(reps[0].log(), 10))
	}
	return refs, stop()
}

// referenceChat is the chat of the first script's reference conversation,
// whose stored session --stored copies.
const referenceChat = 1

// storeConversations copies the stored session of a finished reference
// conversation to n chats of the measured store, with the wake-up that
// erases it, so the measurement runs with a store that already holds that
// many conversations.
func storeConversations(ctx context.Context, refEnv, loadEnv []string, n int) error {
	logger := slog.New(slog.DiscardHandler)
	ref, err := openServerStore(logger, envFunc(refEnv))
	if err != nil {
		return fmt.Errorf("loadtest: opening the reference store: %w", err)
	}
	raw, ok, err := ref.Get(ctx, referenceChat)
	ref.Close()
	if err != nil || !ok {
		return fmt.Errorf("loadtest: reading a finished conversation (found %v): %v", ok, err)
	}
	st, err := openServerStore(logger, envFunc(loadEnv))
	if err != nil {
		return fmt.Errorf("loadtest: opening the store: %w", err)
	}
	defer st.Close()
	// A finished conversation is next woken to warn of its erasure.
	keep := flows.DefaultRetention()
	wake := time.Now().Add(keep.Session - keep.Notice)
	var next atomic.Int64
	errs := make(chan error, 16)
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				_, err := st.Apply(ctx, storedChat0+i, 0, "loadtest", time.Minute, func([]byte) (store.Change, error) {
					return store.Change{Session: raw, Wake: wake}, nil
				})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return fmt.Errorf("loadtest: storing conversations: %w", err)
	}
	return nil
}

// openServerStore opens the store a replica started with getenv's
// variables uses, as `aimabot serve` opens it: Redis at REDIS_URL under
// REDIS_PREFIX, or the embedded store in AIMABOT_DATA, keyed by the bot
// token, with serve's expiry for the default retention.
func openServerStore(logger *slog.Logger, getenv func(string) string) (store.Store, error) {
	ttl := flows.DefaultRetention().Session + serveBackstop
	secret := getenv("TELEGRAM_BOT_TOKEN")
	if url := getenv("REDIS_URL"); url != "" {
		return store.OpenRedis(logger, url, store.RedisOptions{Prefix: getenv("REDIS_PREFIX"), TTL: ttl, HashSecret: secret})
	}
	return store.OpenBolt(logger, getenv("AIMABOT_DATA"), store.BoltOptions{TTL: ttl, HashSecret: secret})
}

// serveBackstop is how much longer than SESSION_TTL `aimabot serve` has
// the store keep an idle conversation (cmd/aimabot's backstop).
const serveBackstop = 7 * 24 * time.Hour

// Chat ids: stored conversations, then the measured ones.
const (
	storedChat0 = 10_000_000
	loadChat0   = 100_000_000
)

// envFunc is getenv over a list of KEY=value.
func envFunc(env []string) func(string) string {
	return func(k string) string {
		for i := len(env) - 1; i >= 0; i-- {
			if v, ok := strings.CutPrefix(env[i], k+"="); ok {
				return v
			}
		}
		return ""
	}
}

// dropKeys removes a run's keys from Redis.
func dropKeys(url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.OpenRedis(slog.New(slog.DiscardHandler), url, store.RedisOptions{Prefix: prefix})
	if err != nil {
		return
	}
	defer st.Close()
	_ = st.Purge(ctx)
}
