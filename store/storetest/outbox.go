package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// The helpers of the Apply, outbox and lease subtests, and the subtests of
// the outbox (apply.go and lease.go hold the others). Each uses chat ids of
// its own, although every subtest opens a store of its own.

const (
	// owners of leases
	ownerA = "replica-a"
	ownerB = "replica-b"
	ownerC = "replica-c"
	// the lease TTL of the subtests that are not about leases expiring
	longLease = time.Hour
	// the lease TTL of the subtests that are
	shortLease = 200 * time.Millisecond
	// a lease checked within this time of its taking must still be held
	safelyWithinLease = shortLease * 2 / 3
)

// change is an Apply fn storing session and appending msgs.
func change(session string, msgs ...string) func([]byte) (store.Change, error) {
	return func([]byte) (store.Change, error) {
		c := store.Change{Session: []byte(session)}
		for _, m := range msgs {
			c.Outbox = append(c.Outbox, []byte(m))
		}
		return c, nil
	}
}

// mustApply applies update id to chat with fn, failing the test on error.
func mustApply(t *testing.T, s store.Store, chat, id int64, owner string, fn func([]byte) (store.Change, error)) store.Applied {
	t.Helper()
	a, err := s.Apply(t.Context(), chat, id, owner, longLease, fn)
	if err != nil {
		t.Fatalf("Apply(chat %d, update %d, %s): %v", chat, id, owner, err)
	}
	return a
}

// notCalled is an Apply fn failing the test when called.
func notCalled(t *testing.T, what string) func([]byte) (store.Change, error) {
	return func(cur []byte) (store.Change, error) {
		t.Errorf("%s: fn called with %q; want it not called", what, abbrev(cur))
		return store.Change{Session: []byte("must not be stored")}, nil
	}
}

// outbox returns all of chat's pending messages.
func outbox(t *testing.T, s store.Store, chat int64) []store.OutMsg {
	t.Helper()
	msgs, err := s.Outbox(t.Context(), chat, 100000)
	if err != nil {
		t.Fatalf("Outbox(%d): %v", chat, err)
	}
	return msgs
}

// msgData lists the messages' data as strings.
func msgData(msgs []store.OutMsg) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Data)
	}
	return out
}

// wantOutbox fails the test unless chat's pending messages are want.
func wantOutbox(t *testing.T, s store.Store, chat int64, want ...string) []store.OutMsg {
	t.Helper()
	msgs := outbox(t, s, chat)
	if got := msgData(msgs); !slices.Equal(got, want) {
		t.Fatalf("Outbox(%d) = %q; want %q", chat, got, want)
	}
	return msgs
}

// ack acknowledges id, failing the test on error.
func ack(t *testing.T, s store.Store, chat int64, id, owner string) {
	t.Helper()
	if err := s.Ack(t.Context(), chat, []string{id}, owner, longLease); err != nil {
		t.Fatalf("Ack(%d, %s, %s): %v", chat, id, owner, err)
	}
}

// acquire returns AcquireSend's answer, failing the test on error.
func acquire(t *testing.T, s store.Store, chat int64, owner string, ttl time.Duration) bool {
	t.Helper()
	ok, err := s.AcquireSend(t.Context(), chat, owner, ttl)
	if err != nil {
		t.Fatalf("AcquireSend(%d, %s): %v", chat, owner, err)
	}
	return ok
}

// release returns ReleaseSend's answer, failing the test on error.
func release(t *testing.T, s store.Store, chat int64, owner string) bool {
	t.Helper()
	more, err := s.ReleaseSend(t.Context(), chat, owner)
	if err != nil {
		t.Fatalf("ReleaseSend(%d, %s): %v", chat, owner, err)
	}
	return more
}

// pending returns the chats PendingChats reports, failing the test when
// one is reported twice.
func pending(t *testing.T, s store.Store) map[int64]bool {
	t.Helper()
	chats := make(map[int64]bool)
	err := s.PendingChats(t.Context(), func(chat int64) bool {
		if chats[chat] {
			t.Errorf("PendingChats reported chat %d twice", chat)
		}
		chats[chat] = true
		return true
	})
	if err != nil {
		t.Fatalf("PendingChats: %v", err)
	}
	return chats
}

// eventually polls cond every pollEvery until it holds, failing the test
// after expiryDeadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(expiryDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, expiryDeadline)
		}
		time.Sleep(pollEvery)
	}
}

