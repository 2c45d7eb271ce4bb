package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// Run is the conformance suite of a [store.Store]. open returns a fresh,
// empty store whose idle expiry is ttl, as is the time an erased chat's
// update ids are kept (the stores' ForgottenTTL option), and arranges (with t.Cleanup) for it
// to be closed. Subtests run in parallel, so open must be safe for
// concurrent use, and two stores it returns must not share chats.
func Run(t *testing.T, open func(t *testing.T, ttl time.Duration) store.Store) {
	t.Helper()
	tests := []struct {
		name string
		test func(t *testing.T, open func(t *testing.T, ttl time.Duration) store.Store)
	}{
		{"GetMissing", testGetMissing},
		{"UpdateCreates", testUpdateCreates},
		{"UpdateSeesPrevious", testUpdateSeesPrevious},
		{"FnErrorStoresNothing", testFnError},
		{"NilDeletes", testNilDeletes},
		{"Delete", testDelete},
		{"ChatsIndependent", testChatsIndependent},
		{"ConcurrentUpdates", testConcurrentUpdates},
		{"Expiry", testExpiry},
		{"WriteRefreshesExpiry", testWriteRefreshesExpiry},
		{"Values", testValues},
		{"ValuesAreCopies", testValuesAreCopies},
		{"CancelledContext", testCancelledContext},
		{"Ping", testPing},

		{"Apply", testApply},
		{"ApplyDuplicate", testApplyDuplicate},
		{"ApplyNotAnUpdate", testApplyNotAnUpdate},
		{"ApplyRecentIDs", testApplyRecentIDs},
		{"ApplyFnError", testApplyFnError},
		{"ApplyCancelled", testApplyCancelled},
		{"OutboxAck", testOutboxAck},
		{"SendLease", testSendLease},
		{"AckExtendsLease", testAckExtendsLease},
		{"AckRelease", testAckRelease},
		{"AckMany", testAckMany},
		{"ApplyLease", testApplyLease},
		{"ReleaseSend", testReleaseSend},
		{"PendingChats", testPendingChats},
		{"ConcurrentApply", testConcurrentApply},
		{"ConcurrentDuplicates", testConcurrentDuplicates},
		{"GlobalLease", testGlobalLease},
		{"LeaseArgs", testLeaseArgs},
		{"ApplyExpiry", testApplyExpiry},

		{"WakeApply", testWakeApply},
		{"Due", testDue},
		{"DueConcurrent", testDueConcurrent},
		{"SetWake", testSetWake},
		{"ApplyForget", testApplyForget},
		{"Forget", testForget},
		{"ForgetLeavesNoID", testForgetLeavesNoID},
		{"ForgottenExpiry", testForgottenExpiry},

		{"Records", testRecords},
		{"RecordsApart", testRecordsApart},
		{"RecordExpiry", testRecordExpiry},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.test(t, open)
		})
	}
}

// longTTL is the expiry of the subtests that are not about expiry.
const longTTL = time.Hour

// inspect is s's [store.Inspector]; the test fails when s has none.
func inspect(t testing.TB, s store.Store) store.Inspector {
	t.Helper()
	in, ok := s.(store.Inspector)
	if !ok {
		t.Fatalf("%T is not a store.Inspector", s)
	}
	return in
}

// set stores value for chat, failing the test on error.
func set(t *testing.T, s store.Store, chat int64, value []byte) {
	t.Helper()
	err := s.Update(t.Context(), chat, func([]byte) ([]byte, error) { return value, nil })
	if err != nil {
		t.Fatalf("Update(%d) to %q: %v", chat, abbrev(value), err)
	}
}

// wantValue fails the test unless chat's value is want.
func wantValue(t *testing.T, s store.Store, chat int64, want []byte) {
	t.Helper()
	got, ok, err := s.Get(t.Context(), chat)
	if err != nil {
		t.Fatalf("Get(%d): %v", chat, err)
	}
	if !ok || !bytes.Equal(got, want) {
		t.Fatalf("Get(%d) = %q, %v; want %q, true", chat, abbrev(got), ok, abbrev(want))
	}
}

// wantMissing fails the test unless chat has no value.
func wantMissing(t *testing.T, s store.Store, chat int64) {
	t.Helper()
	got, ok, err := s.Get(t.Context(), chat)
	if err != nil {
		t.Fatalf("Get(%d): %v", chat, err)
	}
	if ok || got != nil {
		t.Fatalf("Get(%d) = %q, %v; want nil, false", chat, abbrev(got), ok)
	}
}

// abbrev shortens large values in failure messages.
func abbrev(b []byte) []byte {
	if len(b) <= 64 {
		return b
	}
	return fmt.Appendf(nil, "%s…(%d bytes)", b[:32], len(b))
}

