package storetest

import (
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// The subtests of the send leases and the global leases.

func testSendLease(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7007
	taken := time.Now()
	if !acquire(t, s, chat, ownerA, shortLease) {
		t.Fatalf("AcquireSend(%d, A) of a free lease = false", chat)
	}
	renewed := time.Now() // the renewal happens after this
	if !acquire(t, s, chat, ownerA, shortLease) {
		t.Errorf("AcquireSend(%d, A) renewing its own lease = false", chat)
	}
	gotB := acquire(t, s, chat, ownerB, shortLease)
	if gotB && time.Since(renewed) < safelyWithinLease {
		t.Fatalf("AcquireSend(%d, B) while A holds the lease = true", chat)
	}
	if !acquire(t, s, chat+1, ownerB, shortLease) {
		t.Errorf("AcquireSend(%d, B) of another chat's lease = false", chat+1)
	}
	// The lease expires: B takes it over.
	if !gotB {
		eventually(t, "B taking over A's expired lease", func() bool { return acquire(t, s, chat, ownerB, shortLease) })
	}
	if age := time.Since(taken); age < shortLease-50*time.Millisecond {
		t.Errorf("B took the lease %v after A took it with a TTL of %v", age, shortLease)
	}
	if !acquire(t, s, chat, ownerB, longLease) {
		t.Fatalf("AcquireSend(%d, B) renewing for %v = false", chat, longLease)
	}
	if acquire(t, s, chat, ownerA, longLease) {
		t.Errorf("AcquireSend(%d, A) after B took over = true", chat)
	}
}

func testApplyLease(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7009
	// Nothing to send: no lease taken.
	if a := mustApply(t, s, chat, 1, ownerA, change("s")); a.Lease {
		t.Errorf("Apply with no messages to an empty outbox: Lease = true; want false")
	}
	if a := mustApply(t, s, chat, 2, ownerA, change("s", "m2")); !a.Lease || !a.Took {
		t.Errorf("Apply by A with a message = %+v; want the lease, taken now", a)
	}
	if a := mustApply(t, s, chat, 3, ownerB, change("s", "m3")); a.Lease || a.Took {
		t.Errorf("Apply by B while A holds the lease = %+v; want no lease", a)
	}
	if a := mustApply(t, s, chat, 4, ownerA, change("s")); !a.Lease || a.Took {
		t.Errorf("Apply by A, holding the lease, with no message = %+v; want the lease, already held", a)
	}
	if a := mustApply(t, s, chat, 6, ownerA, change("s", "m6")); !a.Lease || a.Took {
		t.Errorf("Apply by A, holding the lease, with a message = %+v; want the lease, already held: a sender of A's may be sending", a)
	}
	if a := mustApply(t, s, chat, 3, ownerB, notCalled(t, "duplicate")); !a.Duplicate || a.Lease {
		t.Errorf("duplicate Apply by B = %+v; want a duplicate without the lease", a)
	}
	if a := mustApply(t, s, chat, 3, ownerA, notCalled(t, "duplicate")); !a.Duplicate || !a.Lease {
		t.Errorf("duplicate Apply by A = %+v; want a duplicate with the lease", a)
	}
	wantOutbox(t, s, chat, "m2", "m3", "m6")

	// A crashes: its lease runs out. A redelivered update takes the lease
	// for the messages left pending.
	if _, err := s.Apply(t.Context(), chat, 5, ownerA, shortLease, change("s", "m5")); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	eventually(t, "a duplicate Apply by B taking the expired lease for pending messages", func() bool {
		a := mustApply(t, s, chat, 5, ownerB, notCalled(t, "duplicate"))
		if !a.Duplicate {
			t.Fatalf("Apply of update 5 again = %+v; want a duplicate", a)
		}
		return a.Lease
	})
	if acquire(t, s, chat, ownerA, longLease) {
		t.Errorf("AcquireSend(%d, A) after B took the lease = true", chat)
	}
	wantOutbox(t, s, chat, "m2", "m3", "m6", "m5")

	// With the outbox emptied and the lease released, a duplicate takes
	// nothing.
	for _, m := range outbox(t, s, chat) {
		ack(t, s, chat, m.ID, ownerB)
	}
	if release(t, s, chat, ownerB) {
		t.Fatalf("ReleaseSend(%d, B) with an empty outbox = more", chat)
	}
	if a := mustApply(t, s, chat, 5, ownerA, notCalled(t, "duplicate")); !a.Duplicate || a.Lease {
		t.Errorf("duplicate Apply with nothing pending = %+v; want a duplicate without the lease", a)
	}
}

func testReleaseSend(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7010
	a := mustApply(t, s, chat, 1, ownerA, change("s", "m1"))
	if !a.Lease {
		t.Fatalf("Apply = %+v; want the lease", a)
	}
	if !release(t, s, chat, ownerA) {
		t.Errorf("ReleaseSend(%d, A) with a message pending = false; want more", chat)
	}
	if acquire(t, s, chat, ownerB, longLease) {
		t.Errorf("AcquireSend(%d, B) after A kept the lease = true", chat)
	}
	// Someone not holding the lease releases nothing, and is not told to send.
	if release(t, s, chat, ownerB) {
		t.Errorf("ReleaseSend(%d, B) by a non-holder = more; want false", chat)
	}
	if acquire(t, s, chat, ownerB, longLease) {
		t.Errorf("AcquireSend(%d, B) after B's ReleaseSend = true; want A to hold the lease", chat)
	}

	ack(t, s, chat, a.Outbox[0].ID, ownerA)
	if release(t, s, chat, ownerA) {
		t.Errorf("ReleaseSend(%d, A) with an empty outbox = more; want false", chat)
	}
	if !acquire(t, s, chat, ownerB, longLease) {
		t.Fatalf("AcquireSend(%d, B) after A released = false", chat)
	}
	if release(t, s, chat, ownerA) {
		t.Errorf("ReleaseSend(%d, A) after B took the lease = more; want false", chat)
	}
	if acquire(t, s, chat, ownerA, longLease) {
		t.Errorf("AcquireSend(%d, A) = true; A's ReleaseSend must not release B's lease", chat)
	}
	if release(t, s, chat, ownerB) {
		t.Errorf("ReleaseSend(%d, B) with an empty outbox = more; want false", chat)
	}
	if !acquire(t, s, chat, ownerA, longLease) {
		t.Errorf("AcquireSend(%d, A) after B released = false", chat)
	}
	// Releasing a chat that never had a lease is fine.
	if release(t, s, chat+1, ownerA) {
		t.Errorf("ReleaseSend(%d, A) of a chat never used = more", chat+1)
	}
}

func testGlobalLease(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	lease := func(name, owner string, ttl time.Duration) bool {
		t.Helper()
		ok, err := s.Lease(t.Context(), name, owner, ttl)
		if err != nil {
			t.Fatalf("Lease(%s, %s): %v", name, owner, err)
		}
		return ok
	}
	taken := time.Now()
	if !lease("poller", ownerA, shortLease) {
		t.Fatalf("Lease(poller, A) of a free lease = false")
	}
	renewed := time.Now() // the renewal happens after this
	if !lease("poller", ownerA, shortLease) {
		t.Errorf("Lease(poller, A) renewing = false")
	}
	gotB := lease("poller", ownerB, shortLease)
	if gotB && time.Since(renewed) < safelyWithinLease {
		t.Fatalf("Lease(poller, B) while A holds it = true")
	}
	if !lease("janitor", ownerB, longLease) {
		t.Errorf("Lease(janitor, B) of another free lease = false")
	}
	// Names are not chats: a chat's send lease is another lease.
	if !acquire(t, s, 0, ownerC, longLease) {
		t.Errorf("AcquireSend(0, C) = false")
	}
	if !gotB {
		eventually(t, "B taking over the expired poller lease", func() bool { return lease("poller", ownerB, shortLease) })
	}
	if !lease("poller", ownerB, longLease) {
		t.Fatalf("Lease(poller, B) renewing for %v = false", longLease)
	}
	if age := time.Since(taken); age < shortLease-50*time.Millisecond {
		t.Errorf("B took the poller lease %v after A took it with a TTL of %v", age, shortLease)
	}
	if lease("poller", ownerA, longLease) {
		t.Errorf("Lease(poller, A) after B took it for %v = true", longLease)
	}
	if lease("janitor", ownerA, longLease) {
		t.Errorf("Lease(janitor, A) while B holds it = true")
	}
}

func testLeaseArgs(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	ctx := t.Context()
	const chat = 7301
	fn := change("s", "m")
	for _, c := range []struct {
		owner string
		ttl   time.Duration
	}{{"", longLease}, {ownerA, 0}, {ownerA, -time.Second}, {ownerA, time.Microsecond}} {
		if _, err := s.Apply(ctx, chat, 1, c.owner, c.ttl, fn); err == nil {
			t.Errorf("Apply with owner %q and lease TTL %v = nil error", c.owner, c.ttl)
		}
		if _, err := s.AcquireSend(ctx, chat, c.owner, c.ttl); err == nil {
			t.Errorf("AcquireSend with owner %q and TTL %v = nil error", c.owner, c.ttl)
		}
		if _, err := s.Lease(ctx, "poller", c.owner, c.ttl); err == nil {
			t.Errorf("Lease with owner %q and TTL %v = nil error", c.owner, c.ttl)
		}
		if err := s.Ack(ctx, chat, []string{"1"}, c.owner, c.ttl); err == nil {
			t.Errorf("Ack with owner %q and TTL %v = nil error", c.owner, c.ttl)
		}
	}
	if _, err := s.ReleaseSend(ctx, chat, ""); err == nil {
		t.Errorf("ReleaseSend with no owner = nil error")
	}
	if _, err := s.Lease(ctx, "", ownerA, longLease); err == nil {
		t.Errorf("Lease with no name = nil error")
	}
	wantMissing(t, s, chat)
	wantOutbox(t, s, chat)
}
