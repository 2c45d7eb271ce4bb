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

// The subtests of Apply: sessions, messages, duplicates and races. Each uses
// chat ids of its own.

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
	first := []string{"hello", "", string(all), "Olá — ✓"}
	wantOutbox(t, s, chat, first...)
	applyAppends(t, s, chat, first)
	applyDeletes(t, s, chat, append(first, "second"))
}

// applyAppends checks, after testApply's first update, that the next one
// sees the session and appends after the first messages.
func applyAppends(t *testing.T, s store.Store, chat int64, first []string) {
	t.Helper()
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
	msgs := wantOutbox(t, s, chat, append(first, "second")...)
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
}

// applyDeletes checks, after applyAppends, an update without messages whose
// nil session deletes the chat's, leaving the outbox (msgs) as it is.
func applyDeletes(t *testing.T, s store.Store, chat int64, msgs []string) {
	t.Helper()
	c := mustApply(t, s, chat, 102, ownerA, func([]byte) (store.Change, error) { return store.Change{}, nil })
	if c.Duplicate || len(c.Outbox) != 0 {
		t.Errorf("Apply with no change = %+v; want applied, no messages", c)
	}
	wantMissing(t, s, chat)
	wantOutbox(t, s, chat, msgs...)
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
	wantEveryWriter(t, s, chat, writers, updates)
}

// wantEveryWriter checks the outbox testConcurrentApply leaves: each
// writer's messages "writer:update", all of them, in the writer's order,
// with distinct ids.
func wantEveryWriter(t *testing.T, s store.Store, chat int64, writers, updates int) {
	t.Helper()
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