func testOutboxAck(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7006
	a := mustApply(t, s, chat, 1, ownerA, change("s", "m1", "m2", "m3"))
	b := mustApply(t, s, chat, 2, ownerA, change("s", "m4", "m5"))
	ids := []string{}
	for _, m := range append(a.Outbox, b.Outbox...) {
		ids = append(ids, m.ID)
	}

	for _, n := range []int{-1, 0} {
		if msgs, err := s.Outbox(t.Context(), chat, n); err != nil || len(msgs) != 0 {
			t.Errorf("Outbox(%d, %d) = %d messages, %v; want none", chat, n, len(msgs), err)
		}
	}
	first, err := s.Outbox(t.Context(), chat, 2)
	if err != nil {
		t.Fatalf("Outbox(%d, 2): %v", chat, err)
	}
	if got := msgData(first); !slices.Equal(got, []string{"m1", "m2"}) {
		t.Errorf("Outbox(%d, 2) = %q; want the oldest two", chat, got)
	}
	msgs := wantOutbox(t, s, chat, "m1", "m2", "m3", "m4", "m5")
	for i, m := range msgs {
		if m.ID != ids[i] {
			t.Errorf("Outbox(%d)[%d].ID = %q; want %q as Apply said", chat, i, m.ID, ids[i])
		}
	}

	ack(t, s, chat, ids[0], ownerA)
	wantOutbox(t, s, chat, "m2", "m3", "m4", "m5")
	ack(t, s, chat, ids[0], ownerA) // already gone
	ack(t, s, chat, ids[2], ownerB) // out of order, by anyone
	wantOutbox(t, s, chat, "m2", "m4", "m5")
	for _, id := range ids {
		ack(t, s, chat, id, ownerA)
	}
	wantOutbox(t, s, chat)
	ack(t, s, chat, ids[4], ownerA)
	// Acking in a chat with no outbox at all is fine too.
	ack(t, s, chat+1, ids[0], ownerA)

	// New messages after an emptied outbox come after, with new ids.
	c := mustApply(t, s, chat, 3, ownerA, change("s", "m6"))
	if len(c.Outbox) != 1 || slices.Contains(ids, c.Outbox[0].ID) {
		t.Errorf("Apply after emptying the outbox = %+v; want one message with a new id", c)
	}
	wantOutbox(t, s, chat, "m6")
}

func testAckExtendsLease(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7008
	a := mustApply(t, s, chat, 1, ownerA, change("s", "m1", "m2"))
	// Shorten A's lease; it runs out shortLease after taken at the earliest.
	// The Ack must land well within it to test anything, so a slow moment of
	// the machine is tried again (acking a message twice is harmless).
	var taken time.Time
	for try := 1; ; try++ {
		taken = time.Now()
		if !acquire(t, s, chat, ownerA, shortLease) {
			t.Fatalf("AcquireSend(%d, A) renewing = false", chat)
		}
		if err := s.Ack(t.Context(), chat, []string{a.Outbox[0].ID}, ownerA, longLease); err != nil {
			t.Fatalf("Ack: %v", err)
		}
		if time.Since(taken) < safelyWithinLease {
			break
		}
		if try == 5 {
			t.Fatalf("Ack took %v of a %v lease five times: too slow to test the extension", time.Since(taken), shortLease)
		}
	}
	// An Ack by someone else extends nothing and takes nothing.
	if err := s.Ack(t.Context(), chat, []string{a.Outbox[1].ID}, ownerC, longLease); err != nil {
		t.Fatalf("Ack: %v", err)
	}
	// Watch for three times the short TTL: A's lease was extended.
	for time.Since(taken) < 3*shortLease {
		if acquire(t, s, chat, ownerB, shortLease) {
			t.Fatalf("AcquireSend(%d, B) %v after A's Ack extended the lease by %v = true",
				chat, time.Since(taken).Round(time.Millisecond), longLease)
		}
		if acquire(t, s, chat, ownerC, shortLease) {
			t.Fatalf("AcquireSend(%d, C) after C's Ack = true; want A to hold the lease", chat)
		}
		time.Sleep(pollEvery)
	}
	if !acquire(t, s, chat, ownerA, longLease) {
		t.Errorf("AcquireSend(%d, A) = false; want A to hold the lease still", chat)
	}
}

func testPendingChats(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const (
		two     = int64(7101)
		one     = int64(-7102)
		none    = int64(7103) // applied, no messages
		acked   = int64(7104) // its message sent
		session = int64(7105) // written by Update only
	)
	mustApply(t, s, two, 1, ownerA, change("s", "a", "b"))
	mustApply(t, s, one, 1, ownerA, change("s", "c"))
	mustApply(t, s, none, 1, ownerA, change("s"))
	m := mustApply(t, s, acked, 1, ownerA, change("s", "d"))
	ack(t, s, acked, m.Outbox[0].ID, ownerA)
	set(t, s, session, []byte("s"))

	chats := pending(t, s)
	for _, chat := range []int64{two, one} {
		if !chats[chat] {
			t.Errorf("PendingChats did not report chat %d with pending messages", chat)
		}
	}
	for _, chat := range []int64{none, acked, session} {
		if chats[chat] {
			t.Errorf("PendingChats reported chat %d with no pending message", chat)
		}
	}

	// fn returning false stops it.
	calls := 0
	err := s.PendingChats(t.Context(), func(int64) bool {
		calls++
		return false
	})
	if err != nil || calls != 1 {
		t.Errorf("PendingChats stopping at once = %v after %d calls; want nil after 1", err, calls)
	}
	// fn may use the store: send everything.
	err = s.PendingChats(t.Context(), func(chat int64) bool {
		msgs, err := s.Outbox(t.Context(), chat, 100)
		if err != nil {
			t.Errorf("Outbox(%d) from PendingChats: %v", chat, err)
			return false
		}
		for _, m := range msgs {
			if err := s.Ack(t.Context(), chat, []string{m.ID}, ownerA, longLease); err != nil {
				t.Errorf("Ack(%d) from PendingChats: %v", chat, err)
				return false
			}
		}
		return true
	})
	if err != nil {
		t.Fatalf("PendingChats: %v", err)
	}
	chats = pending(t, s)
	for _, chat := range []int64{two, one} {
		if chats[chat] {
			t.Errorf("PendingChats reported chat %d after its messages were acknowledged", chat)
		}
	}
}

