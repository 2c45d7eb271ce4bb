package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"go.etcd.io/bbolt"
)

// checkRecord rejects a record's space and key: a space must be a
// non-empty word without ':', '{' or '}', a key must not be empty.
func checkRecord(space, key string) error {
	if space == "" || strings.ContainsAny(space, ":{}") {
		return fmt.Errorf("record space %q is empty or has ':', '{' or '}'", space)
	}
	if key == "" {
		return errors.New("empty record key")
	}
	return nil
}

// checkUpdateRecord rejects UpdateRecord's space, key (see checkRecord) and
// a TTL under a millisecond.
func checkUpdateRecord(space, key string, ttl time.Duration) error {
	if err := checkRecord(space, key); err != nil {
		return err
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("TTL %v is shorter than a millisecond", ttl)
	}
	return nil
}

// recordKey is a record's key: "<prefix>rec:{<space>:<key>}", which no
// chat's key ("<prefix>{chat:...") and no other record's can be.
func (r *Redis) recordKey(space, key string) string {
	return r.prefix + "rec:{" + space + ":" + key + "}"
}

// GetRecord implements [Store]: one HGET.
func (r *Redis) GetRecord(ctx context.Context, space, key string) ([]byte, bool, error) {
	if err := checkRecord(space, key); err != nil {
		return nil, false, fmt.Errorf("store: redis get record: %w", err)
	}
	s, err := r.client.HGet(ctx, r.recordKey(space, key), "data").Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: redis get record: %w", err)
	}
	return []byte(s), true, nil
}

// UpdateRecord implements [Store]: a record is a hash like a session (data
// and rev) written with the same compare-and-set script, so a lost race is
// retried as in Update. A record this process wrote last is tried from the
// store's record cache without reading it first (one round trip, not two);
// the script refuses a stale copy, which is then read and tried again.
func (r *Redis) UpdateRecord(ctx context.Context, space, key string, ttl time.Duration,
	fn func(cur []byte) ([]byte, error)) error {
	if err := checkUpdateRecord(space, key, ttl); err != nil {
		return fmt.Errorf("store: redis update record: %w", err)
	}
	k := r.recordKey(space, key)
	rev, cur, known := r.records.lookup(k)
	for attempt := range redisMaxAttempts {
		if attempt > 1 || (attempt == 1 && !known) {
			if err := pause(ctx, attempt); err != nil {
				return fmt.Errorf("store: redis update record: %w", err)
			}
		}
		if attempt > 0 || !known {
			var err error
			if rev, cur, err = r.readRecord(ctx, k); err != nil {
				return err
			}
		}
		next, err := fn(cur)
		if err != nil {
			return err
		}
		if next == nil && rev == "" {
			return nil
		}
		op := "1"
		if next == nil {
			op = "0"
		}
		newRev := rand.Text()
		res, err := r.cas.Run(ctx, r.client, []string{k}, rev, newRev, op, next, millis(ttl)).Int64()
		if err != nil {
			r.records.drop(k)
			return fmt.Errorf("store: redis update record: %w", err)
		}
		if res == 1 {
			if next == nil {
				r.records.drop(k)
			} else {
				r.records.put(k, newRev, next)
			}
			return nil
		}
		r.records.drop(k)
	}
	return fmt.Errorf("store: redis update record: gave up after %d attempts: %w", redisMaxAttempts, ErrContention)
}

// readRecord reads a record's revision and data ("" and nil when none).
func (r *Redis) readRecord(ctx context.Context, k string) (rev string, cur []byte, err error) {
	vals, err := r.client.HMGet(ctx, k, "rev", "data").Result()
	if err != nil {
		return "", nil, fmt.Errorf("store: redis read record: %w", err)
	}
	if len(vals) == 2 {
		rev, _ = vals[0].(string)
		if s, ok := vals[1].(string); ok {
			cur = []byte(s)
		}
	}
	return rev, cur, nil
}

// DeleteRecord implements [Store]: one DEL.
func (r *Redis) DeleteRecord(ctx context.Context, space, key string) error {
	if err := checkRecord(space, key); err != nil {
		return fmt.Errorf("store: redis delete record: %w", err)
	}
	r.records.drop(r.recordKey(space, key))
	if err := r.client.Del(ctx, r.recordKey(space, key)).Err(); err != nil {
		return fmt.Errorf("store: redis delete record: %w", err)
	}
	return nil
}

// boltRecordKey is a record's key in the "records" bucket.
func boltRecordKey(space, key string) []byte { return []byte(space + ":" + key) }

// GetRecord implements [Store].
func (b *Bolt) GetRecord(ctx context.Context, space, key string) ([]byte, bool, error) {
	if err := checkRecord(space, key); err != nil {
		return nil, false, fmt.Errorf("store: bolt get record: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("store: bolt get record: %w", err)
	}
	var value []byte
	var ok bool
	err := b.db.View(func(tx *bbolt.Tx) error {
		bs, err := boltBuckets(tx, boltRecords)
		if err != nil {
			return err
		}
		if data, live := liveData(bs[0].Get(boltRecordKey(space, key)), b.now().UnixNano()); live {
			value, ok = bytes.Clone(data), true
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: bolt get record: %w", err)
	}
	return value, ok, nil
}

// UpdateRecord implements [Store]: fn runs inside a write transaction, once.
func (b *Bolt) UpdateRecord(ctx context.Context, space, key string, ttl time.Duration,
	fn func(cur []byte) ([]byte, error)) error {
	if err := checkUpdateRecord(space, key, ttl); err != nil {
		return fmt.Errorf("store: bolt update record: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt update record: %w", err)
	}
	var fnErr error
	err := b.update(func(tx *bbolt.Tx) error {
		bs, err := boltBuckets(tx, boltRecords)
		if err != nil {
			return err
		}
		k := boltRecordKey(space, key)
		now := b.now()
		var cur []byte
		if data, live := liveData(bs[0].Get(k), now.UnixNano()); live {
			cur = bytes.Clone(data)
		}
		next, err := fn(cur)
		if err != nil {
			fnErr = err
			return err
		}
		if next == nil {
			return deleteExpiring(tx, boltRecords, k)
		}
		return putExpiring(tx, boltRecords, k, encodeRecord(now.Add(ttl), next))
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: bolt update record: %w", err)
	}
	return nil
}

// DeleteRecord implements [Store].
func (b *Bolt) DeleteRecord(ctx context.Context, space, key string) error {
	if err := checkRecord(space, key); err != nil {
		return fmt.Errorf("store: bolt delete record: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt delete record: %w", err)
	}
	err := b.update(func(tx *bbolt.Tx) error {
		return deleteExpiring(tx, boltRecords, boltRecordKey(space, key))
	})
	if err != nil {
		return fmt.Errorf("store: bolt delete record: %w", err)
	}
	return nil
}
