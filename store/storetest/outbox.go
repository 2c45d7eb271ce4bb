package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// The subtests of Apply, the outbox and the leases. Each uses chat ids of
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

func testApply(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7001
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	in := [][]byte{[]byte("hello"), {}, all, []byte("Olá — ✓")}
	calls := 0
	a, err := s.Apply(t.Context(), chat, 100, ownerA, longLease, func(cur []byte) (store.Change, error) {
		calls++
		if cur != nil {
			t.Errorf("Apply to a new chat passed fn %q; want nil", abbrev(cur))
		}
		return store.Change{Session: []byte("s1"), Outbox: in}, nil
	})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if calls != 1 {
		t.Errorf("Apply called fn %d times; want 1", calls)
	}
	if a.Duplicate || !a.Lease || len(a.Outbox) != len(in) {
		t.Fatalf("Apply = %+v; want not duplicate, lease, %d messages", a, len(in))
	}
	for i, m := range a.Outbox {
		if !bytes.Equal(m.Data, in[i]) || m.ID == "" {
			t.Errorf("Apply's message %d = %q (id %q); want %q with an id", i, abbrev(m.Data), m.ID, abbrev(in[i]))
		}
	}
	wantValue(t, s, chat, []byte("s1"))
	got := outbox(t, s, chat)
	if len(got) != len(in) {
		t.Fatalf("Outbox(%d) has %d messages; want %d", chat, len(got), len(in))
	}
	for i, m := range got {
		if m.ID != a.Outbox[i].ID || !bytes.Equal(m.Data, in[i]) {
			t.Errorf("Outbox(%d)[%d] = %q %q; want %q %q", chat, i, m.ID, abbrev(m.Data), a.Outbox[i].ID, abbrev(in[i]))
		}
	}
	// The caller may reuse its buffers.
	copy(in[0], "HELLO")
	copy(a.Outbox[0].Data, "XXXXX")
	wantOutbox(t, s, chat, "hello", "", string(all), "Olá — ✓")

	// The next update sees the session and appends after the first ones.
	var seen []byte
	b := mustApply(t, s, chat, 101, ownerA, func(cur []byte) (store.Change, error) {
		seen = bytes.Clone(cur)
		return store.Change{Session: append(cur, '+'), Outbox: [][]byte{[]byte("second")}}, nil
	})
	if string(seen) != "s1" {
		t.Errorf("second Apply passed fn %q; want %q", seen, "s1")
	}
	if b.Duplicate || !b.Lease || len(b.Outbox) != 1 || string(b.Outbox[0].Data) != "second" {
		t.Errorf("second Apply = %+v; want one message and the lease", b)
	}
	wantValue(t, s, chat, []byte("s1+"))
	msgs := wantOutbox(t, s, chat, "hello", "", string(all), "Olá — ✓", "second")
	ids := make(map[string]bool)
	for _, m := range msgs {
		ids[m.ID] = true
	}
	if len(ids) != len(msgs) {
		t.Errorf("Outbox(%d) ids %v are not unique", chat, ids)
	}
	if len(b.Outbox) == 1 && msgs[4].ID != b.Outbox[0].ID {
		t.Errorf("Outbox(%d)[4].ID = %q; want %q as Apply said", chat, msgs[4].ID, b.Outbox[0].ID)
	}

	// An update without messages; a nil session deletes it.
	c := mustApply(t, s, chat, 102, ownerA, func([]byte) (store.Change, error) { return store.Change{}, nil })
	if c.Duplicate || len(c.Outbox) != 0 {
		t.Errorf("Apply with no change = %+v; want applied, no messages", c)
	}
	wantMissing(t, s, chat)
	wantOutbox(t, s, chat, "hello", "", string(all), "Olá — ✓", "second")
	// The deleted session's update ids are still remembered.
	if d := mustApply(t, s, chat, 101, ownerA, notCalled(t, "Apply of update 101 again")); !d.Duplicate {
		t.Errorf("Apply of update 101 after deleting the session = %+v; want a duplicate", d)
	}
	// Other chats are unaffected.
	wantOutbox(t, s, chat+1)
	wantMissing(t, s, chat+1)
}