func testGetMissing(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	wantMissing(t, s, 1)
	wantMissing(t, s, -1)
}

func testUpdateCreates(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	var seen []byte
	calls := 0
	err := s.Update(t.Context(), 5, func(cur []byte) ([]byte, error) {
		calls++
		seen = cur
		return []byte(`{"state":"start"}`), nil
	})
	if err != nil {
		t.Fatalf("Update(5): %v", err)
	}
	if calls != 1 || seen != nil {
		t.Errorf("Update(5) of a new chat called fn %d times, last with %q; want once with nil", calls, seen)
	}
	wantValue(t, s, 5, []byte(`{"state":"start"}`))
}

func testUpdateSeesPrevious(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	set(t, s, 9, []byte("a"))
	var seen []byte
	err := s.Update(t.Context(), 9, func(cur []byte) ([]byte, error) {
		seen = cur
		return append(bytes.Clone(cur), 'b'), nil
	})
	if err != nil {
		t.Fatalf("Update(9): %v", err)
	}
	if string(seen) != "a" {
		t.Errorf("Update(9) passed fn %q; want %q", seen, "a")
	}
	wantValue(t, s, 9, []byte("ab"))
}

type fnError struct{ code int }

func (e *fnError) Error() string { return "fn failed with code " + strconv.Itoa(e.code) }

func testFnError(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	sentinel := errors.New("flow refused")

	set(t, s, 3, []byte("keep"))
	err := s.Update(t.Context(), 3, func([]byte) ([]byte, error) { return []byte("lost"), sentinel })
	if !errors.Is(err, sentinel) {
		t.Errorf("Update(3) with a failing fn = %v; want %v", err, sentinel)
	}
	wantValue(t, s, 3, []byte("keep"))

	// A failing fn that asks for a delete deletes nothing either.
	err = s.Update(t.Context(), 3, func([]byte) ([]byte, error) { return nil, sentinel })
	if !errors.Is(err, sentinel) {
		t.Errorf("Update(3) with a failing fn = %v; want %v", err, sentinel)
	}
	wantValue(t, s, 3, []byte("keep"))

	// On a new chat, nothing is created; errors.As sees the fn's type.
	err = s.Update(t.Context(), 4, func([]byte) ([]byte, error) { return []byte("new"), &fnError{code: 7} })
	var fe *fnError
	if !errors.As(err, &fe) || fe.code != 7 {
		t.Errorf("Update(4) with a failing fn = %v; want the *fnError with code 7", err)
	}
	wantMissing(t, s, 4)
}

func testNilDeletes(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	set(t, s, 11, []byte("x"))
	if err := s.Update(t.Context(), 11, func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatalf("Update(11) returning nil: %v", err)
	}
	wantMissing(t, s, 11)
	// Returning nil for a chat with no value is fine too.
	if err := s.Update(t.Context(), 12, func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatalf("Update(12) returning nil for a missing chat: %v", err)
	}
	wantMissing(t, s, 12)
	// And the chat can be written again.
	set(t, s, 11, []byte("y"))
	wantValue(t, s, 11, []byte("y"))
}

func testDelete(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	set(t, s, 21, []byte("gone soon"))
	set(t, s, 22, []byte("stays"))
	if err := s.Delete(t.Context(), 21); err != nil {
		t.Fatalf("Delete(21): %v", err)
	}
	wantMissing(t, s, 21)
	wantValue(t, s, 22, []byte("stays"))
	if err := s.Delete(t.Context(), 21); err != nil {
		t.Errorf("Delete(21) again: %v; want nil", err)
	}
	if err := s.Delete(t.Context(), 23); err != nil {
		t.Errorf("Delete(23) of a chat never written: %v; want nil", err)
	}
	// An Update after Delete starts from nothing.
	var seen []byte
	err := s.Update(t.Context(), 21, func(cur []byte) ([]byte, error) {
		seen = cur
		return []byte("back"), nil
	})
	if err != nil {
		t.Fatalf("Update(21) after Delete: %v", err)
	}
	if seen != nil {
		t.Errorf("Update(21) after Delete passed fn %q; want nil", seen)
	}
	wantValue(t, s, 21, []byte("back"))
}

func testChatsIndependent(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	chats := []int64{
		0, 1, -1, 2, 42, -42, 256, -256,
		1<<32 - 1, 1 << 32, -1 << 32,
		-1001234567890, // a Telegram supergroup
		math.MaxInt64, math.MaxInt64 - 1, math.MinInt64, math.MinInt64 + 1,
	}
	value := func(chat int64) []byte { return []byte("chat " + strconv.FormatInt(chat, 10)) }
	for _, chat := range chats {
		set(t, s, chat, value(chat))
	}
	for _, chat := range chats {
		wantValue(t, s, chat, value(chat))
	}
	// Deleting or rewriting one leaves the others alone.
	if err := s.Delete(t.Context(), -1); err != nil {
		t.Fatalf("Delete(-1): %v", err)
	}
	set(t, s, 1, []byte("rewritten"))
	for _, chat := range chats {
		switch chat {
		case -1:
			wantMissing(t, s, chat)
		case 1:
			wantValue(t, s, chat, []byte("rewritten"))
		default:
			wantValue(t, s, chat, value(chat))
		}
	}
}

