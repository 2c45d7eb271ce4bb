package store_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// clock is a settable time source for BoltOptions.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openBolt(t *testing.T, dir string, opts store.BoltOptions) *store.Bolt {
	t.Helper()
	b, err := store.OpenBolt(testLogger(t), dir, opts)
	if err != nil {
		t.Fatalf("OpenBolt(%s): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return b
}

func TestBoltConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T, ttl time.Duration) store.Store {
		return openBolt(t, t.TempDir(), store.BoltOptions{TTL: ttl, ForgottenTTL: ttl})
	})
}

func TestBoltFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "sessions")
	openBolt(t, dir, store.BoltOptions{})
	for path, want := range map[string]os.FileMode{dir: 0o700 | os.ModeDir, filepath.Join(dir, "aimabot.db"): 0o600} {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != want {
			t.Errorf("%s has mode %v; want %v", path, fi.Mode(), want)
		}
	}
}

func TestBoltReopen(t *testing.T) {
	dir := t.TempDir()
	ctx := t.Context()
	b, err := store.OpenBolt(testLogger(t), dir, store.BoltOptions{})
	if err != nil {
		t.Fatalf("OpenBolt: %v", err)
	}
	for chat, v := range map[int64]string{1: "one", -2: "minus two"} {
		if err := b.Update(ctx, chat, func([]byte) ([]byte, error) { return []byte(v), nil }); err != nil {
			t.Fatalf("Update(%d): %v", chat, err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close: %v; want nil", err)
	}

	b = openBolt(t, dir, store.BoltOptions{})
	for chat, want := range map[int64]string{1: "one", -2: "minus two"} {
		if got, ok, err := b.Get(ctx, chat); err != nil || !ok || string(got) != want {
			t.Errorf("after reopening, Get(%d) = %q, %v, %v; want %q, true, nil", chat, got, ok, err, want)
		}
	}
}

func TestBoltInUse(t *testing.T) {
	dir := t.TempDir()
	openBolt(t, dir, store.BoltOptions{})
	start := time.Now()
	second, err := store.OpenBolt(testLogger(t), dir, store.BoltOptions{})
	elapsed := time.Since(start)
	if err == nil {
		second.Close()
		t.Fatalf("second OpenBolt(%s) while the first is open = nil error; want an error", dir)
	}
	if want := "is in use by another aimabot process"; !strings.Contains(err.Error(), want) {
		t.Errorf("second OpenBolt = %v; want an error saying %q", err, want)
	}
	if !strings.Contains(err.Error(), filepath.Join(dir, "aimabot.db")) {
		t.Errorf("second OpenBolt = %v; want an error naming the file", err)
	}
	if elapsed > 5*time.Second {
		t.Errorf("second OpenBolt took %v to fail; want about a second", elapsed)
	}
}

func TestBoltSweep(t *testing.T) {
	const ttl = time.Hour
	clk := &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	b := openBolt(t, dir, store.BoltOptions{TTL: ttl, Now: clk.Now, SweepInterval: -1})
	ctx := t.Context()
	put := func(chat int64) {
		t.Helper()
		if err := b.Update(ctx, chat, func([]byte) ([]byte, error) { return []byte("v"), nil }); err != nil {
			t.Fatalf("Update(%d): %v", chat, err)
		}
	}
	for _, chat := range []int64{1, 2, -3} {
		put(chat)
	}
	clk.Advance(ttl / 2)
	put(4) // expires half an hour after the others

	if n, err := b.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("Sweep before anything expired = %d, %v; want 0, nil", n, err)
	}
	clk.Advance(ttl / 2) // exactly the TTL after the first writes
	for _, chat := range []int64{1, 2, -3} {
		if got, ok, err := b.Get(ctx, chat); err != nil || ok {
			t.Errorf("Get(%d) at expiry = %q, %v, %v; want nil, false, nil", chat, got, ok, err)
		}
	}
	if n, err := b.Sweep(ctx); err != nil || n != 3 {
		t.Errorf("Sweep = %d, %v; want 3, nil", n, err)
	}
	if n, err := b.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("second Sweep = %d, %v; want 0, nil", n, err)
	}
	if got, ok, err := b.Get(ctx, 4); err != nil || !ok || string(got) != "v" {
		t.Errorf("Get(4) = %q, %v, %v; want %q, true, nil", got, ok, err, "v")
	}

	// Update refreshes: chat 4, rewritten now, outlives its first expiry.
	put(4)
	clk.Advance(ttl - time.Nanosecond)
	if n, err := b.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("Sweep after a refresh = %d, %v; want 0, nil", n, err)
	}
	clk.Advance(time.Nanosecond)
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("Sweep at the refreshed expiry = %d, %v; want 1, nil", n, err)
	}

	// A sweep at open removes what expired while the store was closed.
	put(5)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2 * ttl)
	b = openBolt(t, dir, store.BoltOptions{TTL: ttl, Now: clk.Now, SweepInterval: -1})
	if n, err := b.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("Sweep after the one at open = %d, %v; want 0, nil", n, err)
	}
	if _, ok, _ := b.Get(ctx, 5); ok {
		t.Errorf("Get(5) after reopening past expiry = ok; want !ok")
	}
}

