package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/store/storetest"
)

// aimabotBin is the aimabot binary TestMain builds for the replicas, with
// the race detector when the tests have it.
var aimabotBin string

func TestMain(m *testing.M) {
	os.Exit(buildAndRun(m))
}

func buildAndRun(m *testing.M) int {
	dir, err := os.MkdirTemp("", "aimabot-load-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	aimabotBin = filepath.Join(dir, "aimabot")
	// -buildvcs=true: the binary names its commit (aimabot version), even
	// where GOFLAGS turns stamping off.
	args := []string{"build", "-buildvcs=true", "-o", aimabotBin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "github.com/aimabot/aimabot/cmd/aimabot")...)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building aimabot for the replicas: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// testGetenv is the environment of a command run by a test.
func testGetenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// A short load test, on Redis and on the embedded store, through the
// command line: every conversation ends as it did without load, and the
// report has the figures.
func TestLoadtestCommand(t *testing.T) {
	url := storetest.StartRedis(t)
	for _, tt := range []struct {
		name  string
		env   map[string]string
		redis bool // the report has Redis's figures
	}{
		{"redis", map[string]string{"REDIS_URL": url}, true},
		{"embedded", map[string]string{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each has its own fake Telegram, replicas and store
			var out, errOut bytes.Buffer
			err := run(t.Context(), []string{"--bin", aimabotBin, "--users", "8", "--duration", "2s", "--json", "--stored", "50",
				"--data", t.TempDir()}, testGetenv(tt.env), &out, &errOut)
			if err != nil {
				t.Fatalf("loadtest: %v\nstderr:\n%s", err, errOut.String())
			}
			var rep loadReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatalf("the --json report does not parse: %v\n%s", err, out.String())
			}
			var raw map[string]any
			_ = json.Unmarshal(out.Bytes(), &raw)
			for _, k := range []string{"updates", "updates_per_sec", "p50_ms", "p95_ms", "p99_ms", "errors", "lost",
				"duplicated", "redis_round_trips_per_update", "peak_rss_mb", "peak_anon_mb"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("the report lacks %q:\n%s", k, out.String())
				}
			}
			if rep.Conversations < 8 || rep.Updates < 8*10 || rep.UpdatesPerSec <= 0 || rep.P50ms <= 0 || rep.P99ms < rep.P50ms {
				t.Errorf("report = %+v; want at least a conversation per user, and latencies", rep)
			}
			if rep.Errors+rep.Lost+rep.Duplicated != 0 {
				t.Errorf("report = %+v; want every conversation as without load", rep)
			}
			if rep.CPUMicrosPerUpdate <= 0 || rep.PeakRSSMB <= 0 || rep.PeakAnonMB <= 0 || rep.PeakAnonMB > rep.PeakRSSMB {
				t.Errorf("report = %+v; want the replica's CPU time and memory", rep)
			}
			if tt.redis != (rep.RedisRoundTripsPerUpdate > 0 && rep.RedisCommandsPerUpdate > 0) {
				t.Errorf("report = %+v; want Redis figures only when on Redis", rep)
			}
			if !strings.Contains(errOut.String(), "loadtest: done") {
				t.Errorf("no progress on stderr:\n%s", errOut.String())
			}
		})
	}
}

