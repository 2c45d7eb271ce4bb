package store_test

import (
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

func boltDue(t *testing.T, b *store.Bolt, now time.Time) []int64 {
	t.Helper()
	got, err := b.Due(t.Context(), now, 100, time.Minute)
	if err != nil {
		t.Fatalf("Due: %v", err)
	}
	slices.Sort(got)
	return got
}

// The sweep removing an expired chat removes its wake time; a chat still
// alive, or one that never had records, keeps it.
func TestBoltWakeSweep(t *testing.T) {
	const ttl = time.Hour
	clk := &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	b := openBolt(t, t.TempDir(), store.BoltOptions{TTL: ttl, Now: clk.Now, SweepInterval: -1})
	ctx := t.Context()
	at := wakeT
	applyWake := func(chat, id int64) {
		t.Helper()
		_, err := b.Apply(ctx, chat, id, "a", time.Minute, func([]byte) (store.Change, error) {
			return store.Change{Session: []byte("s"), Outbox: [][]byte{[]byte("m")}, Wake: at}, nil
		})
		if err != nil {
			t.Fatalf("Apply(%d): %v", chat, err)
		}
	}
	setWake := func(chat int64) {
		t.Helper()
		if err := b.SetWake(ctx, chat, at); err != nil {
			t.Fatalf("SetWake(%d): %v", chat, err)
		}
	}
	applyWake(1, 1) // expires
	if err := b.Update(ctx, 2, func([]byte) ([]byte, error) { return []byte("x"), nil }); err != nil {
		t.Fatal(err)
	}
	setWake(2)      // session only, expires
	setWake(3)      // nothing stored: nothing expires
	applyWake(4, 1) // refreshed below
	if n := boltCount(t, b, "wake"); n != 4 {
		t.Fatalf("wake bucket holds %d keys; want 4", n)
	}
	clk.Advance(ttl / 2)
	applyWake(4, 2)
	clk.Advance(ttl / 2)
	if n, err := b.Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("Sweep = %d, %v; want 3 (chat 1's session and record, chat 2's session)", n, err)
	}
	for _, bucket := range []string{"wake", "wakeat"} {
		if n := boltCount(t, b, bucket); n != 2 {
			t.Errorf("%s bucket holds %d keys after the sweep; want 2 (chats 3 and 4)", bucket, n)
		}
	}
	if got := boltDue(t, b, at); !slices.Equal(got, []int64{3, 4}) {
		t.Errorf("Due after the sweep = %v; want [3 4]", got)
	}
	// A session outliving the chat record keeps the wake time until it
	// expires as well.
	applyWake(5, 1)
	clk.Advance(ttl / 2)
	if err := b.Update(ctx, 5, func([]byte) ([]byte, error) { return []byte("y"), nil }); err != nil {
		t.Fatal(err)
	}
	clk.Advance(ttl / 2)
	if n, err := b.Sweep(ctx); err != nil || n != 3 {
		t.Fatalf("Sweep = %d, %v; want 3 (chat 4's session and record, chat 5's record)", n, err)
	}
	if got := boltDue(t, b, at.Add(time.Hour)); !slices.Equal(got, []int64{3, 5}) {
		t.Errorf("Due = %v; want [3 5]: chat 4 expired, chat 5's session is alive", got)
	}
	clk.Advance(ttl / 2)
	if n, err := b.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1 (chat 5's session)", n, err)
	}
	if got := boltDue(t, b, at.Add(2*time.Hour)); slices.Contains(got, 5) {
		t.Errorf("Due = %v; want chat 5 gone with its session", got)
	}
}

func TestBoltWakeKeysAndReopen(t *testing.T) {
	dir := t.TempDir()
	b, err := store.OpenBolt(testLogger(t), dir, store.BoltOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	_, err = b.Apply(ctx, -5, 1, "a", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("s"), Outbox: [][]byte{[]byte("m1"), []byte("m2")}, Wake: wakeT}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ms := strconv.FormatInt(wakeT.UnixMilli(), 10)
	want := []string{"chats/-5", "expiry/chats/-5", "expiry/sessions/-5", "leases/send:-5", "outbox/-5/0", "outbox/-5/1", "sessions/-5", "wake/" + ms + "/-5", "wakeat/-5"}
	if keys, err := b.Keys(ctx, -5); err != nil || !slices.Equal(keys, want) {
		t.Errorf("Keys(-5) = %q, %v; want %q", keys, err, want)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = openBolt(t, dir, store.BoltOptions{SweepInterval: -1})
	if got := boltDue(t, b, wakeT); !slices.Equal(got, []int64{-5}) {
		t.Errorf("Due after reopening = %v; want [-5]", got)
	}
	// Apply's Forget moves the applied ids to the erasure's record, and
	// keeps the chat record (the sequence number) while its message is
	// pending.
	_, err = b.Apply(ctx, -5, 2, "b", time.Minute, func([]byte) (store.Change, error) {
		return store.Change{Forget: true, Outbox: [][]byte{[]byte("bye")}}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	name := store.NewChatHash("").Name(-5)
	want = []string{"chats/-5", "expiry/chats/-5", "expiry/forgotten/" + name, "forgotten/" + name, "leases/send:-5", "outbox/-5/2"}
	if keys, err := b.Keys(ctx, -5); err != nil || !slices.Equal(keys, want) {
		t.Errorf("Keys(-5) after Apply with Forget = %q, %v; want %q", keys, err, want)
	}
	for _, bucket := range []string{"wake", "wakeat"} {
		if n := boltCount(t, b, bucket); n != 0 {
			t.Errorf("%s bucket holds %d keys after Forget; want 0", bucket, n)
		}
	}
	// Once the message is sent, only the erasure's record is left.
	if more, err := b.AckRelease(ctx, -5, []string{"00000000000000000002"}, "b", time.Minute); err != nil || more {
		t.Fatalf("AckRelease = %v, %v; want false, nil", more, err)
	}
	want = []string{"expiry/forgotten/" + name, "forgotten/" + name}
	if keys, err := b.Keys(ctx, -5); err != nil || !slices.Equal(keys, want) {
		t.Errorf("Keys(-5) after the erasure's message was sent = %q, %v; want %q", keys, err, want)
	}
}
