package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// The subtests of records (GetRecord, UpdateRecord, DeleteRecord).

// wantRecord fails the test unless the record is want (nil: missing).
func wantRecord(t *testing.T, s store.Store, space, key string, want []byte) {
	t.Helper()
	got, ok, err := s.GetRecord(t.Context(), space, key)
	if err != nil {
		t.Fatalf("GetRecord(%q, %q): %v", space, key, err)
	}
	if ok != (want != nil) || string(got) != string(want) {
		t.Fatalf("GetRecord(%q, %q) = %q, %v; want %q, %v", space, key, got, ok, want, want != nil)
	}
}

// setRecord stores value as the record, failing the test on error.
func setRecord(t *testing.T, s store.Store, space, key string, ttl time.Duration, value []byte) {
	t.Helper()
	if err := s.UpdateRecord(t.Context(), space, key, ttl, func([]byte) ([]byte, error) { return value, nil }); err != nil {
		t.Fatalf("UpdateRecord(%q, %q): %v", space, key, err)
	}
}

func testRecords(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	wantRecord(t, s, "desk", "-100", nil)
	setRecord(t, s, "desk", "-100", longTTL, []byte("v1"))
	wantRecord(t, s, "desk", "-100", []byte("v1"))
	var seen []byte
	err := s.UpdateRecord(t.Context(), "desk", "-100", longTTL, func(cur []byte) ([]byte, error) {
		seen = cur
		return append(cur, '+'), nil
	})
	if err != nil || string(seen) != "v1" {
		t.Fatalf("UpdateRecord passed fn %q and returned %v; want v1 and nil", seen, err)
	}
	wantRecord(t, s, "desk", "-100", []byte("v1+"))
	boom := errors.New("boom")
	if err := s.UpdateRecord(t.Context(), "desk", "-100", longTTL, func([]byte) ([]byte, error) { return []byte("x"), boom }); !errors.Is(err, boom) {
		t.Errorf("UpdateRecord with fn failing = %v; want fn's error", err)
	}
	wantRecord(t, s, "desk", "-100", []byte("v1+"))
	if err := s.UpdateRecord(t.Context(), "desk", "-100", longTTL, func([]byte) ([]byte, error) { return nil, nil }); err != nil {
		t.Fatalf("UpdateRecord to nil: %v", err)
	}
	wantRecord(t, s, "desk", "-100", nil)
	setRecord(t, s, "topic", "-100:7", longTTL, []byte("42"))
	if err := s.DeleteRecord(t.Context(), "topic", "-100:7"); err != nil {
		t.Fatalf("DeleteRecord: %v", err)
	}
	wantRecord(t, s, "topic", "-100:7", nil)
	if err := s.DeleteRecord(t.Context(), "topic", "-100:7"); err != nil {
		t.Errorf("DeleteRecord of a missing record: %v", err)
	}
	for _, c := range []struct{ space, key string }{{"", "k"}, {"a:b", "k"}, {"a{", "k"}, {"desk", ""}} {
		if _, _, err := s.GetRecord(t.Context(), c.space, c.key); err == nil {
			t.Errorf("GetRecord(%q, %q) = nil error; want a refusal", c.space, c.key)
		}
		if err := s.UpdateRecord(t.Context(), c.space, c.key, longTTL, func([]byte) ([]byte, error) { return []byte("x"), nil }); err == nil {
			t.Errorf("UpdateRecord(%q, %q) = nil error; want a refusal", c.space, c.key)
		}
	}
	if err := s.UpdateRecord(t.Context(), "desk", "k", 0, func([]byte) ([]byte, error) { return []byte("x"), nil }); err == nil {
		t.Errorf("UpdateRecord with no TTL = nil error; want a refusal")
	}
}

// A record never shares a key with a chat, nor with a record of another
// space: a session under the same number, or an update claiming to be
// that chat, leaves it as it is.
func testRecordsApart(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	const chat = -1001234567890
	setRecord(t, s, "desk", "-1001234567890", longTTL, []byte("desk record"))
	setRecord(t, s, "topic", "-1001234567890", longTTL, []byte("topic entry"))
	set(t, s, chat, []byte("a session"))
	mustApply(t, s, chat, 1, ownerA, change("an update's session", "m"))
	wantRecord(t, s, "desk", "-1001234567890", []byte("desk record"))
	wantRecord(t, s, "topic", "-1001234567890", []byte("topic entry"))
	wantValue(t, s, chat, []byte("an update's session"))
	if err := inspect(t, s).Forget(t.Context(), chat); err != nil {
		t.Fatalf("Forget(%d): %v", chat, err)
	}
	wantRecord(t, s, "desk", "-1001234567890", []byte("desk record"))
	if ks := keys(t, s, chat); len(ks) != 0 {
		t.Errorf("Keys(%d) with only records under that number = %q; want none", chat, ks)
	}
}

func testRecordExpiry(t *testing.T, open func(*testing.T, time.Duration) store.Store) {
	s := open(t, longTTL)
	written := time.Now()
	setRecord(t, s, "topic", "short", shortTTL, []byte("short-lived"))
	setRecord(t, s, "topic", "long", longTTL, []byte("long-lived"))
	eventually(t, "the record expiring", func() bool {
		_, ok, err := s.GetRecord(t.Context(), "topic", "short")
		if err != nil {
			t.Fatalf("GetRecord: %v", err)
		}
		return !ok
	})
	if age := time.Since(written); age < shortTTL-50*time.Millisecond {
		t.Errorf("a record written with a TTL of %v expired after %v", shortTTL, age)
	}
	wantRecord(t, s, "topic", "long", []byte("long-lived"))
}
