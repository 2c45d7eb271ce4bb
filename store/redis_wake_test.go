package store_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

var wakeT = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

// wakeScore returns chat's score in the wake index, ok false when absent.
func wakeScore(t *testing.T, raw *redis.Client, prefix string, chat string) (ms int64, ok bool) {
	t.Helper()
	score, err := raw.ZScore(t.Context(), prefix+"wake", chat).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false
	}
	if err != nil {
		t.Fatalf("ZSCORE %swake %s: %v", prefix, chat, err)
	}
	return int64(score), true
}

// streamIDLess tells whether stream id a comes before b.
func streamIDLess(t *testing.T, a, b string) bool {
	t.Helper()
	parse := func(id string) [2]uint64 {
		ms, seq, ok := strings.Cut(id, "-")
		m, err1 := strconv.ParseUint(ms, 10, 64)
		n, err2 := strconv.ParseUint(seq, 10, 64)
		if !ok || err1 != nil || err2 != nil {
			t.Fatalf("malformed stream id %q", id)
		}
		return [2]uint64{m, n}
	}
	x, y := parse(a), parse(b)
	return cmp.Or(cmp.Compare(x[0], y[0]), cmp.Compare(x[1], y[1])) < 0
}

func wantScore(t *testing.T, raw *redis.Client, prefix, chat string, want time.Time) {
	t.Helper()
	if ms, ok := wakeScore(t, raw, prefix, chat); !ok || ms != want.UnixMilli() {
		t.Fatalf("wake score of chat %s = %d, %v; want %d (%v)", chat, ms, ok, want.UnixMilli(), want)
	}
}

