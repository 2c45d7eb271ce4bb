package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// boltApply applies update id to chat with session "s" and msgs.
func boltApply(t *testing.T, b *store.Bolt, chat, id int64, owner string, msgs ...string) store.Applied {
	t.Helper()
	a, err := b.Apply(t.Context(), chat, id, owner, time.Hour, func([]byte) (store.Change, error) {
		c := store.Change{Session: []byte("s")}
		for _, m := range msgs {
			c.Outbox = append(c.Outbox, []byte(m))
		}
		return c, nil
	})
	if err != nil {
		t.Fatalf("Apply(%d, %d): %v", chat, id, err)
	}
	return a
}

func boltOutbox(t *testing.T, b *store.Bolt, chat int64) []string {
	t.Helper()
	msgs, err := b.Outbox(t.Context(), chat, 1000)
	if err != nil {
		t.Fatalf("Outbox(%d): %v", chat, err)
	}
	var out []string
	for _, m := range msgs {
		out = append(out, string(m.Data))
	}
	return out
}

func boltCount(t *testing.T, b *store.Bolt, bucket string) int {
	t.Helper()
	n, err := store.BoltCount(b, bucket)
	if err != nil {
		t.Fatalf("counting %s: %v", bucket, err)
	}
	return n
}

func boltPending(t *testing.T, b *store.Bolt) []int64 {
	t.Helper()
	var chats []int64
	if err := b.PendingChats(t.Context(), func(chat int64) bool { chats = append(chats, chat); return true }); err != nil {
		t.Fatalf("PendingChats: %v", err)
	}
	slices.Sort(chats)
	return chats
}

func TestBoltOutboxExpiry(t *testing.T) {
	const ttl = time.Hour
	clk := &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	b := openBolt(t, t.TempDir(), store.BoltOptions{TTL: ttl, Now: clk.Now, SweepInterval: -1})
	ctx := t.Context()

	boltApply(t, b, 1, 10, "a", "m1", "m2")
	boltApply(t, b, -2, 10, "a", "n1")
	clk.Advance(ttl / 2)
	boltApply(t, b, 3, 10, "a", "o1")
	if got := boltPending(t, b); !slices.Equal(got, []int64{-2, 1, 3}) {
		t.Fatalf("PendingChats = %v; want [-2 1 3]", got)
	}
	clk.Advance(ttl / 2) // chats 1 and -2 expire
	if got := boltOutbox(t, b, 1); len(got) != 0 {
		t.Errorf("Outbox(1) of an expired chat = %q; want none", got)
	}
	if got := boltPending(t, b); !slices.Equal(got, []int64{3}) {
		t.Errorf("PendingChats after chats 1 and -2 expired = %v; want [3]", got)
	}
	// An expired chat's messages are dropped when it is written again,
	// even before a sweep; its update ids are forgotten.
	if a := boltApply(t, b, -2, 10, "a", "n2"); a.Duplicate {
		t.Errorf("Apply of update 10 to the expired chat -2 = duplicate; want applied")
	}
	if got := boltOutbox(t, b, -2); !slices.Equal(got, []string{"n2"}) {
		t.Errorf("Outbox(-2) after rewriting the expired chat = %q; want [n2]", got)
	}
	if n := boltCount(t, b, "outbox"); n != 4 {
		t.Errorf("outbox bucket holds %d keys; want 4 (m1 m2 o1 n2)", n)
	}
	// The sweep removes chat 1's session, record and messages.
	if n, err := b.Sweep(ctx); err != nil || n != 2 {
		t.Errorf("Sweep = %d, %v; want 2 (chat 1's session and record), nil", n, err)
	}
	if n := boltCount(t, b, "outbox"); n != 2 {
		t.Errorf("outbox bucket holds %d keys after the sweep; want 2 (o1 n2)", n)
	}
	if n := boltCount(t, b, "chats"); n != 2 {
		t.Errorf("chats bucket holds %d keys after the sweep; want 2", n)
	}
	if got := boltPending(t, b); !slices.Equal(got, []int64{-2, 3}) {
		t.Errorf("PendingChats after the sweep = %v; want [-2 3]", got)
	}
}