func testApplyDuplicate(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = -7002
	first := mustApply(t, s, chat, 5, ownerA, change("one", "m1", "m2"))
	if first.Duplicate {
		t.Fatalf("first Apply of update 5 = duplicate")
	}
	for _, owner := range []string{ownerA, ownerB} {
		a := mustApply(t, s, chat, 5, owner, notCalled(t, "Apply of update 5 again"))
		if !a.Duplicate || len(a.Outbox) != 0 {
			t.Errorf("Apply of update 5 again by %s = %+v; want a duplicate with no messages", owner, a)
		}
		if a.Lease != (owner == ownerA) {
			t.Errorf("Apply of update 5 again by %s: Lease = %v; want %v (A holds it)", owner, a.Lease, owner == ownerA)
		}
	}
	wantValue(t, s, chat, []byte("one"))
	wantOutbox(t, s, chat, "m1", "m2")
	// The same update id in another chat is another update.
	if a := mustApply(t, s, chat-1, 5, ownerA, change("other")); a.Duplicate {
		t.Errorf("Apply of update 5 to chat %d = duplicate; want applied", chat-1)
	}
	// An older id not seen yet is applied (fewer than 64 are remembered).
	if a := mustApply(t, s, chat, 3, ownerA, change("three", "m3")); a.Duplicate {
		t.Errorf("Apply of update 3 after 5 = duplicate; want applied")
	}
	wantValue(t, s, chat, []byte("three"))
	wantOutbox(t, s, chat, "m1", "m2", "m3")
}

// An input that is not an update (id 0) is applied every time and never
// remembered, even when the chat remembers a full window of update ids.
func testApplyNotAnUpdate(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7010
	for id := int64(500); id < 500+store.AppliedWindow+2; id++ {
		mustApply(t, s, chat, id, ownerA, change("u"))
	}
	for i, want := range []string{"end1", "end2"} {
		if a := mustApply(t, s, chat, 0, ownerA, change(want, want)); a.Duplicate {
			t.Errorf("Apply #%d of id 0 = duplicate; want applied", i+1)
		}
		wantValue(t, s, chat, []byte(want))
	}
	if a := mustApply(t, s, chat, 500+store.AppliedWindow+2, ownerA, change("next")); a.Duplicate {
		t.Errorf("Apply of the next update after id 0 inputs = duplicate; want applied")
	}
}

func testApplyRecentIDs(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const (
		chat  = 7003
		first = int64(1000)
		n     = 70
	)
	for id := first; id < first+n; id++ {
		a := mustApply(t, s, chat, id, ownerA, func(cur []byte) (store.Change, error) {
			next, err := increment(cur)
			return store.Change{Session: next}, err
		})
		if a.Duplicate {
			t.Fatalf("Apply of new update %d = duplicate", id)
		}
	}
	wantValue(t, s, chat, []byte(strconv.Itoa(n)))
	// The first ids are forgotten but lower than every remembered one; the
	// last 64 are remembered.
	for _, id := range []int64{first, first + 1, first + n - store.AppliedWindow - 1, first + n - store.AppliedWindow, first + 50, first + n - 1, first - 500} {
		if a := mustApply(t, s, chat, id, ownerA, notCalled(t, fmt.Sprintf("Apply of old update %d", id))); !a.Duplicate {
			t.Errorf("Apply of update %d after %d..%d = %+v; want a duplicate", id, first, first+n-1, a)
		}
	}
	wantValue(t, s, chat, []byte(strconv.Itoa(n)))
	if a := mustApply(t, s, chat, first+n, ownerA, change("next")); a.Duplicate {
		t.Errorf("Apply of the next update %d = duplicate", first+n)
	}
	wantValue(t, s, chat, []byte("next"))
}