func TestRedisWakeLayout(t *testing.T) {
	url := storetest.StartRedis(t)
	r, prefix := openRedis(t, url, time.Hour)
	raw := rawClient(t, url)
	ctx := t.Context()
	tag := prefix + "{chat:42}:"

	a, err := r.Apply(ctx, 42, 1, "a", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("s"), Outbox: [][]byte{[]byte("m")}, Wake: wakeT.Add(300 * time.Microsecond)}, nil
	})
	if err != nil || len(a.Outbox) != 1 {
		t.Fatalf("Apply = %+v, %v", a, err)
	}
	// One sorted set for the store, score in milliseconds (truncated), no expiry.
	wantScore(t, raw, prefix, "42", wakeT)
	if typ, err := raw.Type(ctx, prefix+"wake").Result(); err != nil || typ != "zset" {
		t.Errorf("TYPE %swake = %q, %v; want zset", prefix, typ, err)
	}
	if pttl, err := raw.PTTL(ctx, prefix+"wake").Result(); err != nil || pttl != -1 {
		t.Errorf("PTTL %swake = %v, %v; want none (-1)", prefix, pttl, err)
	}
	keys, err := r.Keys(ctx, 42)
	want := []string{prefix + "wake#42", tag + "applied", tag + "outbox", tag + "sender", tag + "session"} // sorted: 'w' < '{'
	if err != nil || !slices.Equal(keys, want) {
		t.Errorf("Keys(42) = %q, %v; want %q", keys, err, want)
	}
	// Negative ids, and a chat whose id starts like another's.
	if err := r.SetWake(ctx, -4, wakeT); err != nil {
		t.Fatal(err)
	}
	if err := r.Update(ctx, 420, func([]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatal(err)
	}
	wantScore(t, raw, prefix, "-4", wakeT)
	if keys, err := r.Keys(ctx, 4); err != nil || len(keys) != 0 {
		t.Errorf("Keys(4) = %q, %v; want none", keys, err)
	}
	if keys, err := r.Keys(ctx, -4); err != nil || !slices.Equal(keys, []string{prefix + "wake#-4"}) {
		t.Errorf("Keys(-4) = %q, %v; want the wake index only", keys, err)
	}

	// Due moves the score to now+claim.
	if err := r.SetWake(ctx, 42, wakeT.Add(time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	now := wakeT.Add(time.Second + 400*time.Microsecond)
	if got, err := r.Due(ctx, now, 10, time.Minute); err != nil || !slices.Equal(got, []int64{-4, 42}) {
		t.Fatalf("Due = %v, %v; want [-4 42]", got, err)
	}
	wantScore(t, raw, prefix, "42", wakeT.Add(time.Second+time.Minute))

	// Apply's Forget with a message empties the outbox stream, so that ids
	// go on increasing, and moves the applied ids to a key named by the
	// chat's keyed hash, in the chat's slot.
	f, err := r.Apply(ctx, 42, 2, "b", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Forget: true, Outbox: [][]byte{[]byte("bye")}}, nil
	})
	if err != nil || f.Duplicate || !f.Lease || len(f.Outbox) != 1 || !streamIDLess(t, a.Outbox[0].ID, f.Outbox[0].ID) {
		t.Fatalf("Apply with Forget = %+v, %v; want applied, b holding the lease, an id after %s", f, err, a.Outbox[0].ID)
	}
	gone, err := raw.Keys(ctx, prefix+"{*}:forgotten:"+store.NewChatHash("").Name(42)).Result()
	if err != nil || len(gone) != 1 {
		t.Fatalf("keys of the erasure's record = %q, %v; want one", gone, err)
	}
	keys, err = r.Keys(ctx, 42)
	if want := []string{gone[0], tag + "outbox", tag + "sender"}; err != nil || !slices.Equal(keys, want) {
		t.Errorf("Keys(42) after Apply with Forget = %q, %v; want %q", keys, err, want)
	}
	// Once it is sent, nothing but the erasure's record is left: the
	// emptied stream of a chat without a session goes (within its
	// millisecond).
	onlyApplied := func(what string) {
		t.Helper()
		want := []string{gone[0]}
		deadline := time.Now().Add(10 * time.Second)
		for {
			keys, err := r.Keys(ctx, 42)
			if err != nil {
				t.Fatal(err)
			}
			if slices.Equal(keys, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("Keys(42) %s = %q; want %q", what, keys, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if more, err := r.AckRelease(ctx, 42, []string{f.Outbox[0].ID}, "b", time.Minute); err != nil || more {
		t.Fatalf("AckRelease = %v, %v; want false, nil", more, err)
	}
	onlyApplied("after the last message of a forgotten chat was sent")
	// A Forget with no message drops the stream at once.
	if _, err := r.Apply(ctx, 42, 3, "b", time.Minute, oneMessage("after")); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Apply(ctx, 42, 4, "b", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Forget: true}, nil
	}); err != nil {
		t.Fatal(err)
	}
	onlyApplied("after Apply with Forget and no message")

	// Store.Forget deletes the keys themselves.
	if err := r.Forget(ctx, 42); err != nil {
		t.Fatal(err)
	}
	if n, err := raw.Exists(ctx, tag+"session", tag+"applied", tag+"outbox", tag+"sender", gone[0]).Result(); err != nil || n != 0 {
		t.Errorf("EXISTS of chat 42's keys after Forget = %d, %v; want 0", n, err)
	}
	if _, ok := wakeScore(t, raw, prefix, "42"); ok {
		t.Errorf("chat 42 still in the wake index after Forget")
	}
	wantScore(t, raw, prefix, "-4", wakeT.Add(time.Second+time.Minute))
}

// A Forget whose script does not apply puts back the wake time it erased,
// so that a concurrent writer's wake is not lost.
func TestRedisApplyForgetRace(t *testing.T) {
	url := storetest.StartRedis(t)
	r, prefix := openRedis(t, url, time.Hour)
	raw := rawClient(t, url)
	ctx := t.Context()
	session := prefix + "{chat:5}:session"
	wake := func(at time.Time) {
		t.Helper()
		if err := raw.ZAddLT(context.Background(), prefix+"wake", redis.Z{Score: float64(at.UnixMilli()), Member: "5"}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.SetWake(ctx, 5, wakeT); err != nil {
		t.Fatal(err)
	}

	// Lost race: another writer changes the session and lowers the wake
	// time in between; fn, run again on what it wrote, no longer forgets.
	calls := 0
	a, err := r.Apply(ctx, 5, 1, "a", time.Minute, func(cur []byte) (store.Change, error) {
		calls++
		if calls == 1 {
			if err := raw.HSet(context.Background(), session, "rev", rand.Text(), "data", "other").Err(); err != nil {
				return store.Change{}, err
			}
			wake(wakeT.Add(-time.Hour))
			return store.Change{Forget: true}, nil
		}
		return store.Change{Session: cur}, nil
	})
	if err != nil || a.Duplicate || calls != 2 {
		t.Fatalf("Apply racing a writer = %+v, %v after %d calls; want applied after 2", a, err, calls)
	}
	wantScore(t, raw, prefix, "5", wakeT.Add(-time.Hour))
	if got, _, _ := r.Get(ctx, 5); string(got) != "other" {
		t.Errorf("Get(5) = %q; want other", got)
	}

	// Duplicate: another replica applies the same update (and sets its
	// wake) in between.
	a, err = r.Apply(ctx, 5, 2, "a", time.Minute, func([]byte) (store.Change, error) {
		if err := raw.ZAdd(context.Background(), prefix+"{chat:5}:applied", redis.Z{Score: 2, Member: "2"}).Err(); err != nil {
			return store.Change{}, err
		}
		wake(wakeT.Add(-2 * time.Hour))
		return store.Change{Forget: true}, nil
	})
	if err != nil || !a.Duplicate {
		t.Fatalf("Apply racing the same update's = %+v, %v; want a duplicate", a, err)
	}
	wantScore(t, raw, prefix, "5", wakeT.Add(-2*time.Hour))

	// The script fails: the wake time is put back too.
	_, err = r.Apply(ctx, 5, 3, "a", time.Minute, func([]byte) (store.Change, error) {
		if err := raw.Del(context.Background(), session).Err(); err != nil {
			return store.Change{}, err
		}
		if err := raw.Set(context.Background(), session, "not a hash", 0).Err(); err != nil {
			return store.Change{}, err
		}
		return store.Change{Forget: true}, nil
	})
	if err == nil {
		t.Fatalf("Apply on a session of the wrong type = nil error")
	}
	wantScore(t, raw, prefix, "5", wakeT.Add(-2*time.Hour))
}

// A Wake of an attempt that lost its race stays: the chat wakes early,
// never late (see Store.Apply).
func TestRedisApplyWakeRace(t *testing.T) {
	url := storetest.StartRedis(t)
	r, prefix := openRedis(t, url, time.Hour)
	raw := rawClient(t, url)
	ctx := t.Context()
	calls := 0
	a, err := r.Apply(ctx, 6, 1, "a", time.Minute, func(cur []byte) (store.Change, error) {
		calls++
		if calls == 1 {
			if err := raw.HSet(context.Background(), prefix+"{chat:6}:session", "rev", rand.Text()).Err(); err != nil {
				return store.Change{}, err
			}
			return store.Change{Session: []byte("first"), Wake: wakeT}, nil
		}
		return store.Change{Session: []byte("second"), Wake: wakeT.Add(time.Hour)}, nil
	})
	if err != nil || a.Duplicate || calls != 2 {
		t.Fatalf("Apply = %+v, %v after %d calls; want applied after 2", a, err, calls)
	}
	wantScore(t, raw, prefix, "6", wakeT)
}

func TestRedisWakeScriptFlushed(t *testing.T) {
	url := storetest.StartRedis(t)
	r, prefix := openRedis(t, url, time.Hour)
	raw := rawClient(t, url)
	ctx := t.Context()
	flush := func() {
		t.Helper()
		if err := raw.ScriptFlush(ctx).Err(); err != nil {
			t.Fatalf("SCRIPT FLUSH: %v", err)
		}
	}
	if _, err := r.Apply(ctx, 1, 1, "a", time.Minute, oneMessage("m")); err != nil {
		t.Fatal(err)
	}
	if err := r.SetWake(ctx, 1, wakeT); err != nil {
		t.Fatal(err)
	}
	flush()
	a, err := r.Apply(ctx, 1, 2, "a", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Forget: true, Outbox: [][]byte{[]byte("bye")}, Wake: wakeT.Add(time.Hour)}, nil
	})
	if err != nil || a.Duplicate || len(a.Outbox) != 1 {
		t.Fatalf("Apply with Forget after SCRIPT FLUSH = %+v, %v", a, err)
	}
	wantScore(t, raw, prefix, "1", wakeT.Add(time.Hour))
	if msgs, err := r.Outbox(ctx, 1, 10); err != nil || len(msgs) != 1 || string(msgs[0].Data) != "bye" {
		t.Errorf("Outbox after Forget = %+v, %v; want [bye]", msgs, err)
	}
	flush()
	if _, err := r.Apply(ctx, 1, 3, "a", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("s"), Wake: wakeT.Add(time.Minute)}, nil
	}); err != nil {
		t.Fatalf("Apply with Wake after SCRIPT FLUSH: %v", err)
	}
	wantScore(t, raw, prefix, "1", wakeT.Add(time.Minute))
	flush()
	if got, err := r.Due(ctx, wakeT.Add(time.Minute), 10, time.Minute); err != nil || !slices.Equal(got, []int64{1}) {
		t.Errorf("Due after SCRIPT FLUSH = %v, %v; want [1]", got, err)
	}
}

