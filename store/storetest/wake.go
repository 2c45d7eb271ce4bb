package storetest

import (
	"context"
	"errors"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// The subtests of wake times (Change.Wake, Due, SetWake) and of forgetting
// (Change.Forget, Store.Forget, Keys). Due takes the time as an argument, so
// they need no waiting: wake times are around wakeBase, far from the real
// clock, and every subtest opens a store of its own.

var wakeBase = time.Date(2031, 5, 6, 7, 8, 9, 0, time.UTC)

const (
	// the claim of the subtests that are not about claims
	claimFor = time.Minute
	// later than every wake time the subtests set
	farFuture = 100 * 365 * 24 * time.Hour
)

// due returns what Due(now, n, claimFor) claims, failing the test on error.
func due(t *testing.T, s store.Store, now time.Time, n int) []int64 {
	t.Helper()
	chats, err := s.Due(t.Context(), now, n, claimFor)
	if err != nil {
		t.Fatalf("Due(%v, %d): %v", now, n, err)
	}
	return chats
}

// setWake calls SetWake, failing the test on error.
func setWake(t *testing.T, s store.Store, chat int64, at time.Time) {
	t.Helper()
	if err := s.SetWake(t.Context(), chat, at); err != nil {
		t.Fatalf("SetWake(%d, %v): %v", chat, at, err)
	}
}

// wantWake fails the test unless chat's wake time is at: the chat is not due
// a millisecond before, and due at it. Due claims it, so its wake time is
// then set back to at. No other chat of s may be due by at, for it would be
// claimed too.
func wantWake(t *testing.T, s store.Store, chat int64, at time.Time) {
	t.Helper()
	if got := due(t, s, at.Add(-time.Millisecond), 1000); slices.Contains(got, chat) {
		t.Fatalf("Due(%v) = %v claims chat %d; want its wake time %v", at.Add(-time.Millisecond), got, chat, at)
	}
	if got := due(t, s, at, 1000); !slices.Contains(got, chat) {
		t.Fatalf("Due(%v) = %v does not claim chat %d; want its wake time %v", at, got, chat, at)
	}
	setWake(t, s, chat, at)
}

// wantNoWake fails the test unless chat has no wake time. It claims every
// chat of s that has one.
func wantNoWake(t *testing.T, s store.Store, chat int64) {
	t.Helper()
	if got := due(t, s, wakeBase.Add(farFuture), 1000); slices.Contains(got, chat) {
		t.Fatalf("Due(far future) = %v claims chat %d; want it without a wake time", got, chat)
	}
}

// wake is an Apply fn storing session and msgs with the given Wake.
func wake(at time.Time, session string, msgs ...string) func([]byte) (store.Change, error) {
	return func(cur []byte) (store.Change, error) {
		c, err := change(session, msgs...)(cur)
		c.Wake = at
		return c, err
	}
}

// forget is an Apply fn forgetting the chat, with msgs and the given Wake.
func forget(at time.Time, msgs ...string) func([]byte) (store.Change, error) {
	return func([]byte) (store.Change, error) {
		c := store.Change{Forget: true, Wake: at}
		for _, m := range msgs {
			c.Outbox = append(c.Outbox, []byte(m))
		}
		return c, nil
	}
}

// keys returns Keys(chat), failing the test on error.
func keys(t *testing.T, s store.Store, chat int64) []string {
	t.Helper()
	ks, err := inspect(t, s).Keys(t.Context(), chat)
	if err != nil {
		t.Fatalf("Keys(%d): %v", chat, err)
	}
	return ks
}

// An Apply's Wake only ever moves the chat's wake time earlier; a
// duplicate, a failing fn or a refused change move nothing.
func testWakeApply(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat, other = 8001, 8002
	T := wakeBase
	mustApply(t, s, other, 1, ownerA, change("no wake"))
	if got := due(t, s, T.Add(farFuture), 10); len(got) != 0 {
		t.Fatalf("Due with no wake time set = %v; want none", got)
	}

	mustApply(t, s, chat, 1, ownerA, wake(T.Add(10*time.Minute), "s1"))
	wantWake(t, s, chat, T.Add(10*time.Minute))
	mustApply(t, s, chat, 2, ownerA, wake(T.Add(20*time.Minute), "s2"))
	wantWake(t, s, chat, T.Add(10*time.Minute)) // the earlier stays
	mustApply(t, s, chat, 3, ownerA, wake(T.Add(5*time.Minute), "s3"))
	wantWake(t, s, chat, T.Add(5*time.Minute))
	mustApply(t, s, chat, 4, ownerA, change("s4")) // zero Wake: as it is
	wantWake(t, s, chat, T.Add(5*time.Minute))
	// Not an update (id 0), with messages.
	mustApply(t, s, chat, 0, ownerA, wake(T.Add(4*time.Minute), "s5", "m"))
	wantWake(t, s, chat, T.Add(4*time.Minute))

	// A duplicate does nothing (fn is not even called).
	if a := mustApply(t, s, chat, 3, ownerA, notCalled(t, "duplicate")); !a.Duplicate {
		t.Fatalf("Apply of update 3 again = %+v; want a duplicate", a)
	}
	wantWake(t, s, chat, T.Add(4*time.Minute))
	// A failing fn stores no wake time.
	sentinel := errors.New("no")
	_, err := s.Apply(t.Context(), chat, 6, ownerA, longLease, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("lost"), Wake: T.Add(time.Minute)}, sentinel
	})
	if !errors.Is(err, sentinel) {
		t.Fatalf("Apply with a failing fn = %v; want its error", err)
	}
	wantWake(t, s, chat, T.Add(4*time.Minute))
	// Nor does a refused change: Forget with a session.
	_, err = s.Apply(t.Context(), chat, 6, ownerA, longLease, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("lost"), Forget: true, Wake: T.Add(time.Minute)}, nil
	})
	if err == nil {
		t.Fatalf("Apply of a change both forgetting and storing a session = nil error")
	}
	wantWake(t, s, chat, T.Add(4*time.Minute))
	wantValue(t, s, chat, []byte("s5"))

	// Wake times are whole milliseconds, truncated: the same instant as
	// Due's now is due.
	at := T.Add(3*time.Minute + 300*time.Microsecond)
	mustApply(t, s, chat, 6, ownerA, wake(at, "s6"))
	wantWake(t, s, chat, T.Add(3*time.Minute))
	if got := due(t, s, at, 10); !slices.Equal(got, []int64{chat}) {
		t.Fatalf("Due at the very wake time %v = %v; want [%d]", at, got, chat)
	}
	setWake(t, s, chat, T.Add(3*time.Minute))

	// Before 1970 too.
	old := time.Date(1969, 7, 20, 20, 17, 40, 0, time.UTC)
	mustApply(t, s, chat, 7, ownerA, wake(old, "s7"))
	wantWake(t, s, chat, old)

	// The chat without a wake time was never offered.
	if got := due(t, s, T.Add(farFuture), 10); !slices.Equal(got, []int64{chat}) {
		t.Errorf("Due(far future) = %v; want [%d] only", got, chat)
	}
}