func TestBoltSweepManyBatches(t *testing.T) {
	// More records than one sweep transaction looks at.
	const ttl = time.Hour
	clk := &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	b := openBolt(t, t.TempDir(), store.BoltOptions{TTL: ttl, Now: clk.Now, SweepInterval: -1})
	store.SetSweepBatch(b, 4)
	ctx := t.Context()
	put := func(chat int64, v string) {
		t.Helper()
		if err := b.Update(ctx, chat, func([]byte) ([]byte, error) { return []byte(v), nil }); err != nil {
			t.Fatalf("Update(%d): %v", chat, err)
		}
	}
	const first, last = -30, 30
	for chat := int64(first); chat <= last; chat++ {
		if chat%3 != 0 {
			put(chat, "old")
		}
	}
	clk.Advance(ttl / 2)
	survivors := 0
	for chat := int64(first); chat <= last; chat += 3 {
		put(chat, "new")
		survivors++
	}
	clk.Advance(ttl / 2)
	removed, err := b.Sweep(ctx)
	if want := last - first + 1 - survivors; err != nil || removed != want {
		t.Fatalf("Sweep = %d, %v; want %d, nil", removed, err, want)
	}
	for chat := int64(first); chat <= last; chat += 3 {
		if got, ok, err := b.Get(ctx, chat); err != nil || !ok || string(got) != "new" {
			t.Fatalf("Get(%d) after Sweep = %q, %v, %v; want %q, true, nil", chat, got, ok, err, "new")
		}
	}
}

// sweepLogs tells when the background sweeper reports removing something.
type sweepLogs struct {
	slog.Handler
	removed chan int64
}

func (h *sweepLogs) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "store: bolt sweep" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "expired_removed" {
				select {
				case h.removed <- a.Value.Int64():
				default:
				}
			}
			return true
		})
	}
	return h.Handler.Handle(ctx, r)
}