// increment is an Update fn adding one to a decimal counter.
func increment(cur []byte) ([]byte, error) {
	n := 0
	if cur != nil {
		var err error
		if n, err = strconv.Atoi(string(cur)); err != nil {
			return nil, fmt.Errorf("counter %q: %w", cur, err)
		}
	}
	return strconv.AppendInt(nil, int64(n+1), 10), nil
}

func testConcurrentUpdates(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const (
		hot        = int64(7)
		writers    = 8
		increments = 50
		others     = 4 // goroutines each counting in a chat of their own
	)
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()

	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range increments {
				if err := s.Update(ctx, hot, increment); err != nil {
					t.Errorf("writer %d, increment %d: Update(%d): %v", w, i, hot, err)
					return
				}
			}
		})
	}
	for o := range others {
		chat := -1000 - int64(o)
		wg.Go(func() {
			for i := range increments {
				if err := s.Update(ctx, chat, increment); err != nil {
					t.Errorf("increment %d: Update(%d): %v", i, chat, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	wantValue(t, s, hot, []byte(strconv.Itoa(writers*increments)))
	for o := range others {
		wantValue(t, s, -1000-int64(o), []byte(strconv.Itoa(increments)))
	}
}

const (
	shortTTL = 300 * time.Millisecond
	// A value read within this time of its last write must still be
	// there; beyond it (a very loaded machine) the test cannot tell.
	safelyWithinTTL = shortTTL * 2 / 3
	expiryDeadline  = 10 * time.Second
	pollEvery       = 10 * time.Millisecond
)

func testExpiry(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, shortTTL)
	const chat = 31
	written := time.Now()
	set(t, s, chat, []byte("short-lived"))
	set(t, s, chat+1, []byte("also short-lived"))

	got, ok, err := s.Get(t.Context(), chat)
	if err != nil {
		t.Fatalf("Get(%d): %v", chat, err)
	}
	if !ok && time.Since(written) < safelyWithinTTL {
		t.Fatalf("Get(%d) right after writing = %q, %v; want %q, true", chat, got, ok, "short-lived")
	}

	deadline := time.Now().Add(expiryDeadline)
	for {
		got, ok, err := s.Get(t.Context(), chat)
		if err != nil {
			t.Fatalf("Get(%d): %v", chat, err)
		}
		if !ok {
			if got != nil {
				t.Fatalf("Get(%d) of an expired value = %q, false; want nil, false", chat, got)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get(%d) = %q, true %v after writing with a TTL of %v; want it expired",
				chat, got, time.Since(written).Round(time.Millisecond), shortTTL)
		}
		time.Sleep(pollEvery)
	}
	if age := time.Since(written); age < shortTTL-50*time.Millisecond {
		t.Errorf("value of chat %d expired after %v; want about %v", chat, age, shortTTL)
	}

	// An expired value is gone for Update too, and a new write starts over.
	deadline = time.Now().Add(expiryDeadline)
	for {
		_, ok, err := s.Get(t.Context(), chat+1)
		if err != nil {
			t.Fatalf("Get(%d): %v", chat+1, err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Get(%d) = ..., true %v after writing with a TTL of %v; want it expired",
				chat+1, time.Since(written).Round(time.Millisecond), shortTTL)
		}
		time.Sleep(pollEvery)
	}
	var seen []byte
	err = s.Update(t.Context(), chat+1, func(cur []byte) ([]byte, error) {
		seen = cur
		return []byte("fresh"), nil
	})
	if err != nil {
		t.Fatalf("Update(%d): %v", chat+1, err)
	}
	if seen != nil {
		t.Errorf("Update(%d) of an expired value passed fn %q; want nil", chat+1, seen)
	}
	wantValue(t, s, chat+1, []byte("fresh"))
}

func testWriteRefreshesExpiry(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, shortTTL)
	const (
		chat    = 41
		every   = 100 * time.Millisecond
		lasting = 600 * time.Millisecond // twice the TTL
	)
	// Times are taken conservatively: a write happened after the call
	// started, a read before the call returned.
	start := time.Now()
	set(t, s, chat, []byte("0"))
	lastWrite := start
	writes := 1
	checked := 0 // rewrites that proved the value survived
	for time.Since(start) < lasting {
		time.Sleep(every)
		writing := time.Now()
		var seen []byte
		err := s.Update(t.Context(), chat, func(cur []byte) ([]byte, error) {
			seen = cur
			return strconv.AppendInt(nil, int64(writes), 10), nil
		})
		if err != nil {
			t.Fatalf("Update(%d): %v", chat, err)
		}
		readAt := time.Now()
		if readAt.Sub(lastWrite) < safelyWithinTTL {
			if want := strconv.Itoa(writes - 1); string(seen) != want {
				t.Fatalf("Update(%d) %v after the previous write passed fn %q; want %q (a write must refresh the expiry)",
					chat, readAt.Sub(lastWrite).Round(time.Millisecond), seen, want)
			}
			if time.Since(start) > shortTTL {
				checked++
			}
		} else {
			t.Logf("machine too slow: %v between writes, not checking this one", readAt.Sub(lastWrite))
		}
		lastWrite = writing
		writes++
	}
	got, ok, err := s.Get(t.Context(), chat)
	if err != nil {
		t.Fatalf("Get(%d): %v", chat, err)
	}
	readAt := time.Now()
	if want := strconv.Itoa(writes - 1); readAt.Sub(lastWrite) < safelyWithinTTL && (!ok || string(got) != want) {
		t.Fatalf("Get(%d) = %q, %v %v after %v of rewrites every %v; want %q, true",
			chat, got, ok, time.Since(start).Round(time.Millisecond), lasting, every, want)
	}
	if checked == 0 {
		t.Logf("machine too slow to check that writes refresh the expiry")
	}
}

func testValues(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	rnd := rand.New(rand.NewPCG(1, 2))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rnd.UintN(256))
		}
		return b
	}
	values := map[string][]byte{
		"empty":       {},
		"one zero":    {0},
		"every byte":  all,
		"json":        []byte(`{"v":1,"state":"docs","lang":"pt","docs":[{"id":"passport"}]}`),
		"utf-8":       []byte("Autorização de residência — 2.ª via ✓"),
		"1 KiB":       random(1 << 10),
		"64 KiB - 1":  random(64<<10 - 1),
		"64 KiB":      random(64 << 10),
		"zeros 64KiB": make([]byte, 64<<10),
	}
	chat := int64(100)
	for name, want := range values {
		chat++
		set(t, s, chat, want)
		got, ok, err := s.Get(t.Context(), chat)
		if err != nil {
			t.Fatalf("%s: Get(%d): %v", name, chat, err)
		}
		if !ok || got == nil || !bytes.Equal(got, want) {
			t.Errorf("%s: Get(%d) = %d bytes (nil: %v), %v; want %d bytes, true",
				name, chat, len(got), got == nil, ok, len(want))
		}
		// Update hands fn the same bytes.
		err = s.Update(t.Context(), chat, func(cur []byte) ([]byte, error) {
			if cur == nil || !bytes.Equal(cur, want) {
				t.Errorf("%s: Update(%d) passed fn %d bytes (nil: %v); want %d bytes",
					name, chat, len(cur), cur == nil, len(want))
			}
			return cur, nil
		})
		if err != nil {
			t.Fatalf("%s: Update(%d): %v", name, chat, err)
		}
	}
}