// Due claims the chats due, oldest first, at most n, and claims them for a
// while; SetWake and Apply's Wake feed it alike.
func testDue(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	T := wakeBase
	chats := []int64{-5, 8101, math.MinInt64, math.MaxInt64, -1001234567890}
	for i, chat := range chats {
		at := T.Add(time.Duration(i+1) * time.Minute)
		if i == 1 {
			mustApply(t, s, chat, 1, ownerA, wake(at, "s"))
			continue
		}
		setWake(t, s, chat, at)
	}
	const late = int64(8199)
	setWake(t, s, late, T.Add(time.Hour))
	now := T.Add(5 * time.Minute)

	if got := due(t, s, T, 10); len(got) != 0 {
		t.Fatalf("Due before every wake time = %v; want none", got)
	}
	for _, n := range []int{0, -1} {
		if got := due(t, s, now, n); len(got) != 0 {
			t.Errorf("Due(n=%d) = %v; want none", n, got)
		}
	}
	if _, err := s.Due(t.Context(), now, 10, 0); err == nil {
		t.Errorf("Due with a zero claim = nil error")
	}
	if _, err := s.Due(t.Context(), now, 10, time.Microsecond); err == nil {
		t.Errorf("Due with a claim under a millisecond = nil error")
	}
	// n and the order; claimed chats are not offered again.
	if got := due(t, s, now, 2); !slices.Equal(got, chats[:2]) {
		t.Fatalf("Due(now, 2) = %v; want the oldest two %v", got, chats[:2])
	}
	if got := due(t, s, now, 10); !slices.Equal(got, chats[2:]) {
		t.Fatalf("Due(now, 10) = %v; want the other three %v", got, chats[2:])
	}
	if got := due(t, s, now, 10); len(got) != 0 {
		t.Fatalf("Due(now) right after claiming everything due = %v; want none", got)
	}
	// The claim runs out at now+claimFor: all five come back.
	if got := due(t, s, now.Add(claimFor-time.Millisecond), 10); len(got) != 0 {
		t.Fatalf("Due a millisecond before the claim runs out = %v; want none", got)
	}
	got := due(t, s, now.Add(claimFor), 10)
	if !sameSet(got, chats) {
		t.Fatalf("Due when the claim ran out = %v; want %v in any order", got, chats)
	}
	// The caller sets the real next wake times.
	setWake(t, s, chats[0], T.Add(2*time.Hour))
	for _, chat := range chats[1:] {
		setWake(t, s, chat, time.Time{})
	}
	if got := due(t, s, T.Add(time.Hour), 10); !slices.Equal(got, []int64{late}) {
		t.Fatalf("Due(T+1h) = %v; want [%d]", got, late)
	}
	if got := due(t, s, T.Add(farFuture), 10); !slices.Equal(got, []int64{late, chats[0]}) {
		t.Errorf("Due(far future) = %v; want [%d %d]", got, late, chats[0])
	}
}