// AckRelease acknowledges a message and gives up the lease when it was the
// last, keeps the lease while others are pending, and releases nothing it
// does not hold; Apply says when older messages were pending (Backlog).
func testAckRelease(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7011
	a := mustApply(t, s, chat, 1, ownerA, change("s", "m1", "m2"))
	if a.Backlog || !a.Lease {
		t.Fatalf("first Apply: Backlog %v, Lease %v; want no backlog and the lease", a.Backlog, a.Lease)
	}
	if b := mustApply(t, s, chat, 2, ownerA, change("t", "m3")); !b.Backlog {
		t.Errorf("Apply with m1 and m2 pending: Backlog = false; want true")
	}
	ackRelease := func(id, owner string) bool {
		t.Helper()
		more, err := s.AckRelease(t.Context(), chat, []string{id}, owner, longLease)
		if err != nil {
			t.Fatalf("AckRelease(%s, %s): %v", id, owner, err)
		}
		return more
	}
	msgs, err := s.Outbox(t.Context(), chat, 10)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("Outbox = %d messages, %v; want 3", len(msgs), err)
	}
	if ackRelease(msgs[0].ID, ownerB) {
		t.Errorf("AckRelease by B, who holds no lease = more; want false")
	}
	if acquire(t, s, chat, ownerB, longLease) {
		t.Errorf("AcquireSend(B) after B's AckRelease = true; want A to keep the lease")
	}
	if !ackRelease(msgs[1].ID, ownerA) {
		t.Errorf("AckRelease(m2) with m3 pending = false; want more")
	}
	if acquire(t, s, chat, ownerB, longLease) {
		t.Errorf("AcquireSend(B) while m3 is pending = true; want A to keep the lease")
	}
	if ackRelease(msgs[2].ID, ownerA) {
		t.Errorf("AckRelease(m3), the last = more; want false")
	}
	wantOutbox(t, s, chat)
	if !acquire(t, s, chat, ownerB, longLease) {
		t.Errorf("AcquireSend(B) after A's last AckRelease = false; want the lease free")
	}
	if c := mustApply(t, s, chat, 3, ownerA, change("u", "m4")); c.Backlog {
		t.Errorf("Apply to an empty outbox: Backlog = true; want false")
	}
}

// Several messages acknowledged in one call: all go, others stay, and the
// lease is released with the last of them. No id at all is a mistake.
func testAckMany(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7012
	mustApply(t, s, chat, 1, ownerA, change("s", "m1", "m2", "m3", "m4", "m5"))
	msgs := wantOutbox(t, s, chat, "m1", "m2", "m3", "m4", "m5")
	if err := s.Ack(t.Context(), chat, []string{msgs[0].ID, msgs[1].ID}, ownerA, longLease); err != nil {
		t.Fatalf("Ack(m1, m2): %v", err)
	}
	wantOutbox(t, s, chat, "m3", "m4", "m5")
	// m1 again (already gone) with m3.
	more, err := s.AckRelease(t.Context(), chat, []string{msgs[0].ID, msgs[2].ID}, ownerA, longLease)
	if err != nil || !more {
		t.Fatalf("AckRelease(m1, m3) with m4 and m5 pending = %v, %v; want more", more, err)
	}
	more, err = s.AckRelease(t.Context(), chat, []string{msgs[3].ID, msgs[4].ID}, ownerA, longLease)
	if err != nil || more {
		t.Fatalf("AckRelease(m4, m5), the last = %v, %v; want no more", more, err)
	}
	wantOutbox(t, s, chat)
	if !acquire(t, s, chat, ownerB, longLease) {
		t.Errorf("AcquireSend(B) after A acknowledged everything = false; want the lease free")
	}
	if err := s.Ack(t.Context(), chat, nil, ownerB, longLease); err == nil {
		t.Errorf("Ack with no id = nil; want an error")
	}
	if _, err := s.AckRelease(t.Context(), chat, nil, ownerB, longLease); err == nil {
		t.Errorf("AckRelease with no id = nil; want an error")
	}
}
