package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/jpeg"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/store/storetest"
)

// TestMain lets the tests run this very binary as `aimabot`: a child started
// with AIMABOT_TEST_MAIN=1 runs main() instead of the tests.
func TestMain(m *testing.M) {
	if os.Getenv("AIMABOT_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

func TestServeConfig(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string // the variable the one-line error names
	}{
		{"no token", map[string]string{}, nil, "TELEGRAM_BOT_TOKEN"},
		{"malformed token", map[string]string{"TELEGRAM_BOT_TOKEN": "not a token"}, nil, "TELEGRAM_BOT_TOKEN"},
		{"bad API URL", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "TELEGRAM_API_URL": "ftp://x"}, nil, "TELEGRAM_API_URL"},
		{"webhook not https", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "WEBHOOK_URL": "http://bot.example.org/hook", "WEBHOOK_SECRET": "s"}, nil, "WEBHOOK_URL"},
		{"webhook without secret", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "WEBHOOK_URL": "https://bot.example.org/hook"}, nil, "WEBHOOK_SECRET"},
		{"secret with spaces", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_SECRET": "a b"}, nil, "WEBHOOK_SECRET"},
		{"one-letter secret", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_SECRET": "a"}, nil, "WEBHOOK_SECRET"},
		{"15-character secret", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_SECRET": "abcdefghijklmno"}, nil, "at least 16"},
		{"bad listen address", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "WEBHOOK_URL": "https://bot.example.org/hook", "WEBHOOK_SECRET": "abcdefghijklmnop", "LISTEN_ADDR": "8080"}, nil, "LISTEN_ADDR"},
		{"bad redis URL", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "REDIS_URL": "localhost:6379"}, nil, "REDIS_URL"},
		{"bad log level", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "LOG_LEVEL": "loud"}, nil, "LOG_LEVEL"},
		{"flag overrides env", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc"}, []string{"--token", "bad"}, "TELEGRAM_BOT_TOKEN"},
		{"staff chat is a user", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_CHAT_ID": "12345"}, nil, "STAFF_CHAT_ID"},
		{"staff chat not a number", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_CHAT_ID": "@support"}, nil, "STAFF_CHAT_ID"},
		{"bad staff user", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_CHAT_ID": "-100123", "STAFF_USER_IDS": "12,ana"}, nil, "STAFF_USER_IDS"},
		{"staff users without a group", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_USER_IDS": "12"}, nil, "STAFF_CHAT_ID"},
		{"bad case TTL", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "CASE_TTL": "forever"}, nil, "CASE_TTL"},
		{"session TTL too short", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "SESSION_TTL": "1h"}, nil, "SESSION_TTL"},
		{"bad reminder delay", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "REMINDER_AFTER": "-5m"}, nil, "REMINDER_AFTER"},
		{"bad staff language", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_CHAT_ID": "-100123", "STAFF_LANG": "de"}, nil, "STAFF_LANG"},
		{"bad office hours", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_CHAT_ID": "-100123", "OFFICE_HOURS": "weekdays 9-5"}, nil, "OFFICE_HOURS"},
		{"bad first-response target", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_CHAT_ID": "-100123", "FIRST_RESPONSE_TARGET": "soon"}, nil, "FIRST_RESPONSE_TARGET"},
		{"bad next-response target", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_CHAT_ID": "-100123", "NEXT_RESPONSE_TARGET": "10s"}, nil, "NEXT_RESPONSE_TARGET"},
		{"bad auto-close", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc", "STAFF_CHAT_ID": "-100123", "CASE_AUTO_CLOSE": "5m"}, nil, "CASE_AUTO_CLOSE"},
		// The load test's flag lifts the send limits only against a Bot API on loopback.
		{"unlimited against api.telegram.org", map[string]string{"TELEGRAM_BOT_TOKEN": "1:abc"}, []string{"--unlimited"}, "loopback"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errOut, code := aimabot(t, tt.env, "", append([]string{"serve"}, tt.args...)...)
			if code != 2 || !strings.Contains(errOut, tt.want) || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
				t.Errorf("serve with %v = exit %d, %q; want exit 2 with one line naming %s", tt.env, code, errOut, tt.want)
			}
			if tok := tt.env["TELEGRAM_BOT_TOKEN"]; len(tok) > 3 && strings.Contains(errOut, tok) {
				t.Errorf("the error shows the token: %q", errOut)
			}
		})
	}
}

// child is `aimabot serve` running as a separate process.
type child struct {
	cmd    *exec.Cmd
	stderr *syncBuf // read while the child writes it
}

// startChild starts `aimabot serve` with env, listening on a port of its
// own unless env says otherwise: never :8080, which anything else on the
// machine may hold.
func startChild(t *testing.T, env []string, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve"}, args...)...)
	cmd.Env = append(append(os.Environ(), "LISTEN_ADDR=127.0.0.1:0"), append(env, "AIMABOT_TEST_MAIN=1")...)
	var stderr syncBuf
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, stderr: &stderr}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return c
}

// syncBuf is a buffer a child writes while the test reads it.
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

func jpegBytes(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 32, 24)), nil); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// step is one thing the scripted applicant does, and a text the reply it
// waits for contains.
type step struct {
	do   func(srv *fakeapi.Server, chat int64) error
	want string
}