func testValuesAreCopies(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = 51
	in := []byte("original")
	set(t, s, chat, in)
	copy(in, "CHANGED!") // the caller reuses its buffer
	got, _, err := s.Get(t.Context(), chat)
	if err != nil {
		t.Fatalf("Get(%d): %v", chat, err)
	}
	copy(got, "XXXXXXXX") // and scribbles on what it got
	err = s.Update(t.Context(), chat, func(cur []byte) ([]byte, error) {
		copy(cur, "YYYYYYYY") // fn too, and then fails
		return nil, errors.New("no")
	})
	if err == nil {
		t.Fatalf("Update(%d) with a failing fn returned nil", chat)
	}
	wantValue(t, s, chat, []byte("original"))
}

func testCancelledContext(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	const chat = 61
	err := s.Update(ctx, chat, func([]byte) ([]byte, error) { return []byte("must not be stored"), nil })
	if err == nil {
		t.Errorf("Update(%d) with a cancelled context = nil; want an error", chat)
	} else if !errors.Is(err, context.Canceled) {
		t.Errorf("Update(%d) with a cancelled context = %v; want an error wrapping context.Canceled", chat, err)
	}
	wantMissing(t, s, chat)

	set(t, s, chat+1, []byte("kept"))
	if err := s.Update(ctx, chat+1, func([]byte) ([]byte, error) { return nil, nil }); err == nil {
		t.Errorf("Update(%d) deleting with a cancelled context = nil; want an error", chat+1)
	}
	wantValue(t, s, chat+1, []byte("kept"))
}

func testPing(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}