// The run without load waits for what the bot has taken in, not only for a
// quiet spell: here the bot needs a second for each document (its
// download), as on a busy machine, and every act still finds the replies
// to the one before.
func TestReferenceSlowBot(t *testing.T) {
	w := newWorld(t.Logf)
	defer w.close()
	var sc script
	docs := 0
	for _, s := range loadScripts() {
		if s.name == "stolen_card_fr" {
			sc = s
		}
	}
	for _, a := range sc.acts {
		if a.kind == actPDF {
			docs++
		}
	}
	if docs == 0 {
		t.Fatalf("no script stolen_card_fr with a PDF in %s", scriptNames(loadScripts()))
	}
	w.srv.Inject(fakeapi.Fault{Method: "getFile", Delay: time.Second, Times: docs})
	env := []string{"TELEGRAM_BOT_TOKEN=" + w.srv.Token(), "TELEGRAM_API_URL=" + w.srv.URL(),
		"STAFF_CHAT_ID=-1008000000001", "STAFF_USER_IDS=8001", "LOG_LEVEL=warn",
		"AIMABOT_DATA=" + t.TempDir()}
	cfg := loadConfig{replicas: 1, scripts: []script{sc}, exe: aimabotBin}
	refs, err := recordReferences(t.Context(), w, cfg, env)
	if err != nil {
		t.Fatalf("recordReferences(%s) with slow downloads: %v", sc.name, err)
	}
	if left := w.srv.PendingFaults(); left != 0 {
		t.Errorf("%d slow downloads left; want every document downloaded slowly", left)
	}
	ref := refs[0]
	if n := len(ref.counts); n != len(sc.acts) || ref.counts[n-1] != len(ref.transcript) {
		t.Errorf("reference counts = %v for %d messages; want one count per act, the last every message", ref.counts, len(ref.transcript))
	}
}

func TestLoadtestFlags(t *testing.T) {
	for _, args := range [][]string{
		{"--users", "0"},
		{"--duration", "-1s"},
		{"--replicas", "2"}, // without Redis
		{"--scripts", "nope"},
		{"--stored", "-3"},
		{"--bin", filepath.Join(t.TempDir(), "no-such-aimabot")},
		{"unexpected"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), append([]string{"--bin", aimabotBin}, args...), testGetenv(nil), &out, &errOut)
		var ue *usageError
		if !errors.As(err, &ue) {
			t.Errorf("aimabot-load %v = %v; want a usage error", args, err)
		}
		if code := exitCode(err, &errOut); code != 2 {
			t.Errorf("aimabot-load %v exits %d; want 2", args, code)
		}
	}
}

// Two serve replicas in webhook mode behind a round-robin proxy, on a real
// three-master Redis Cluster, under the load's mixed conversations; one
// replica is killed with SIGKILL midway and started again. Every
// conversation ends with the replies it has without load.
func TestScaleOutCluster(t *testing.T) {
	cluster := storetest.StartRedisCluster(t)
	w := newWorld(t.Logf)
	defer w.close()
	base := []string{"TELEGRAM_BOT_TOKEN=" + w.srv.Token(), "TELEGRAM_API_URL=" + w.srv.URL(),
		"STAFF_CHAT_ID=-1008000000001", "STAFF_USER_IDS=8001", "LOG_LEVEL=warn",
		"REDIS_URL=" + cluster.URL}
	cfg := loadConfig{replicas: 2, exe: aimabotBin, scripts: loadScripts()}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	refs, err := recordReferences(ctx, w, cfg, append(base, "REDIS_PREFIX=ref:"))
	if err != nil {
		t.Fatal(err)
	}
	reps, stop, err := startReplicas(ctx, cfg, append(base, "REDIS_PREFIX=scale:"), "scale")
	if err != nil {
		t.Fatal(err)
	}
	defer stop()

	const users, each = 32, 4
	type done struct {
		chat   int64
		script int
		out    outcome
	}
	var (
		mu       sync.Mutex
		finished []done
		count    atomic.Int64
		wg       sync.WaitGroup
	)
	killed := make(chan struct{})
	for u := range int64(users) {
		wg.Go(func() {
			for k := range int64(each) {
				chat := loadChat0 + u*each + k
				i := int((u + k) % int64(len(cfg.scripts)))
				// A replica that died holds its chats' send leases until it
				// is back: the wait for a reply allows for that, and for a
				// restart under the race detector on a machine kept busy by
				// the other packages' tests (a minute was seen to fall
				// short once).
				out := w.converse(ctx, chat, cfg.scripts[i], refs[i], 2*time.Minute)
				mu.Lock()
				finished = append(finished, done{chat, i, out})
				mu.Unlock()
				if count.Add(1) == users*each/3 {
					close(killed)
				}
			}
		})
	}
	<-killed
	// Mid-load: SIGKILL one replica, then start it again under its name.
	reps[0].kill()
	if err := reps[0].start(ctx); err != nil {
		t.Fatalf("restarting the killed replica: %v", err)
	}
	wg.Wait()
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := drained(dctx, reps); err != nil { // repeats have come then
		t.Fatal(err)
	}

	dups := 0
	for _, d := range finished {
		if d.out.err != nil {
			t.Errorf("chat %d (%s): %v\napplicant saw:\n%s", d.chat, cfg.scripts[d.script].name, d.out.err,
				strings.Join(w.transcript(d.chat), "\n"))
			continue
		}
		switch kind, n := verdict(w.transcript(d.chat), refs[d.script].transcript); kind {
		case "duplicated":
			dups += n
		case "mismatch":
			t.Errorf("chat %d (%s) after the kill:\n%s\nwant (as without load):\n%s", d.chat, cfg.scripts[d.script].name,
				strings.Join(w.transcript(d.chat), "\n"), strings.Join(refs[d.script].transcript, "\n"))
		}
	}
	// A kill in the instant between Telegram accepting a message and the
	// outbox recording it repeats that message once (Telegram has no
	// idempotent send); at most one per chat in flight.
	if dups > users {
		t.Errorf("%d messages repeated by one kill; at most one per chat in flight (%d)", dups, users)
	}
	t.Logf("%d conversations on two replicas and a 3-master cluster, one replica killed and restarted: %d repeats",
		len(finished), dups)
	if err := stop(); err != nil {
		t.Errorf("stopping the replicas: %v", err)
	}
	for _, r := range reps {
		if log := r.log(); strings.Contains(log, w.srv.Token()) {
			t.Errorf("replica %s logged the token", r.name)
		}
	}
}