func text(s string) func(*fakeapi.Server, int64) error {
	return func(srv *fakeapi.Server, chat int64) error { srv.UserText(chat, s); return nil }
}

func press(label string) func(*fakeapi.Server, int64) error {
	return func(srv *fakeapi.Server, chat int64) error { _, err := srv.UserPressLabel(chat, label); return err }
}

func lostCardScript(photo []byte) []step {
	ph := func(srv *fakeapi.Server, chat int64) error { srv.UserPhoto(chat, photo, ""); return nil }
	return []step{
		{text("/start"), "Which language"},
		{press("English"), "What happened?"},
		{press("My card was lost, stolen or damaged"), "What happened to your card?"},
		{press("I lost it"), "AIMA's emails"},
		{text("26/07/2030"), "your last day to submit"},
		{press("Continue"), "Document 1 of 3"},
		{ph, "Document 2 of 3"},
		{press("Skip (I don't have it)"), "Document 3 of 3"},
		{ph, "Please check everything"},
		{press("Everything is correct"), "contactenos.aima.gov.pt"},
	}
}

// converse runs a script in one chat, each step after the reply to the one
// before, as a person would. A step whose reply does not come in time is
// done again only if its update was never confirmed (it was then lost).
func converse(ctx context.Context, srv *fakeapi.Server, chat int64, script []step) error {
	for i, s := range script {
		seen := len(srv.Messages(chat))
		if err := s.do(srv, chat); err != nil {
			return fmt.Errorf("chat %d step %d: %w", chat, i, err)
		}
		err := srv.WaitFor(ctx, func() bool {
			msgs := srv.Messages(chat)
			for _, m := range msgs[min(seen, len(msgs)):] {
				if strings.Contains(m.Text, s.want) {
					return true
				}
			}
			return false
		})
		if err != nil {
			return fmt.Errorf("chat %d step %d: no reply containing %q", chat, i, s.want)
		}
	}
	return nil
}

func texts(srv *fakeapi.Server, chat int64) []string {
	var out []string
	for _, m := range srv.Messages(chat) {
		out = append(out, m.Text)
	}
	return out
}

// The process is killed with SIGKILL at random moments while many
// applicants talk to it, and started again each time, on Redis and on the
// embedded store. Afterwards every conversation has exactly the messages
// of a run without crashes.
func TestCrashRecovery(t *testing.T) {
	for _, tt := range []struct {
		name  string
		store func(t *testing.T) []string // the store's environment
	}{
		{"redis", func(t *testing.T) []string {
			url := storetest.StartRedis(t)
			return []string{"REDIS_URL=" + url, "REDIS_PREFIX=" + storetest.RedisPrefix(t, url)}
		}},
		{"bolt", func(t *testing.T) []string { return []string{"REDIS_URL=", "AIMABOT_DATA=" + t.TempDir()} }},
	} {
		t.Run(tt.name, func(t *testing.T) { crashRecovery(t, tt.store(t)) })
	}
}

func crashRecovery(t *testing.T, storeEnv []string) {
	srv := fakeapi.New(fakeapi.Options{})
	t.Cleanup(srv.Close)
	env := append([]string{"TELEGRAM_BOT_TOKEN=" + srv.Token(), "TELEGRAM_API_URL=" + srv.URL(),
		"REPLICA_ID=replica-a", "LOG_LEVEL=warn", "LISTEN_ADDR=127.0.0.1:0"}, storeEnv...)
	script := lostCardScript(jpegBytes(t))

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	// The reference: one conversation with no crash.
	c := startChild(t, env, "--unlimited")
	if err := converse(ctx, srv, 1, script); err != nil {
		t.Fatalf("reference run: %v\n%s", err, c.stderr)
	}
	want := texts(srv, 1)

	// Waves of concurrent applicants keep the process busy while it is
	// killed again and again: 48 conversations at once.
	const waves, perWave = 4, 48
	const chats = waves * perWave
	errs := make(chan error, chats)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for w := range int64(waves) {
			var wg sync.WaitGroup
			for i := range int64(perWave) {
				wg.Add(1)
				go func(chat int64) {
					defer wg.Done()
					if err := converse(ctx, srv, chat, script); err != nil {
						errs <- err
					}
				}(100 + w*perWave + i)
			}
			wg.Wait()
		}
	}()

	kills := 0
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	for kills < 15 {
		select {
		case <-done:
		case <-time.After(time.Duration(20+rng.IntN(200)) * time.Millisecond):
			c.cmd.Process.Signal(syscall.SIGKILL)
			c.cmd.Wait()
			kills++
			c = startChild(t, env, "--unlimited")
			continue
		}
		break
	}
	<-done
	close(errs)
	for err := range errs {
		t.Errorf("%v\nlast process's log:\n%s", err, c.stderr)
	}
	// Telegram cannot make a send idempotent, so a kill in the instant
	// between Telegram accepting a message and the outbox recording it
	// repeats that message once. Nothing else may differ: no reply lost,
	// none out of order, none applied twice.
	repeats := 0
	for chat := int64(100); chat < 100+chats; chat++ {
		got := texts(srv, chat)
		var collapsed []string
		for i, m := range got {
			// The applicant may have pressed a button on either copy; the
			// pressed one shows the choice ("✓ …") under it.
			if i > 0 && unpressed(m) == unpressed(got[i-1]) {
				repeats++
				if strings.Contains(m, "\n\n✓ ") {
					collapsed[len(collapsed)-1] = m
				}
				continue
			}
			collapsed = append(collapsed, m)
		}
		if strings.Join(collapsed, "\n=====\n") != strings.Join(want, "\n=====\n") {
			t.Errorf("chat %d after crashes:\n%s\nwant (as without a crash):\n%s", chat, strings.Join(got, "\n=====\n"), strings.Join(want, "\n=====\n"))
		}
	}
	t.Logf("%d kills during %d conversations (%d updates): %d messages repeated by a kill in their send window", kills, chats, chats*len(script), repeats)
	if repeats > kills*perWave {
		t.Errorf("%d repeated messages for %d kills; at most one per chat in flight at each kill (%d) is possible", repeats, kills, kills*perWave)
	}

	// SIGTERM: a graceful stop, exit 0, in bounded time.
	start := time.Now()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v; want exit 0\n%s", err, c.stderr)
	}
	if d := time.Since(start); d > 12*time.Second {
		t.Errorf("SIGTERM took %v; want under 12 s", d)
	}
	if strings.Contains(c.stderr.String(), srv.Token()) {
		t.Errorf("the log contains the token")
	}
}