func TestBoltBackgroundSweep(t *testing.T) {
	// The sweeper's ticker runs on real time (50ms here); expiry follows
	// the injected clock.
	clk := &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	logs := &sweepLogs{
		Handler: slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}),
		removed: make(chan int64, 1),
	}
	b, err := store.OpenBolt(slog.New(logs), t.TempDir(), store.BoltOptions{
		TTL: time.Minute, Now: clk.Now, SweepInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	for _, chat := range []int64{1, 2} {
		if err := b.Update(ctx, chat, func([]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Hour)
	select {
	case n := <-logs.removed:
		if n != 2 {
			t.Errorf("background sweep removed %d values; want 2", n)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the background sweeper never removed the expired values")
	}
	if n, err := b.Sweep(ctx); err != nil || n != 0 {
		t.Errorf("Sweep after the background sweep = %d, %v; want 0, nil", n, err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Ping(ctx); err == nil {
		t.Errorf("Ping after Close = nil; want an error")
	}
}

// A file from before the expiry index gets one at open, from one read of
// every record; the sweep at open then removes what expired meanwhile, and
// the index is kept from then on.
func TestBoltExpiryIndexBuilt(t *testing.T) {
	const ttl = time.Hour
	clk := &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	dir := t.TempDir()
	opts := store.BoltOptions{TTL: ttl, Now: clk.Now, SweepInterval: -1}
	b, err := store.OpenBolt(testLogger(t), dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	put := func(b *store.Bolt, chat int64) {
		t.Helper()
		if err := b.Update(ctx, chat, func([]byte) ([]byte, error) { return []byte("v"), nil }); err != nil {
			t.Fatalf("Update(%d): %v", chat, err)
		}
	}
	put(b, 1)
	put(b, -2)
	if _, err := b.Apply(ctx, 3, 7, "owner", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("s"), Outbox: [][]byte{[]byte("m")}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	clk.Advance(ttl / 2)
	put(b, 4)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	// As a file written before the index: without it.
	db, err := bbolt.Open(filepath.Join(dir, "aimabot.db"), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("expiry")) }); err != nil {
		t.Fatalf("dropping the expiry index: %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(ttl / 2) // 1, -2 and 3 have expired; 4 has not
	b = openBolt(t, dir, opts)
	for _, chat := range []int64{1, -2, 3} {
		if keys, err := b.Keys(ctx, chat); err != nil || len(keys) != 0 {
			t.Errorf("Keys(%d) after the sweep at open = %q, %v; want none", chat, keys, err)
		}
	}
	if got, ok, err := b.Get(ctx, 4); err != nil || !ok || string(got) != "v" {
		t.Errorf("Get(4) = %q, %v, %v; want %q, true, nil", got, ok, err, "v")
	}
	clk.Advance(ttl / 2)
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("Sweep once 4 expired = %d, %v; want 1, nil", n, err)
	}
}

// An erasure's record keeps the applied ids for ForgottenTTL by default,
// named by the chat's keyed hash, and the sweep removes it then; a record
// expires at its own TTL.
func TestBoltForgottenLifetime(t *testing.T) {
	const ttl = 30 * 24 * time.Hour
	clk := &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	b := openBolt(t, t.TempDir(), store.BoltOptions{TTL: ttl, Now: clk.Now, SweepInterval: -1, HashSecret: "s3cret"})
	ctx := t.Context()
	const chat = 7104285941
	apply := func(id int64, c store.Change) store.Applied {
		t.Helper()
		a, err := b.Apply(ctx, chat, id, "a", time.Minute, func([]byte) (store.Change, error) { return c, nil })
		if err != nil {
			t.Fatalf("Apply(%d): %v", id, err)
		}
		return a
	}
	apply(1, store.Change{Session: []byte("s")})
	apply(2, store.Change{Forget: true})
	name := store.NewChatHash("s3cret").Name(chat)
	want := []string{"expiry/forgotten/" + name, "forgotten/" + name}
	if ks, err := b.Keys(ctx, chat); err != nil || !slices.Equal(ks, want) {
		t.Fatalf("Keys(%d) after the erasure = %q, %v; want %q", chat, ks, err, want)
	}
	if err := b.UpdateRecord(ctx, "desk", "x", time.Hour, func([]byte) ([]byte, error) { return []byte("r"), nil }); err != nil {
		t.Fatalf("UpdateRecord: %v", err)
	}
	clk.Advance(store.ForgottenTTL - time.Nanosecond)
	if a := apply(2, store.Change{}); !a.Duplicate {
		t.Errorf("Apply(2) just before ForgottenTTL = %+v; want a duplicate", a)
	}
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("Sweep before ForgottenTTL = %d, %v; want 1 (the record), nil", n, err)
	}
	clk.Advance(time.Nanosecond)
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Errorf("Sweep at ForgottenTTL = %d, %v; want 1, nil", n, err)
	}
	if ks, err := b.Keys(ctx, chat); err != nil || len(ks) != 0 {
		t.Errorf("Keys(%d) after the sweep = %q, %v; want none", chat, ks, err)
	}
	if a := apply(2, store.Change{Session: []byte("new")}); a.Duplicate {
		t.Errorf("Apply(2) after ForgottenTTL = duplicate; want applied")
	}
	for _, bucket := range []string{"records", "forgotten"} {
		if n, err := store.BoltCount(b, bucket); err != nil || n != 0 {
			t.Errorf("keys in bucket %s = %d, %v; want 0", bucket, n, err)
		}
	}
}