// A replica whose port another process took between the choice of the port
// and the replica's start takes another one, and says where it went.
func TestReplicaPortTaken(t *testing.T) {
	w := newWorld(t.Logf)
	defer w.close()
	env := []string{"TELEGRAM_BOT_TOKEN=" + w.srv.Token(), "TELEGRAM_API_URL=" + w.srv.URL(), "LOG_LEVEL=warn",
		"AIMABOT_DATA=" + t.TempDir()}
	r, err := newReplica(aimabotBin, "port-taken", env, "")
	if err != nil {
		t.Fatal(err)
	}
	taken, err := net.Listen("tcp", r.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	var moved string
	r.moved = func(addr string) { moved = addr }
	if err := r.start(t.Context()); err != nil {
		t.Fatalf("start with its port taken: %v", err)
	}
	defer r.kill()
	if now := r.listenAddr(); now == taken.Addr().String() || moved != now {
		t.Errorf("replica listens on %s, told %q; want another port than the taken %s, and told so", now, moved, taken.Addr())
	}
}

// The binary built from this checkout names its commit: `aimabot version`
// prints the revision git has checked out, and the build time.
func TestVersionPrintsCommit(t *testing.T) {
	head, err := exec.Command("git", "rev-parse", "HEAD").Output()
	if err != nil {
		t.Fatalf("git rev-parse HEAD: %v (the test runs in a git checkout)", err)
	}
	out, err := exec.Command(aimabotBin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("aimabot version: %v\n%s", err, out)
	}
	want := "commit " + strings.TrimSpace(string(head))
	if !strings.Contains(string(out), want) || strings.Contains(string(out), "built unknown") {
		t.Errorf("aimabot version =\n%s\nwant %q and a build time", out, want)
	}
	if out2, err := exec.Command(aimabotBin, "--version").Output(); err != nil || string(out2) != string(out) {
		t.Errorf("aimabot --version = %q, %v; want what aimabot version prints", out2, err)
	}
}