// A persistent server of the test's own keeps everything across a restart;
// the store reconnects by itself.
func TestRedisProcessRestart(t *testing.T) {
	p := storetest.StartRedisProcess(t)
	r, _ := openRedis(t, p.URL, time.Hour)
	ctx := t.Context()
	a, err := r.Apply(ctx, 7, 1, "a", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("kept"), Outbox: [][]byte{[]byte("m")}, Wake: wakeT}, nil
	})
	if err != nil || len(a.Outbox) != 1 {
		t.Fatalf("Apply = %+v, %v", a, err)
	}

	p.Stop(t)
	down, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if got, ok, err := r.Get(down, 7); err == nil {
		t.Fatalf("Get(7) with the server stopped = %q, %v, nil; want an error", got, ok)
	} else {
		t.Logf("Get with the server stopped: %v", err)
	}

	p.Start(t)
	if got, ok, err := r.Get(ctx, 7); err != nil || !ok || string(got) != "kept" {
		t.Fatalf("Get(7) after the restart = %q, %v, %v; want kept", got, ok, err)
	}
	if msgs, err := r.Outbox(ctx, 7, 10); err != nil || len(msgs) != 1 || msgs[0].ID != a.Outbox[0].ID {
		t.Errorf("Outbox(7) after the restart = %+v, %v; want %+v", msgs, err, a.Outbox)
	}
	if got, err := r.Due(ctx, wakeT, 10, time.Minute); err != nil || !slices.Equal(got, []int64{7}) {
		t.Errorf("Due after the restart = %v, %v; want [7]", got, err)
	}
	if d, err := r.Apply(ctx, 7, 1, "a", time.Minute, oneMessage("again")); err != nil || !d.Duplicate {
		t.Errorf("Apply of update 1 after the restart = %+v, %v; want a duplicate", d, err)
	}
	// Stop and Start again: still there.
	p.Stop(t)
	p.Start(t)
	if got, ok, err := r.Get(ctx, 7); err != nil || !ok || string(got) != "kept" {
		t.Errorf("Get(7) after a second restart = %q, %v, %v; want kept", got, ok, err)
	}
}
