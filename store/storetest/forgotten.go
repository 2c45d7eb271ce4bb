package storetest

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// The subtests of what an erasure (Change.Forget) leaves: the applied
// update ids under the chat's keyed hash, for a while, and nothing that
// names the chat id once the messages after the erasure are delivered.
// Their chat ids are long, as Telegram's are, so that no key name holds
// one by chance.

// deliver sends the chat's outbox as a sender does: it acknowledges every
// pending message and gives up owner's lease with the last.
func deliver(t *testing.T, s store.Store, chat int64, owner string) {
	t.Helper()
	for _, m := range outbox(t, s, chat) {
		if _, err := s.AckRelease(t.Context(), chat, []string{m.ID}, owner, longLease); err != nil {
			t.Fatalf("AckRelease(%d, %s): %v", chat, m.ID, err)
		}
	}
}

// namingID returns the keys among ks that hold chat in decimal.
func namingID(ks []string, chat int64) []string {
	var bad []string
	for _, k := range ks {
		if strings.Contains(k, strconv.FormatInt(chat, 10)) {
			bad = append(bad, k)
		}
	}
	return bad
}

// wantNoIDEventually waits until no key of the chat names its id, and
// fails unless the erasure's record is left (on Bolt, with its entry in the
// expiry index).
func wantNoIDEventually(t *testing.T, s store.Store, chat int64, when string) {
	t.Helper()
	var ks []string
	eventually(t, "keys naming the chat "+when+" going", func() bool {
		ks = keys(t, s, chat)
		return len(namingID(ks, chat)) == 0
	})
	if len(ks) == 0 {
		t.Errorf("Keys(%d) %s = %q; want the one record the erasure left", chat, when, ks)
	}
}

// After an Apply with Forget and the delivery of its message, nothing the
// store keeps names the chat id; the applied ids are still recognised, and
// a later update and a second erasure work the same way.
func testForgetLeavesNoID(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat, other = 7104285913, 7104285914
	mustApply(t, s, chat, 100, ownerA, change("personal", "m1"))
	mustApply(t, s, other, 100, ownerA, change("other", "o1"))
	deliver(t, s, chat, ownerA)
	mustApply(t, s, chat, 101, ownerA, forget(time.Time{}, "bye"))
	if bad := namingID(keys(t, s, chat), chat); len(bad) == 0 {
		t.Errorf("Keys(%d) with [bye] pending names no key by the chat id; want the outbox", chat)
	}
	wantOutbox(t, s, chat, "bye")
	deliver(t, s, chat, ownerA)
	wantNoIDEventually(t, s, chat, "after the erasure's message was delivered")
	for _, id := range []int64{100, 101} {
		if a := mustApply(t, s, chat, id, ownerB, notCalled(t, "an update applied before the erasure")); !a.Duplicate || a.Lease {
			t.Errorf("Apply(%d, update %d) after the erasure = %+v; want a duplicate, no lease", chat, id, a)
		}
	}
	wantNoIDEventually(t, s, chat, "after duplicates")

	// The applicant comes back: a new update applies on nothing, and the
	// chat's keys name it again until the next erasure.
	var seen []byte
	mustApply(t, s, chat, 102, ownerA, func(cur []byte) (store.Change, error) {
		seen = cur
		return store.Change{Session: []byte("again"), Outbox: [][]byte{[]byte("m2")}}, nil
	})
	if seen != nil {
		t.Errorf("Apply(%d, 102) after the erasure passed fn %q; want nil", chat, seen)
	}
	deliver(t, s, chat, ownerA)
	mustApply(t, s, chat, 103, ownerA, forget(time.Time{}))
	wantNoIDEventually(t, s, chat, "after a second erasure without a message")
	for _, id := range []int64{100, 101, 102, 103} {
		if a := mustApply(t, s, chat, id, ownerB, notCalled(t, "an update applied before an erasure")); !a.Duplicate {
			t.Errorf("Apply(%d, update %d) after the second erasure = %+v; want a duplicate", chat, id, a)
		}
	}
	wantMissing(t, s, chat)
	// The other chat is untouched.
	wantValue(t, s, other, []byte("other"))
	wantOutbox(t, s, other, "o1")
	if a := mustApply(t, s, other, 101, ownerA, change("other 2")); a.Duplicate {
		t.Errorf("Apply(%d, 101) = duplicate; want the other chat's ids its own", other)
	}
	// Store.Forget erases the erasure's record too.
	if err := inspect(t, s).Forget(t.Context(), chat); err != nil {
		t.Fatalf("Forget(%d): %v", chat, err)
	}
	if ks := keys(t, s, chat); len(ks) != 0 {
		t.Errorf("Keys(%d) after Store.Forget = %q; want none", chat, ks)
	}
}

// What an erasure leaves expires after the store's ForgottenTTL (here the
// suite's ttl): the update ids are then no longer recognised.
func testForgottenExpiry(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, shortTTL)
	const chat = 7104285921
	mustApply(t, s, chat, 1, ownerA, change("s"))
	erased := time.Now()
	mustApply(t, s, chat, 2, ownerA, forget(time.Time{}))
	a := mustApply(t, s, chat, 2, ownerA, func([]byte) (store.Change, error) { return store.Change{}, nil })
	if time.Since(erased) < safelyWithinTTL && !a.Duplicate {
		t.Errorf("Apply(%d, 2) right after its erasure = %+v; want a duplicate", chat, a)
	}
	eventually(t, "the erasure's record expiring", func() bool { return len(keys(t, s, chat)) == 0 })
	if age := time.Since(erased); age < shortTTL-50*time.Millisecond {
		t.Errorf("the erasure's record of chat %d expired after %v; want about %v", chat, age, shortTTL)
	}
	if a := mustApply(t, s, chat, 2, ownerA, change("new")); a.Duplicate {
		t.Errorf("Apply(%d, 2) after the erasure's record expired = duplicate; want applied", chat)
	}
}
