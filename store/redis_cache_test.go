package store_test

import (
	"slices"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// Two replicas on one Redis, each with its session cache: a replica writes
// a chat it wrote last in one round trip, sees what the other wrote (one
// round trip more), and never overwrites it or applies an update twice.
func TestRedisSessionCache(t *testing.T) {
	url, a, b, prefix := twoReplicas(t)
	ctx := t.Context()
	const chat = 41
	names := map[*store.Redis]string{a: "a", b: "b"}

	// apply applies update id on replica r, writing next, and checks what fn
	// saw last (want) and the round trips it took (trips, 0: not checked).
	apply := func(r *store.Redis, id int64, want, next string, trips uint64, dup bool) {
		t.Helper()
		var saw string
		before := r.RoundTrips()
		got, err := r.Apply(ctx, chat, id, "owner-"+names[r], time.Minute, func(cur []byte) (store.Change, error) {
			saw = string(cur)
			return store.Change{Session: []byte(next), Outbox: [][]byte{[]byte(next)}}, nil
		})
		n := r.RoundTrips() - before
		switch {
		case err != nil:
			t.Fatalf("%s.Apply(%d) = %v", names[r], id, err)
		case got.Duplicate != dup:
			t.Errorf("%s.Apply(%d) = %+v; want Duplicate %v", names[r], id, got, dup)
		case !dup && saw != want:
			t.Errorf("%s.Apply(%d): fn saw %q last; want %q", names[r], id, saw, want)
		case trips != 0 && n != trips:
			t.Errorf("%s.Apply(%d) took %d round trips; want %d", names[r], id, n, trips)
		}
	}
	update := func(r *store.Redis, want, next string) {
		t.Helper()
		var saw string
		err := r.Update(ctx, chat, func(cur []byte) ([]byte, error) {
			saw = string(cur)
			return []byte(next), nil
		})
		if err != nil || saw != want {
			t.Fatalf("%s.Update: fn saw %q last, err %v; want %q, nil", names[r], saw, err, want)
		}
	}

	apply(a, 1, "", "1", 2, false)  // a new chat: read, then write
	apply(a, 2, "1", "2", 1, false) // a wrote it last: write only
	apply(b, 3, "2", "3", 2, false) // b never saw the chat: read, then write
	apply(a, 4, "3", "4", 2, false) // a's copy is stale: the write answers b's session, written next
	apply(a, 5, "4", "5", 1, false) // a wrote it last again
	apply(a, 5, "", "x", 0, true)   // a's own update again: a duplicate
	apply(b, 4, "", "x", 0, true)   // an update a applied, redelivered to b: a duplicate
	apply(b, 6, "5", "6", 2, false) // b's copy was stale; it saw a's session
	update(a, "6", "u")             // Update sees b's write too
	update(b, "u", "v")             // and the other way round
	apply(a, 7, "v", "7", 0, false) // after Updates on both
	if err := b.Delete(ctx, chat); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	apply(a, 8, "", "8", 2, false) // deleted elsewhere: a's copy is not used

	if got, ok, err := a.Get(ctx, chat); err != nil || !ok || string(got) != "8" {
		t.Errorf("Get = %q, %v, %v; want \"8\"", got, ok, err)
	}
	msgs, err := b.Outbox(ctx, chat, 100)
	if err != nil {
		t.Fatalf("Outbox: %v", err)
	}
	var texts []string
	for _, m := range msgs {
		texts = append(texts, string(m.Data))
	}
	if want := []string{"1", "2", "3", "4", "5", "6", "7", "8"}; !slices.Equal(texts, want) {
		t.Errorf("Outbox = %q; want %q (each update once)", texts, want)
	}

	// Without the cache, every write reads first.
	c, err := store.OpenRedis(testLogger(t), url, store.RedisOptions{Prefix: prefix, TTL: time.Hour, CachedSessions: -1})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	names[c] = "uncached"
	apply(c, 9, "8", "9", 2, false)
	apply(c, 10, "9", "10", 2, false)
}

// Two replicas writing one record, each with its record cache: a replica
// writes a record it wrote last in one round trip, sees what the other wrote
// (one round trip more), and never loses the other's write.
func TestRedisRecordCache(t *testing.T) {
	_, a, b, _ := twoReplicas(t)
	ctx := t.Context()
	names := map[*store.Redis]string{a: "a", b: "b"}
	// add appends word to the record on replica r, checks what fn saw last
	// (want) and the round trips it took.
	add := func(r *store.Redis, word, want string, trips uint64) {
		t.Helper()
		var saw string
		before := r.RoundTrips()
		err := r.UpdateRecord(ctx, "desk", "k", time.Hour, func(cur []byte) ([]byte, error) {
			saw = string(cur)
			return append(cur, word...), nil
		})
		if n := r.RoundTrips() - before; err != nil || saw != want || n != trips {
			t.Errorf("%s.UpdateRecord(+%s): fn saw %q, %d round trips, err %v; want %q, %d, nil",
				names[r], word, saw, n, err, want, trips)
		}
	}
	add(a, "1", "", 2)     // a new record: read, then write
	add(a, "2", "1", 1)    // a wrote it last: write only
	add(b, "3", "12", 2)   // b never saw it
	add(a, "4", "123", 3)  // a's copy is stale: refused, read, written
	add(a, "5", "1234", 1) // a wrote it last again
	if err := b.DeleteRecord(ctx, "desk", "k"); err != nil {
		t.Fatal(err)
	}
	add(a, "6", "", 3) // deleted elsewhere: a's copy is refused
	if got, _, err := b.GetRecord(ctx, "desk", "k"); err != nil || string(got) != "6" {
		t.Errorf("GetRecord = %q, %v; want \"6\"", got, err)
	}
}

// twoReplicas opens two stores on one fresh Redis under one prefix, as two
// replicas would.
func twoReplicas(t *testing.T) (url string, a, b *store.Redis, prefix string) {
	t.Helper()
	url = storetest.StartRedis(t)
	a, prefix = openRedis(t, url, time.Hour)
	b, err := store.OpenRedis(testLogger(t), url, store.RedisOptions{Prefix: prefix, TTL: time.Hour})
	if err != nil {
		t.Fatalf("OpenRedis: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return url, a, b, prefix
}
