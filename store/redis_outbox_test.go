package store_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// oneMessage is an Apply fn storing session "s" and one message.
func oneMessage(msg string) func([]byte) (store.Change, error) {
	return func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("s"), Outbox: [][]byte{[]byte(msg)}}, nil
	}
}

func TestRedisRoundTrips(t *testing.T) {
	url := storetest.StartRedis(t)
	r, _ := openRedis(t, url, time.Hour)
	ctx := t.Context()
	const chat = 42
	if err := r.Ping(ctx); err != nil { // a connection in the pool
		t.Fatal(err)
	}
	cost := func(what string, max uint64, op func() error) {
		t.Helper()
		before := r.RoundTrips()
		if err := op(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		if n := r.RoundTrips() - before; n > max {
			t.Errorf("%s took %d round trips; want at most %d", what, n, max)
		} else {
			t.Logf("%s: %d round trips", what, n)
		}
	}

	// The transport's path for one update with one reply: read and apply,
	// send, ack.
	var a store.Applied
	before := r.RoundTrips()
	cost("Apply", 2, func() (err error) {
		a, err = r.Apply(ctx, chat, 1, "a", time.Minute, oneMessage("hi"))
		return err
	})
	if a.Duplicate || !a.Lease || len(a.Outbox) != 1 {
		t.Fatalf("Apply = %+v; want applied with one message and the lease", a)
	}
	cost("Ack", 1, func() error { return r.Ack(ctx, chat, []string{a.Outbox[0].ID}, "a", time.Minute) })
	if n := r.RoundTrips() - before; n > 3 {
		t.Errorf("Apply and Ack took %d round trips; want at most 3", n)
	}
	cost("ReleaseSend", 1, func() error { _, err := r.ReleaseSend(ctx, chat, "a"); return err })
	cost("duplicate Apply", 1, func() error {
		a, err := r.Apply(ctx, chat, 1, "a", time.Minute, oneMessage("again"))
		if err == nil && !a.Duplicate {
			err = errors.New("not a duplicate")
		}
		return err
	})
	cost("Outbox", 1, func() error { _, err := r.Outbox(ctx, chat, 10); return err })
	cost("AcquireSend", 1, func() error { _, err := r.AcquireSend(ctx, chat, "a", time.Minute); return err })
	cost("Lease", 1, func() error { _, err := r.Lease(ctx, "poller", "a", time.Minute); return err })

	// Wake and Forget ride in Apply's write pipeline: no extra round trip.
	wakeAt := time.Now().Add(time.Hour)
	cost("Apply with Wake", 2, func() error {
		_, err := r.Apply(ctx, chat, 2, "a", time.Minute, func([]byte) (store.Change, error) {
			return store.Change{Session: []byte("s"), Outbox: [][]byte{[]byte("w")}, Wake: wakeAt}, nil
		})
		return err
	})
	cost("Apply with Forget", 2, func() error {
		_, err := r.Apply(ctx, chat, 3, "a", time.Minute, func([]byte) (store.Change, error) {
			return store.Change{Forget: true, Outbox: [][]byte{[]byte("bye")}}, nil
		})
		return err
	})
	cost("Apply with Forget and Wake", 2, func() error {
		_, err := r.Apply(ctx, chat, 4, "a", time.Minute, func([]byte) (store.Change, error) {
			return store.Change{Forget: true, Wake: wakeAt}, nil
		})
		return err
	})
	now := time.Now()
	cost("SetWake", 1, func() error { return r.SetWake(ctx, chat, now) })
	cost("Due", 1, func() error {
		got, err := r.Due(ctx, now, 10, time.Minute)
		if err == nil && len(got) != 1 {
			err = fmt.Errorf("Due = %v; want [%d]", got, chat)
		}
		return err
	})
	cost("SetWake zero", 1, func() error { return r.SetWake(ctx, chat, time.Time{}) })
	cost("Forget", 1, func() error { return r.Forget(ctx, chat) })
	// SCAN takes one round trip per batch of the whole keyspace, shared
	// with other tests: just log it.
	cost("PendingChats", 1<<20, func() error { return r.PendingChats(ctx, func(int64) bool { return true }) })
}

func TestRedisOutboxKeyLayout(t *testing.T) {
	url := storetest.StartRedis(t)
	const ttl = 10 * time.Minute
	r, prefix := openRedis(t, url, ttl)
	raw := rawClient(t, url)
	ctx := t.Context()
	const chat = -42
	tag := prefix + "{chat:-42}:"

	for id := int64(1); id <= 70; id++ {
		if _, err := r.Apply(ctx, chat, id, "owner-a", time.Minute, oneMessage("m"+strconv.FormatInt(id, 10))); err != nil {
			t.Fatalf("Apply(%d): %v", id, err)
		}
	}
	for key, typ := range map[string]string{"session": "hash", "applied": "zset", "outbox": "stream", "sender": "string"} {
		got, err := raw.Type(ctx, tag+key).Result()
		if err != nil || got != typ {
			t.Errorf("TYPE %s = %q, %v; want %q", tag+key, got, err, typ)
		}
		pttl, err := raw.PTTL(ctx, tag+key).Result()
		want := ttl
		if key == "sender" {
			want = time.Minute
		}
		if err != nil || pttl <= 0 || pttl > want {
			t.Errorf("PTTL %s = %v, %v; want in (0, %v]", tag+key, pttl, err, want)
		}
	}
	if n, err := raw.ZCard(ctx, tag+"applied").Result(); err != nil || n != store.AppliedWindow {
		t.Errorf("ZCARD %s = %d, %v; want %d", tag+"applied", n, err, store.AppliedWindow)
	}
	if low, err := raw.ZRange(ctx, tag+"applied", 0, 0).Result(); err != nil || len(low) != 1 || low[0] != "7" {
		t.Errorf("lowest remembered id = %q, %v; want 7", low, err)
	}
	if n, err := raw.XLen(ctx, tag+"outbox").Result(); err != nil || n != 70 {
		t.Errorf("XLEN %s = %d, %v; want 70", tag+"outbox", n, err)
	}
	if owner, err := raw.Get(ctx, tag+"sender").Result(); err != nil || owner != "owner-a" {
		t.Errorf("GET %s = %q, %v; want owner-a", tag+"sender", owner, err)
	}

	if err := r.Ack(ctx, chat, []string{"not-an-id"}, "owner-a", time.Minute); err == nil {
		t.Errorf("Ack of a malformed id = nil error")
	}

	// The emptied outbox stream stays (so ids never repeat); releasing
	// deletes the lease.
	msgs, err := r.Outbox(ctx, chat, 100)
	if err != nil || len(msgs) != 70 {
		t.Fatalf("Outbox = %d messages, %v; want 70", len(msgs), err)
	}
	for _, m := range msgs {
		if err := r.Ack(ctx, chat, []string{m.ID}, "owner-a", time.Minute); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
	if more, err := r.ReleaseSend(ctx, chat, "owner-a"); err != nil || more {
		t.Fatalf("ReleaseSend = %v, %v; want false, nil", more, err)
	}
	if n, err := raw.Exists(ctx, tag+"sender").Result(); err != nil || n != 0 {
		t.Errorf("EXISTS %s after releasing = %d, %v; want 0", tag+"sender", n, err)
	}
	if n, err := raw.XLen(ctx, tag+"outbox").Result(); err != nil || n != 0 {
		t.Errorf("XLEN %s after sending everything = %d, %v; want 0", tag+"outbox", n, err)
	}
	// A message appended now gets an id above every acknowledged one, even
	// within the same millisecond.
	a, err := r.Apply(ctx, chat, 71, "owner-a", time.Minute, oneMessage("m71"))
	if err != nil || len(a.Outbox) != 1 {
		t.Fatalf("Apply(71) = %+v, %v", a, err)
	}
	for _, m := range msgs {
		if m.ID == a.Outbox[0].ID {
			t.Errorf("Apply(71) reused the acknowledged id %s", m.ID)
		}
	}
	if err := r.Ack(ctx, chat, []string{msgs[69].ID}, "owner-a", time.Minute); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	if got, err := r.Outbox(ctx, chat, 10); err != nil || len(got) != 1 {
		t.Errorf("Outbox after acknowledging an old id again = %+v, %v; want m71 still there", got, err)
	}

	// A global lease is a key of its own.
	if ok, err := r.Lease(ctx, "poller", "owner-b", time.Minute); err != nil || !ok {
		t.Fatalf("Lease = %v, %v", ok, err)
	}
	if owner, err := raw.Get(ctx, prefix+"lease:poller").Result(); err != nil || owner != "owner-b" {
		t.Errorf("GET %slease:poller = %q, %v; want owner-b", prefix, owner, err)
	}
}

func TestRedisApplyRace(t *testing.T) {
	url := storetest.StartRedis(t)
	r, prefix := openRedis(t, url, time.Hour)
	raw := rawClient(t, url)
	ctx := t.Context()
	session := prefix + "{chat:5}:session"
	applied := prefix + "{chat:5}:applied"

	// Another writer gets in between the read and the write once: fn runs
	// again on what it wrote.
	var seen []string
	a, err := r.Apply(ctx, 5, 1, "a", time.Minute, func(cur []byte) (store.Change, error) {
		seen = append(seen, string(cur))
		if len(seen) == 1 {
			if err := raw.HSet(context.Background(), session, "rev", rand.Text(), "data", "other").Err(); err != nil {
				return store.Change{}, err
			}
		}
		return store.Change{Session: append(cur, '+'), Outbox: [][]byte{[]byte("m")}}, nil
	})
	if err != nil || a.Duplicate || len(a.Outbox) != 1 {
		t.Fatalf("Apply racing a writer once = %+v, %v; want applied", a, err)
	}
	if len(seen) != 2 || seen[1] != "other" {
		t.Errorf("fn saw %q; want [\"\" other]", seen)
	}
	if got, _, _ := r.Get(ctx, 5); string(got) != "other+" {
		t.Errorf("Get(5) = %q; want other+", got)
	}

	// Another replica applies the same update in between: a duplicate,
	// nothing of fn's stored.
	a, err = r.Apply(ctx, 5, 2, "a", time.Minute, func(cur []byte) (store.Change, error) {
		if err := raw.ZAdd(context.Background(), applied, redis.Z{Score: 2, Member: "2"}).Err(); err != nil {
			return store.Change{}, err
		}
		return store.Change{Session: []byte("lost"), Outbox: [][]byte{[]byte("lost")}}, nil
	})
	if err != nil || !a.Duplicate || len(a.Outbox) != 0 {
		t.Errorf("Apply racing another replica's apply of the same update = %+v, %v; want a duplicate", a, err)
	}
	if got, _, _ := r.Get(ctx, 5); string(got) != "other+" {
		t.Errorf("Get(5) = %q; want other+", got)
	}

	// A writer that always wins: ErrContention, nothing stored.
	calls := 0
	_, err = r.Apply(ctx, 5, 3, "a", time.Minute, func(cur []byte) (store.Change, error) {
		calls++
		if err := raw.HSet(context.Background(), session, "rev", rand.Text()).Err(); err != nil {
			return store.Change{}, err
		}
		return store.Change{Session: []byte("mine"), Outbox: [][]byte{[]byte("mine")}}, nil
	})
	if !errors.Is(err, store.ErrContention) {
		t.Fatalf("Apply against a writer that always wins = %v; want ErrContention", err)
	}
	if calls < 2 {
		t.Errorf("fn called %d times; want retries", calls)
	}
	msgs, err := r.Outbox(ctx, 5, 10)
	if err != nil || len(msgs) != 1 || string(msgs[0].Data) != "m" {
		t.Errorf("Outbox(5) = %+v, %v; want the first update's message only", msgs, err)
	}
	if a, err := r.Apply(ctx, 5, 3, "a", time.Minute, oneMessage("x")); err != nil || a.Duplicate {
		t.Errorf("Apply of update 3 after giving up = %+v, %v; want applied", a, err)
	}
}

func TestRedisApplyScriptFlushed(t *testing.T) {
	url := storetest.StartRedis(t)
	r, _ := openRedis(t, url, time.Hour)
	ctx := t.Context()
	if err := rawClient(t, url).ScriptFlush(ctx).Err(); err != nil {
		t.Fatalf("SCRIPT FLUSH: %v", err)
	}
	a, err := r.Apply(ctx, 1, 1, "a", time.Minute, oneMessage("m"))
	if err != nil || len(a.Outbox) != 1 || !a.Lease {
		t.Fatalf("Apply after SCRIPT FLUSH = %+v, %v", a, err)
	}
	if err := r.Ack(ctx, 1, []string{a.Outbox[0].ID}, "a", time.Minute); err != nil {
		t.Fatalf("Ack after SCRIPT FLUSH: %v", err)
	}
	if more, err := r.ReleaseSend(ctx, 1, "a"); err != nil || more {
		t.Fatalf("ReleaseSend after SCRIPT FLUSH = %v, %v", more, err)
	}
	if ok, err := r.AcquireSend(ctx, 1, "b", time.Minute); err != nil || !ok {
		t.Fatalf("AcquireSend after SCRIPT FLUSH = %v, %v", ok, err)
	}
}

func TestRedisPendingChatsPrefixes(t *testing.T) {
	url := storetest.StartRedis(t)
	base := storetest.RedisPrefix(t, url)
	open := func(prefix string) *store.Redis {
		r, err := store.OpenRedis(testLogger(t), url, store.RedisOptions{Prefix: prefix})
		if err != nil {
			t.Fatalf("OpenRedis: %v", err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	// Glob characters in a prefix match only themselves.
	glob := open(base + "a*[b]?\\:")
	other := open(base + "ax[b]y\\:")
	ctx := t.Context()
	if _, err := glob.Apply(ctx, 1, 1, "o", time.Minute, oneMessage("m")); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Apply(ctx, 2, 1, "o", time.Minute, oneMessage("m")); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r    *store.Redis
		want int64
	}{{glob, 1}, {other, 2}} {
		var got []int64
		if err := c.r.PendingChats(ctx, func(chat int64) bool { got = append(got, chat); return true }); err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0] != c.want {
			t.Errorf("PendingChats = %v; want [%d]", got, c.want)
		}
	}
}