func testApplyFnError(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7004
	sentinel := &fnError{code: 9}
	mustApply(t, s, chat, 1, ownerA, change("kept", "m1"))
	_, err := s.Apply(t.Context(), chat, 2, ownerA, longLease, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("lost"), Outbox: [][]byte{[]byte("lost")}}, sentinel
	})
	var fe *fnError
	if !errors.As(err, &fe) || fe != sentinel {
		t.Fatalf("Apply with a failing fn = %v; want the fn's error", err)
	}
	wantValue(t, s, chat, []byte("kept"))
	wantOutbox(t, s, chat, "m1")
	// The id is not remembered: a retry applies.
	calls := 0
	a := mustApply(t, s, chat, 2, ownerA, func(cur []byte) (store.Change, error) {
		calls++
		return store.Change{Session: []byte("retried"), Outbox: [][]byte{[]byte("m2")}}, nil
	})
	if a.Duplicate || calls == 0 {
		t.Errorf("retry of the failed update = %+v after %d fn calls; want applied", a, calls)
	}
	wantValue(t, s, chat, []byte("retried"))
	wantOutbox(t, s, chat, "m1", "m2")

	// On a new chat, nothing is created at all.
	_, err = s.Apply(t.Context(), chat+1, 1, ownerA, longLease, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("new"), Outbox: [][]byte{[]byte("new")}}, errors.New("no")
	})
	if err == nil {
		t.Fatalf("Apply with a failing fn = nil error")
	}
	wantMissing(t, s, chat+1)
	wantOutbox(t, s, chat+1)
	if pending(t, s)[chat+1] {
		t.Errorf("PendingChats reports chat %d after a failed Apply", chat+1)
	}
	if !acquire(t, s, chat+1, ownerB, longLease) {
		t.Errorf("a failed Apply left chat %d's send lease taken", chat+1)
	}
}