// sameSet tells whether a and b hold the same ids, each once.
func sameSet(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// Replicas calling Due at once never get the same chat.
func testDueConcurrent(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const (
		chats    = 60
		replicas = 6
		first    = int64(9000)
	)
	T := wakeBase
	for i := range int64(chats) {
		setWake(t, s, first+i, T.Add(time.Duration(i)*time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	var (
		mu     sync.Mutex
		got    = make(map[int64]int)
		wg     sync.WaitGroup
		now    = T.Add(time.Minute)
		claims = time.Hour
	)
	for r := range replicas {
		wg.Go(func() {
			for {
				batch, err := s.Due(ctx, now, 4, claims)
				if err != nil {
					t.Errorf("replica %d: Due: %v", r, err)
					return
				}
				if len(batch) == 0 {
					return
				}
				if !slices.IsSorted(batch) { // wake times increase with the ids
					t.Errorf("replica %d: Due = %v; want oldest first", r, batch)
				}
				mu.Lock()
				for _, chat := range batch {
					got[chat]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for i := range int64(chats) {
		if n := got[first+i]; n != 1 {
			t.Errorf("chat %d claimed %d times by %d replicas; want once", first+i, n, replicas)
		}
	}
	if len(got) != chats {
		t.Errorf("%d chats claimed; want %d", len(got), chats)
	}
}

// SetWake sets the wake time exactly, later or earlier; zero removes it.
func testSetWake(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 8201
	T := wakeBase
	setWake(t, s, chat, T.Add(10*time.Minute)) // a chat with nothing stored
	wantWake(t, s, chat, T.Add(10*time.Minute))
	setWake(t, s, chat, T.Add(20*time.Minute))
	wantWake(t, s, chat, T.Add(20*time.Minute))
	setWake(t, s, chat, T.Add(time.Minute))
	wantWake(t, s, chat, T.Add(time.Minute))
	setWake(t, s, chat, time.Time{})
	wantNoWake(t, s, chat)
	setWake(t, s, chat, time.Time{}) // removing what is not there
	setWake(t, s, chat+1, time.Time{})
	// An Apply's Wake on a chat without one sets it.
	mustApply(t, s, chat, 1, ownerA, wake(T.Add(30*time.Minute), "s"))
	wantWake(t, s, chat, T.Add(30*time.Minute))
	// Sub-millisecond: truncated.
	setWake(t, s, chat, T.Add(time.Millisecond-time.Nanosecond))
	wantWake(t, s, chat, T)
}

// Apply with Forget erases the session, the pending messages, the send
// lease and the wake time, keeps the applied ids, and appends its own
// messages after, with new ids.
func testApplyForget(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 8301
	T := wakeBase
	first := mustApply(t, s, chat, 1, ownerA, wake(T.Add(10*time.Minute), "personal", "m1", "m2"))
	if !first.Lease {
		t.Fatalf("first Apply = %+v; want the lease", first)
	}
	var seen []byte
	f, err := s.Apply(t.Context(), chat, 2, ownerB, longLease, func(cur []byte) (store.Change, error) {
		seen = cur
		return store.Change{Forget: true, Outbox: [][]byte{[]byte("bye")}}, nil
	})
	if err != nil {
		t.Fatalf("Apply with Forget: %v", err)
	}
	if string(seen) != "personal" {
		t.Errorf("Apply with Forget passed fn %q; want the session", seen)
	}
	if f.Duplicate || f.Backlog || !f.Lease || len(f.Outbox) != 1 || string(f.Outbox[0].Data) != "bye" {
		t.Fatalf("Apply with Forget by B = %+v; want applied, no backlog, B holding the erased lease, [bye]", f)
	}
	for _, m := range first.Outbox {
		if m.ID == f.Outbox[0].ID {
			t.Errorf("the message after Forget reuses the erased id %s", m.ID)
		}
	}
	wantMissing(t, s, chat)
	msgs := wantOutbox(t, s, chat, "bye")
	if msgs[0].ID != f.Outbox[0].ID {
		t.Errorf("Outbox(%d) = %+v; want the id Apply gave, %s", chat, msgs, f.Outbox[0].ID)
	}
	if !pending(t, s)[chat] {
		t.Errorf("PendingChats does not report chat %d with [bye] pending", chat)
	}
	if acquire(t, s, chat, ownerA, longLease) {
		t.Errorf("AcquireSend(A) after the Forget = true; want A's lease erased and B holding the new one")
	}
	wantNoWake(t, s, chat)
	// The applied ids are kept.
	for _, id := range []int64{1, 2} {
		if a := mustApply(t, s, chat, id, ownerA, notCalled(t, "duplicate after Forget")); !a.Duplicate {
			t.Errorf("Apply of update %d after the Forget = %+v; want a duplicate", id, a)
		}
	}
	wantMissing(t, s, chat)
	// The next update starts from nothing.
	seen = []byte("not called")
	mustApply(t, s, chat, 3, ownerB, func(cur []byte) (store.Change, error) {
		seen = cur
		return store.Change{Session: []byte("new")}, nil
	})
	if seen != nil {
		t.Errorf("Apply after the Forget passed fn %q; want nil", seen)
	}
	wantValue(t, s, chat, []byte("new"))

	forgetWithWake(t, s, chat)
	forgetWithSession(t, s, chat)

	// Forgetting a chat never seen is fine.
	if a := mustApply(t, s, chat+1, 1, ownerA, forget(time.Time{}, "x")); a.Duplicate || !a.Lease {
		t.Errorf("Apply with Forget to a new chat = %+v; want applied with the lease", a)
	}
	wantOutbox(t, s, chat+1, "x")
}

// forgetWithWake continues testApplyForget (update 4, B holding the send
// lease): Forget with Wake makes the wake time exactly Wake, even later
// than the erased one; no message, so no lease is taken, and B's is gone.
func forgetWithWake(t *testing.T, s store.Store, chat int64) {
	t.Helper()
	T := wakeBase
	setWake(t, s, chat, T.Add(time.Minute))
	g := mustApply(t, s, chat, 4, ownerC, forget(T.Add(50*time.Minute)))
	if g.Duplicate || g.Lease || len(g.Outbox) != 0 || g.Backlog {
		t.Errorf("Apply with Forget and no message = %+v; want applied without messages, lease or backlog", g)
	}
	wantMissing(t, s, chat)
	wantOutbox(t, s, chat)
	wantWake(t, s, chat, T.Add(50*time.Minute))
	if !acquire(t, s, chat, ownerC, longLease) {
		t.Errorf("AcquireSend(C) after a Forget erased B's lease = false")
	}
}

// forgetWithSession continues testApplyForget (updates 5 and 6): a Forget
// with a session is refused, and changes nothing.
func forgetWithSession(t *testing.T, s store.Store, chat int64) {
	t.Helper()
	T := wakeBase
	mustApply(t, s, chat, 5, ownerC, wake(T.Add(40*time.Minute), "keep", "kept"))
	_, err := s.Apply(t.Context(), chat, 6, ownerC, longLease, func([]byte) (store.Change, error) {
		return store.Change{Session: []byte("both"), Forget: true, Outbox: [][]byte{[]byte("lost")}}, nil
	})
	if err == nil {
		t.Fatalf("Apply of a change both forgetting and storing a session = nil error")
	}
	wantValue(t, s, chat, []byte("keep"))
	wantOutbox(t, s, chat, "kept")
	wantWake(t, s, chat, T.Add(40*time.Minute))
	if a := mustApply(t, s, chat, 6, ownerC, forget(time.Time{})); a.Duplicate {
		t.Errorf("Apply of update 6 after its refused change = duplicate; want applied")
	}
	wantNoWake(t, s, chat)
}

// Store.Forget erases every key naming the chat; Keys lists them.
func testForget(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat, other = 8401, 8402
	T := wakeBase
	for _, c := range []int64{chat, other} {
		mustApply(t, s, c, 1, ownerA, wake(T.Add(10*time.Minute), "s", "m1", "m2"))
	}
	set(t, s, chat, []byte("by update"))
	before, otherKeys := keys(t, s, chat), keys(t, s, other)
	if len(before) == 0 || len(otherKeys) == 0 {
		t.Fatalf("Keys of chats with a session, messages and a wake time = %q and %q; want some", before, otherKeys)
	}
	if !slices.IsSorted(before) {
		t.Errorf("Keys(%d) = %q; want them sorted", chat, before)
	}
	for _, k := range before {
		if !strings.Contains(k, strconv.Itoa(chat)) {
			t.Errorf("Keys(%d) lists %q, which does not name the chat", chat, k)
		}
		if slices.Contains(otherKeys, k) {
			t.Errorf("Keys(%d) and Keys(%d) both list %q", chat, other, k)
		}
	}
	if ks := keys(t, s, chat+100); len(ks) != 0 {
		t.Errorf("Keys of a chat never written = %q; want none", ks)
	}

	if err := inspect(t, s).Forget(t.Context(), chat); err != nil {
		t.Fatalf("Forget(%d): %v", chat, err)
	}
	if ks := keys(t, s, chat); len(ks) != 0 {
		t.Fatalf("Keys(%d) after Forget = %q; want none", chat, ks)
	}
	wantMissing(t, s, chat)
	wantOutbox(t, s, chat)
	if pending(t, s)[chat] {
		t.Errorf("PendingChats reports chat %d after Forget", chat)
	}
	// The other chat is untouched; the forgotten one has no wake time.
	if got := keys(t, s, other); !slices.Equal(got, otherKeys) {
		t.Errorf("Keys(%d) after Forget(%d) = %q; want %q", other, chat, got, otherKeys)
	}
	if got := due(t, s, T.Add(10*time.Minute), 10); !slices.Equal(got, []int64{other}) {
		t.Errorf("Due after Forget(%d) = %v; want [%d]", chat, got, other)
	}
	wantValue(t, s, other, []byte("s"))
	wantOutbox(t, s, other, "m1", "m2")
	// The lease and the applied ids are gone too.
	if !acquire(t, s, chat, ownerB, longLease) {
		t.Errorf("AcquireSend(%d, B) after Forget = false; want A's lease erased", chat)
	}
	if err := inspect(t, s).Forget(t.Context(), chat); err != nil {
		t.Fatalf("Forget(%d) again: %v", chat, err)
	}
	if a := mustApply(t, s, chat, 1, ownerA, change("again")); a.Duplicate {
		t.Errorf("Apply of update 1 after Forget = duplicate; want applied afresh")
	}
	if err := inspect(t, s).Forget(t.Context(), chat+100); err != nil {
		t.Errorf("Forget of a chat never written: %v", err)
	}
}
