package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// openRedis opens a store on url with a key prefix of t's own, keeping an
// erased chat's update ids for ttl too.
func openRedis(t *testing.T, url string, ttl time.Duration) (*store.Redis, string) {
	t.Helper()
	prefix := storetest.RedisPrefix(t, url)
	r, err := store.OpenRedis(testLogger(t), url, store.RedisOptions{Prefix: prefix, TTL: ttl, ForgottenTTL: ttl})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() {
		if err := r.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return r, prefix
}

// rawClient is a plain client for looking at what the store wrote.
func rawClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatalf("ParseURL(%q): %v", url, err)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestRedisConformance(t *testing.T) {
	url := storetest.StartRedis(t)
	storetest.Run(t, func(t *testing.T, ttl time.Duration) store.Store {
		r, _ := openRedis(t, url, ttl)
		return r
	})
}

func TestRedisKeyLayout(t *testing.T) {
	url := storetest.StartRedis(t)
	const ttl = 10 * time.Minute
	r, prefix := openRedis(t, url, ttl)
	ctx := t.Context()
	if err := r.Update(ctx, 42, func([]byte) ([]byte, error) { return []byte(`{"v":1}`), nil }); err != nil {
		t.Fatalf("Update(42): %v", err)
	}
	raw := rawClient(t, url)
	key := prefix + "{chat:42}:session"
	if n, err := raw.Exists(ctx, key).Result(); err != nil || n != 1 {
		t.Fatalf("EXISTS %s = %d, %v; want 1", key, n, err)
	}
	if data, err := raw.HGet(ctx, key, "data").Result(); err != nil || data != `{"v":1}` {
		t.Errorf("HGET %s data = %q, %v; want %q", key, data, err, `{"v":1}`)
	}
	pttl, err := raw.PTTL(ctx, key).Result()
	if err != nil {
		t.Fatalf("PTTL %s: %v", key, err)
	}
	if pttl <= 0 || pttl > ttl {
		t.Errorf("PTTL %s = %v; want in (0, %v]", key, pttl, ttl)
	}
	// Negative ids keep the sign inside the hash tag.
	if err := r.Update(ctx, -100, func([]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatalf("Update(-100): %v", err)
	}
	if n, err := raw.Exists(ctx, prefix+"{chat:-100}:session").Result(); err != nil || n != 1 {
		t.Errorf("EXISTS %s{chat:-100}:session = %d, %v; want 1", prefix, n, err)
	}
	// A nil from fn removes the key itself, not just its data.
	if err := r.Update(ctx, 42, func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatalf("Update(42) to nil: %v", err)
	}
	if n, err := raw.Exists(ctx, key).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS %s after deleting = %d, %v; want 0", key, n, err)
	}
}

func TestRedisDefaultPrefix(t *testing.T) {
	url := storetest.StartRedis(t)
	// The default prefix is shared: use a chat id no other test uses, and
	// clean up.
	r, err := store.OpenRedis(testLogger(t), url, store.RedisOptions{})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	defer r.Close()
	const chat = -987654321012345
	ctx := t.Context()
	defer r.Delete(context.Background(), chat)
	if err := r.Update(ctx, chat, func([]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	raw := rawClient(t, url)
	key := fmt.Sprintf("aimabot:{chat:%d}:session", chat)
	pttl, err := raw.PTTL(ctx, key).Result()
	if err != nil || pttl <= store.DefaultTTL-time.Minute || pttl > store.DefaultTTL {
		t.Errorf("PTTL %s = %v, %v; want about %v", key, pttl, err, store.DefaultTTL)
	}
}

func TestRedisScriptFlushed(t *testing.T) {
	url := storetest.StartRedis(t)
	r, _ := openRedis(t, url, time.Hour)
	ctx := t.Context()
	if err := r.Update(ctx, 1, func([]byte) ([]byte, error) { return []byte("a"), nil }); err != nil {
		t.Fatalf("Update: %v", err)
	}
	// Someone flushes the script cache (or Redis restarted): EVALSHA fails
	// with NOSCRIPT and Update must fall back to EVAL.
	if err := rawClient(t, url).ScriptFlush(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT FLUSH: %v", err)
	}
	if err := r.Update(ctx, 1, func(cur []byte) ([]byte, error) { return append(cur, 'b'), nil }); err != nil {
		t.Fatalf("Update after SCRIPT FLUSH: %v", err)
	}
	if got, ok, err := r.Get(ctx, 1); err != nil || !ok || string(got) != "ab" {
		t.Errorf("Get(1) = %q, %v, %v; want %q, true, nil", got, ok, err, "ab")
	}
}

func TestRedisContention(t *testing.T) {
	url := storetest.StartRedis(t)
	r, prefix := openRedis(t, url, time.Hour)
	raw := rawClient(t, url)
	key := prefix + "{chat:5}:session"
	// A writer that always gets in between the read and the write.
	calls := 0
	err := r.Update(t.Context(), 5, func(cur []byte) ([]byte, error) {
		calls++
		if err := raw.HSet(context.Background(), key, "rev", rand.Text(), "data", "other").Err(); err != nil {
			return nil, err
		}
		return []byte("mine"), nil
	})
	if !errors.Is(err, store.ErrContention) {
		t.Fatalf("Update against a writer that always wins = %v; want ErrContention", err)
	}
	if calls < 2 || calls > 1000 {
		t.Errorf("fn called %d times; want a bounded number of retries", calls)
	}
	// A context ending stops the retries early.
	ctx, cancel := context.WithCancel(t.Context())
	calls = 0
	err = r.Update(ctx, 5, func(cur []byte) ([]byte, error) {
		calls++
		if calls == 3 {
			cancel()
		}
		if err := raw.HSet(context.Background(), key, "rev", rand.Text()).Err(); err != nil {
			return nil, err
		}
		return []byte("mine"), nil
	})
	if !errors.Is(err, context.Canceled) || calls != 3 {
		t.Errorf("Update cancelled during retries = %v after %d calls; want context.Canceled after 3", err, calls)
	}
}

func TestRedisBadURL(t *testing.T) {
	for _, url := range []string{
		"",
		"http://127.0.0.1:6379",
		"redis://127.0.0.1:6379/notanumber",
		"redis://127.0.0.1:6379/0/1",
		"redis://127.0.0.1:6379/0?no_such_option=1",
		"redis://user:s3cr3t-pw@127.0.0.1:notaport/0",
		"redis://user:s3cr3t-pw@127.0.0.1:6379/0?dial_timeout=soon",
		"redis://user:s3cr3t-pw@[::1/0",
		"::not a url",
	} {
		r, err := store.OpenRedis(testLogger(t), url, store.RedisOptions{})
		if err == nil {
			r.Close()
			t.Errorf("OpenRedis(%q) = nil error; want an error", url)
			continue
		}
		if strings.Contains(err.Error(), "s3cr3t-pw") {
			t.Errorf("OpenRedis(%q) = %v: the error shows the password", url, err)
		}
		t.Logf("OpenRedis(%q): %v", url, err)
		if !strings.HasPrefix(err.Error(), "store: ") {
			t.Errorf("OpenRedis(%q) = %v; want an error starting with \"store: \"", url, err)
		}
	}
	for _, opts := range []store.RedisOptions{
		{Prefix: "app{x}:"},
		{TTL: -time.Second},
		{TTL: time.Microsecond},
	} {
		if r, err := store.OpenRedis(testLogger(t), "redis://127.0.0.1:1/0", opts); err == nil {
			r.Close()
			t.Errorf("OpenRedis with %+v = nil error; want an error", opts)
		}
	}
}

func TestRedisUnreachable(t *testing.T) {
	// A port nobody listens on.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	url := "redis://aimabot:s3cr3t-pw@" + addr + "/0"
	start := time.Now()
	r, err := store.OpenRedis(testLogger(t), url, store.RedisOptions{})
	elapsed := time.Since(start)
	if err == nil {
		r.Close()
		t.Fatalf("OpenRedis(%s) with nothing listening = nil error; want an error", addr)
	}
	t.Logf("error after %v: %v", elapsed.Round(time.Millisecond), err)
	if elapsed > 8*time.Second {
		t.Errorf("OpenRedis took %v to fail; want a few seconds at most", elapsed)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("OpenRedis error %q does not name %s", err, addr)
	}
	if strings.Contains(err.Error(), "s3cr3t-pw") {
		t.Errorf("OpenRedis error %q shows the password", err)
	}
}

func TestRedisACL(t *testing.T) {
	url := storetest.StartRedis(t)
	raw := rawClient(t, url)
	ctx := t.Context()
	prefix := storetest.RedisPrefix(t, url)
	user := "aimabot-test-" + strings.ToLower(rand.Text()[:8])
	const password = "pa55-w0rd-for-test"
	// Only the keys under our prefix, nothing else.
	if err := raw.Do(ctx, "ACL", "SETUSER", user, "reset", "on", ">"+password, "~"+prefix+"*", "+@all").Err(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	t.Cleanup(func() { _ = raw.Do(context.Background(), "ACL", "DELUSER", user).Err() })

	opt, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	aclURL := fmt.Sprintf("redis://%s:%s@%s/0", user, password, opt.Addr)
	r, err := store.OpenRedis(testLogger(t), aclURL, store.RedisOptions{Prefix: prefix})
	if err != nil {
		t.Fatalf("OpenRedis as ACL user: %v", err)
	}
	defer r.Close()
	if err := r.Update(ctx, 77, func([]byte) ([]byte, error) { return []byte("acl"), nil }); err != nil {
		t.Fatalf("Update as ACL user: %v", err)
	}
	if got, ok, err := r.Get(ctx, 77); err != nil || !ok || string(got) != "acl" {
		t.Errorf("Get(77) as ACL user = %q, %v, %v; want %q, true, nil", got, ok, err, "acl")
	}
	if err := r.Delete(ctx, 77); err != nil {
		t.Errorf("Delete(77) as ACL user: %v", err)
	}

	// A wrong password fails at open, without showing either password.
	badURL := fmt.Sprintf("redis://%s:wrong-s3cr3t@%s/0", user, opt.Addr)
	if r, err := store.OpenRedis(testLogger(t), badURL, store.RedisOptions{Prefix: prefix}); err == nil {
		r.Close()
		t.Errorf("OpenRedis with a wrong password = nil error; want an error")
	} else if strings.Contains(err.Error(), "wrong-s3cr3t") || strings.Contains(err.Error(), password) {
		t.Errorf("OpenRedis error %q shows a password", err)
	} else {
		t.Logf("wrong password: %v", err)
	}
}

// An erasure leaves one key, named by the chat's keyed hash under the
// store's secret, holding the applied ids, for ForgottenTTL by default.
func TestRedisForgottenKey(t *testing.T) {
	url := storetest.StartRedis(t)
	prefix := storetest.RedisPrefix(t, url)
	r, err := store.OpenRedis(testLogger(t), url, store.RedisOptions{Prefix: prefix, HashSecret: "s3cret"})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	ctx := t.Context()
	const chat = 7104285931
	for i, c := range []store.Change{{Session: []byte("s")}, {Forget: true}} {
		if _, err := r.Apply(ctx, chat, int64(5+i), "a", time.Minute, func([]byte) (store.Change, error) { return c, nil }); err != nil {
			t.Fatalf("Apply(%d): %v", 5+i, err)
		}
	}
	raw := rawClient(t, url)
	all, err := raw.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatalf("KEYS: %v", err)
	}
	name := store.NewChatHash("s3cret").Name(chat)
	if len(all) != 1 || !strings.HasSuffix(all[0], ":forgotten:"+name) || strings.Contains(all[0], "7104285931") {
		t.Fatalf("keys after an erasure = %q; want one, ending in :forgotten:%s", all, name)
	}
	if ids, err := raw.ZRange(ctx, all[0], 0, -1).Result(); err != nil || !slices.Equal(ids, []string{"5", "6"}) {
		t.Errorf("ZRANGE %s = %q, %v; want [5 6]", all[0], ids, err)
	}
	pttl, err := raw.PTTL(ctx, all[0]).Result()
	if err != nil || pttl > store.ForgottenTTL || pttl < store.ForgottenTTL-time.Minute {
		t.Errorf("PTTL %s = %v, %v; want about %v", all[0], pttl, err, store.ForgottenTTL)
	}
	if ks, err := r.Keys(ctx, chat); err != nil || !slices.Equal(ks, all) {
		t.Errorf("Keys(%d) = %q, %v; want %q", chat, ks, err, all)
	}
}