func TestBoltLeaseClock(t *testing.T) {
	clk := &clock{now: time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)}
	b := openBolt(t, t.TempDir(), store.BoltOptions{Now: clk.Now, SweepInterval: -1})
	ctx := t.Context()
	acquire := func(chat int64, owner string, ttl time.Duration) bool {
		t.Helper()
		ok, err := b.AcquireSend(ctx, chat, owner, ttl)
		if err != nil {
			t.Fatalf("AcquireSend: %v", err)
		}
		return ok
	}
	lease := func(name, owner string, ttl time.Duration) bool {
		t.Helper()
		ok, err := b.Lease(ctx, name, owner, ttl)
		if err != nil {
			t.Fatalf("Lease: %v", err)
		}
		return ok
	}
	if !acquire(1, "a", time.Minute) || !lease("poller", "a", time.Minute) {
		t.Fatal("A could not take free leases")
	}
	clk.Advance(time.Minute - time.Nanosecond)
	if acquire(1, "b", time.Minute) || lease("poller", "b", time.Minute) {
		t.Fatal("B took A's leases before they expired")
	}
	// An Ack by the holder extends by its TTL from now.
	if err := b.Ack(ctx, 1, []string{"00000000000000000000"}, "a", time.Minute); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	clk.Advance(time.Nanosecond)
	if !lease("poller", "b", time.Minute) {
		t.Error("B could not take the expired poller lease")
	}
	if acquire(1, "b", time.Minute) {
		t.Error("B took the send lease A's Ack extended")
	}
	clk.Advance(time.Minute)
	if !acquire(1, "b", time.Minute) {
		t.Error("B could not take the expired send lease")
	}
	// Sweep forgets expired leases; held ones stay.
	clk.Advance(30 * time.Second)
	if _, err := b.Sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if acquire(1, "c", time.Minute) {
		t.Error("C took B's send lease after a sweep")
	}
	if err := b.Ack(ctx, 1, []string{"not-a-number"}, "b", time.Minute); err == nil {
		t.Error("Ack of a malformed id = nil error")
	}
}

func TestBoltOutboxReopen(t *testing.T) {
	dir := t.TempDir()
	b, err := store.OpenBolt(testLogger(t), dir, store.BoltOptions{SweepInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	first := boltApply(t, b, 5, 1, "a", "m1", "m2")
	if !first.Lease {
		t.Fatalf("Apply = %+v; want the lease", first)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b = openBolt(t, dir, store.BoltOptions{SweepInterval: -1})
	if got := boltOutbox(t, b, 5); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Errorf("Outbox(5) after reopening = %q; want [m1 m2]", got)
	}
	if a := boltApply(t, b, 5, 1, "b"); !a.Duplicate {
		t.Errorf("Apply of update 1 after reopening = %+v; want a duplicate", a)
	} else if !a.Lease {
		// Leases are not kept: the duplicate takes the lease for the
		// pending messages.
		t.Errorf("duplicate Apply after reopening = %+v; want it to take the free lease", a)
	}
	// Sequence numbers go on after the reopen.
	a := boltApply(t, b, 5, 2, "b", "m3")
	msgs, err := b.Outbox(t.Context(), 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(msgs) != 3 || msgs[2].ID != a.Outbox[0].ID || msgs[0].ID != first.Outbox[0].ID {
		t.Errorf("Outbox(5) = %+v; want m1 m2 m3 with the ids Apply gave", msgs)
	}
	for i := 1; i < len(msgs); i++ {
		if msgs[i-1].ID >= msgs[i].ID {
			t.Errorf("Outbox(5) ids %q, %q do not increase", msgs[i-1].ID, msgs[i].ID)
		}
	}
}