// serveFor runs `aimabot serve` in this process until it exits or d passes.
func serveFor(t *testing.T, d time.Duration, env map[string]string) (stderr string, code int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var out, errw bytes.Buffer
	err := run(ctx, []string{"serve"}, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errw)
	code = exitCode(err, &errw)
	return errw.String(), code
}

// A token Telegram refuses, or a webhook left set while polling, ends
// `serve` at once with exit 1 and one line saying what to do; with
// DELETE_WEBHOOK=1 the webhook is removed and polling starts.
func TestServeStartupFailures(t *testing.T) {
	srv := fakeapi.New(fakeapi.Options{})
	t.Cleanup(srv.Close)
	env := func(token string, more ...string) map[string]string {
		e := map[string]string{"TELEGRAM_BOT_TOKEN": token, "TELEGRAM_API_URL": srv.URL(), "AIMABOT_DATA": t.TempDir(),
			"LISTEN_ADDR": "127.0.0.1:0"}
		for i := 0; i+1 < len(more); i += 2 {
			e[more[i]] = more[i+1]
		}
		return e
	}
	resp, err := http.Post(srv.URL()+"/bot"+srv.Token()+"/setWebhook", "application/json",
		strings.NewReader(`{"url":"http://127.0.0.1:1/hook"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, tt := range []struct {
		name  string
		env   map[string]string
		wants []string
	}{
		{"revoked token", env("1:revoked"), []string{"TELEGRAM_BOT_TOKEN", "401"}},
		{"revoked token, webhook mode", env("1:revoked", "WEBHOOK_URL", "http://127.0.0.1:1/hook", "WEBHOOK_SECRET", "0123456789abcdef"),
			[]string{"TELEGRAM_BOT_TOKEN", "401"}},
		{"webhook set while polling", env(srv.Token()), []string{"webhook is set", "409", "--delete-webhook", "DELETE_WEBHOOK=1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			stderr, code := serveFor(t, 20*time.Second, tt.env)
			one := strings.TrimSpace(stderr)
			t.Log(one)
			if code != 1 || strings.Contains(one, "\n") {
				t.Errorf("serve = exit %d, %q; want exit 1 with one line", code, stderr)
			}
			for _, w := range tt.wants {
				if !strings.Contains(one, w) {
					t.Errorf("serve said %q; want it to say %q", one, w)
				}
			}
		})
	}
	if n := len(srv.Calls("getUpdates")); n != 1 {
		t.Errorf("getUpdates calls with a webhook set = %d; want 1, then the exit", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		var out, errw bytes.Buffer
		e := env(srv.Token(), "DELETE_WEBHOOK", "1")
		done <- exitCode(run(ctx, []string{"serve"}, func(k string) string { return e[k] }, strings.NewReader(""), &out, &errw), &errw)
	}()
	srv.UserText(42, "/start")
	if _, err := srv.WaitMessages(ctx, 42, 1); err != nil {
		t.Errorf("with DELETE_WEBHOOK=1, /start got no answer: %v", err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("serve with DELETE_WEBHOOK=1 = exit %d after a stop; want 0", code)
	}
}

// unpressed is a message's text without the choice shown under it.
func unpressed(text string) string {
	if i := strings.LastIndex(text, "\n\n✓ "); i >= 0 {
		return text[:i]
	}
	return text
}