func testApplyCancelled(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 7005
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := s.Apply(ctx, chat, 1, ownerA, longLease, change("no", "no"))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Apply with a cancelled context = %v; want an error wrapping context.Canceled", err)
	}
	wantMissing(t, s, chat)
	wantOutbox(t, s, chat)
	if a := mustApply(t, s, chat, 1, ownerA, change("yes")); a.Duplicate {
		t.Errorf("Apply after a cancelled one = duplicate; want applied")
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

func testConcurrentApply(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const (
		chat    = int64(7201)
		writers = 8
		updates = 50
		// A writer starts update i once every writer finished update
		// i-slack, so that no update id falls below the 64 remembered.
		slack = 4
	)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var (
		mu   sync.Mutex
		cond = sync.NewCond(&mu)
		done [writers]int // updates each writer finished
	)
	finished := func(w, n int) {
		mu.Lock()
		done[w] = n
		mu.Unlock()
		cond.Broadcast()
	}
	waitTurn := func(i int) {
		mu.Lock()
		defer mu.Unlock()
		for slices.Min(done[:]) < i-slack {
			cond.Wait()
		}
	}
	id := func(w, i int) int64 { return int64(i*writers + w + 1) }
	count := func(cur []byte, msg string) (store.Change, error) {
		next, err := increment(cur)
		return store.Change{Session: next, Outbox: [][]byte{[]byte(msg)}}, err
	}

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			defer finished(w, updates+slack+1) // let the others go on if this one fails
			for i := range updates {
				waitTurn(i)
				msg := fmt.Sprintf("%d:%d", w, i)
				a, err := s.Apply(ctx, chat, id(w, i), "writer-"+strconv.Itoa(w), longLease,
					func(cur []byte) (store.Change, error) { return count(cur, msg) })
				if err != nil {
					t.Errorf("writer %d: Apply of update %d: %v", w, id(w, i), err)
					return
				}
				if a.Duplicate || len(a.Outbox) != 1 {
					t.Errorf("writer %d: Apply of new update %d = %+v; want applied with one message", w, id(w, i), a)
					return
				}
				// Redeliveries of this update and of the previous one.
				for _, dup := range []int64{id(w, i), id(w, max(i-1, 0))} {
					a, err := s.Apply(ctx, chat, dup, "writer-"+strconv.Itoa(w), longLease,
						func([]byte) (store.Change, error) {
							t.Errorf("writer %d: Apply of applied update %d called fn", w, dup)
							return store.Change{Session: []byte("wrong")}, nil
						})
					if err != nil {
						t.Errorf("writer %d: Apply of update %d again: %v", w, dup, err)
						return
					}
					if !a.Duplicate {
						t.Errorf("writer %d: Apply of update %d again = %+v; want a duplicate", w, dup, a)
					}
				}
				finished(w, i+1)
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	wantValue(t, s, chat, []byte(strconv.Itoa(writers*updates)))
	msgs := outbox(t, s, chat)
	if len(msgs) != writers*updates {
		t.Fatalf("Outbox(%d) has %d messages; want %d", chat, len(msgs), writers*updates)
	}
	next := make([]int, writers)
	ids := make(map[string]bool)
	for _, m := range msgs {
		ids[m.ID] = true
		w, i, ok := strings.Cut(string(m.Data), ":")
		wn, err1 := strconv.Atoi(w)
		in, err2 := strconv.Atoi(i)
		if !ok || err1 != nil || err2 != nil || wn < 0 || wn >= writers {
			t.Fatalf("Outbox(%d) has message %q; want writer:update", chat, m.Data)
		}
		if in != next[wn] {
			t.Fatalf("Outbox(%d) has writer %d's message %d where %d was due", chat, wn, in, next[wn])
		}
		next[wn]++
	}
	if len(ids) != len(msgs) {
		t.Errorf("Outbox(%d) has %d distinct ids for %d messages", chat, len(ids), len(msgs))
	}
}

func testConcurrentDuplicates(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const (
		chat     = int64(-7202)
		replicas = 8
		updates  = 30
	)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var (
		mu      sync.Mutex
		applied = make(map[int64]int)
	)
	var wg sync.WaitGroup
	for r := range replicas {
		wg.Go(func() {
			for id := int64(1); id <= updates; id++ {
				a, err := s.Apply(ctx, chat, id, "replica-"+strconv.Itoa(r), longLease, func(cur []byte) (store.Change, error) {
					next, err := increment(cur)
					return store.Change{Session: next, Outbox: [][]byte{strconv.AppendInt(nil, id, 10)}}, err
				})
				if err != nil {
					t.Errorf("replica %d: Apply of update %d: %v", r, id, err)
					return
				}
				if !a.Duplicate {
					mu.Lock()
					applied[id]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for id := int64(1); id <= updates; id++ {
		if applied[id] != 1 {
			t.Errorf("update %d applied %d times by %d racing replicas; want once", id, applied[id], replicas)
		}
	}
	wantValue(t, s, chat, []byte(strconv.Itoa(updates)))
	want := make([]string, updates)
	for i := range want {
		want[i] = strconv.Itoa(i + 1)
	}
	wantOutbox(t, s, chat, want...)
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

func testApplyExpiry(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, shortTTL)
	const chat = 7401
	mustApply(t, s, chat, 1, ownerA, change("short-lived", "m1"))
	eventually(t, "the session expiring", func() bool {
		_, ok, err := s.Get(t.Context(), chat)
		if err != nil {
			t.Fatalf("Get(%d): %v", chat, err)
		}
		return !ok
	})
	eventually(t, "the outbox expiring with the session", func() bool { return len(outbox(t, s, chat)) == 0 })
	if pending(t, s)[chat] {
		t.Errorf("PendingChats reports chat %d after it expired", chat)
	}
	// The update ids expired too: the update applies afresh, on nothing.
	var seen []byte
	written := time.Now()
	a := mustApply(t, s, chat, 1, ownerA, func(cur []byte) (store.Change, error) {
		seen = cur
		return store.Change{Session: []byte("again"), Outbox: [][]byte{[]byte("m2")}}, nil
	})
	if a.Duplicate || seen != nil {
		t.Errorf("Apply of update 1 after the chat expired = %+v, fn saw %q; want applied on nil", a, seen)
	}
	msgs := outbox(t, s, chat)
	if time.Since(written) < safelyWithinTTL {
		if got := msgData(msgs); !slices.Equal(got, []string{"m2"}) {
			t.Errorf("Outbox(%d) = %q; want [m2]", chat, got)
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
