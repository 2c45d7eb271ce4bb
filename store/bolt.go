package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"
)

// BoltOptions tunes [OpenBolt]. The zero value is ready to use.
type BoltOptions struct {
	// TTL is the idle expiry; default DefaultTTL.
	TTL time.Duration
	// Now is the clock deciding expiry; default time.Now.
	Now func() time.Time
	// SweepInterval is how often the background goroutine removes expired
	// values; default TTL/10, between a second and an hour. A negative
	// interval disables the goroutine (Sweep still runs at open).
	SweepInterval time.Duration
	// HashSecret keys the [ChatHash] naming what an erasure leaves (see
	// Change.Forget): the bot token in serve. Empty: NewChatHash's fixed key.
	HashSecret string
	// ForgottenTTL is how long an erased chat's applied update ids are
	// kept; default ForgottenTTL.
	ForgottenTTL time.Duration
}

const (
	boltFile        = "aimabot.db"
	boltBucket      = "sessions"
	boltChats       = "chats"     // per chat: expiry, next outbox sequence number, applied ids
	boltOutbox      = "outbox"    // chat key + sequence number: a pending message
	boltWake        = "wake"      // wake time + chat key: the wake index, oldest first
	boltWakeAt      = "wakeat"    // chat key: the chat's wake time (the wake index's key for it)
	boltExpiry      = "expiry"    // expiry + bucket tag + key: when each expiring record expires, soonest first
	boltForgotten   = "forgotten" // ChatHash.Name: what an erasure leaves of a chat, as a chats record
	boltRecords     = "records"   // space + ":" + key: the records of Store.UpdateRecord
	boltLockTimeout = time.Second
	boltBatchDelay  = time.Millisecond
	// Keys a sweep looks at per write transaction, so that a large sweep
	// never holds the write lock for long.
	boltSweepBatch = 10000
)

// Bolt is a [Store] in an embedded bbolt file, for a single process. It is
// safe for concurrent use.
//
// Records are keyed by the chat id as 8 big-endian bytes with the sign bit
// flipped (so keys sort like the ids, negative ones first); the value is the
// expiry time (unix nanoseconds, 8 big-endian bytes) followed by the data.
//
// Five buckets: "sessions" holds the sessions; "chats" holds, per chat
// written by Apply, the expiry, the next outbox sequence number and the
// applied update ids (see chatMeta); "outbox" holds the pending messages,
// keyed by the chat key followed by the message's sequence number (8
// big-endian bytes), so that a chat's messages are contiguous and in order.
// A chat's outbox lives and dies with its "chats" record. "wake" is the wake
// index, keyed by the wake time (unix milliseconds, 8 big-endian bytes with
// the sign bit flipped) followed by the chat key, with empty values, so that
// a cursor finds the chats due oldest first; "wakeat" maps the chat key to
// its wake time, so that the index entry can be found and moved. Both are
// written in the same transactions. "expiry" indexes the expiry of every
// "sessions" and "chats" record (the record's 8 expiry bytes, a tag byte,
// 0 for a session or 1 for a chat record, and the chat key), written with
// the records, so that a sweep reads only what has expired: reading every
// record would bring the whole file into memory. A sweep removing a chat's
// last record (session or "chats" record) removes its wake time too. Send
// leases and global leases live in memory only: one process owns the file.
//
// "forgotten" holds, keyed by the chat's [ChatHash.Name] (never its id),
// what an erasure (Change.Forget) leaves: a record like the chat's "chats"
// one (its expiry ForgottenTTL after the erasure, the next outbox sequence
// number and the applied ids), moved there in the erasure's transaction
// and consulted by every Apply of the chat. "records" holds the records of
// [Bolt.UpdateRecord], keyed by space, ":" and key. Both are in the expiry
// index (tags 2 and 3, followed by their variable-length key).
type Bolt struct {
	logger *slog.Logger
	db     *bbolt.DB
	path   string
	ttl    time.Duration
	now    func() time.Time
	hash   ChatHash
	// how long an erased chat's applied ids are kept
	forgotten time.Duration
	// keys a sweep transaction looks at; boltSweepBatch but in tests
	sweepBatch int

	writers atomic.Int32 // Applies and Acks writing now (see write)
	// writeErr is the error of the last write transaction that bbolt could
	// not commit (a full disk), nil once one commits again: Ping reports
	// it, since reading still works when writing does not.
	writeErr atomic.Pointer[error]

	mu     sync.Mutex           // guards leases; never held while waiting for a write transaction
	leases map[string]boltLease // by sendLeaseKey or globalLeaseKey

	stop      context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// OpenBolt opens (creating if needed) dir/aimabot.db, removes expired values
// and starts the background sweeper. Only one process may have the file open:
// another OpenBolt fails after about a second instead of waiting.
func OpenBolt(logger *slog.Logger, dir string, opts BoltOptions) (*Bolt, error) {
	o, err := resolveOpenOptions("bolt", logger, opts.TTL, opts.ForgottenTTL, 0)
	if err != nil {
		return nil, err
	}
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	interval := opts.SweepInterval
	if interval == 0 {
		interval = min(max(o.ttl/10, time.Second), time.Hour)
	}

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: bolt dir: %w", err)
	}
	path := filepath.Join(dir, boltFile)
	db, err := openBoltDB(path)
	if err != nil {
		return nil, err
	}

	b := &Bolt{
		logger: o.logger,
		db:     db,
		path:   path,
		ttl:    o.ttl,
		now:    now,
		hash:   NewChatHash(opts.HashSecret),

		forgotten: o.forgotten,

		sweepBatch: boltSweepBatch,
		leases:     make(map[string]boltLease),
	}
	removed, err := b.Sweep(context.Background())
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	o.logger.Info("store: using bolt", "path", path, "ttl", o.ttl, "expired_removed", removed)

	if interval > 0 {
		ctx, cancel := context.WithCancel(context.Background())
		b.stop = cancel
		b.done = make(chan struct{})
		go b.sweepLoop(ctx, interval)
	}
	return b, nil
}

// openBoltDB opens the file at path, failing after boltLockTimeout when
// another process has it, and creates the buckets that are missing,
// indexing the expiries of a file written before the expiry index.
func openBoltDB(path string) (*bbolt.DB, error) {
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: boltLockTimeout})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, fmt.Errorf("store: %s is in use by another aimabot process: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("store: bolt open %s: %w", path, err)
	}
	// Concurrent Applies and acknowledgements are batched (see write): a
	// batch waits this long for company before its commit.
	db.MaxBatchDelay = boltBatchDelay
	err = db.Update(func(tx *bbolt.Tx) error {
		indexed := tx.Bucket([]byte(boltExpiry)) != nil
		for _, name := range []string{boltBucket, boltChats, boltOutbox, boltWake, boltWakeAt, boltExpiry, boltForgotten, boltRecords} {
			if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		if !indexed {
			return indexExpiries(tx)
		}
		return nil
	})
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("store: bolt open %s: create bucket: %w", path, err)
	}
	return db, nil
}

func (b *Bolt) sweepLoop(ctx context.Context, interval time.Duration) {
	defer close(b.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		removed, err := b.Sweep(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			b.logger.Warn("store: bolt sweep failed", "err", err)
		case removed > 0:
			b.logger.Debug("store: bolt sweep", "expired_removed", removed)
		}
	}
}

// chatKey encodes chat so that keys sort like the ids.
func chatKey(chat int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(chat)^(1<<63))
}

// encodeRecord lays out a stored value: expiry, then data.
func encodeRecord(expiry time.Time, data []byte) []byte {
	rec := make([]byte, 8, 8+len(data))
	binary.BigEndian.PutUint64(rec, uint64(expiry.UnixNano()))
	return append(rec, data...)
}

// liveData returns the data of rec when it has not expired at now (unix
// nanoseconds). A record too short to hold an expiry counts as expired.
func liveData(rec []byte, now int64) ([]byte, bool) {
	if len(rec) < 8 {
		return nil, false
	}
	if now >= int64(binary.BigEndian.Uint64(rec[:8])) {
		return nil, false
	}
	return rec[8:], true
}

// Get implements [Store].
func (b *Bolt) Get(ctx context.Context, chat int64) ([]byte, bool, error) {
	if err := ctx.Err(); err != nil {
		return nil, false, fmt.Errorf("store: bolt get: %w", err)
	}
	var value []byte
	var ok bool
	err := b.db.View(func(tx *bbolt.Tx) error {
		bucket := tx.Bucket([]byte(boltBucket))
		if bucket == nil {
			return errors.New("sessions bucket missing")
		}
		if data, live := liveData(bucket.Get(chatKey(chat)), b.now().UnixNano()); live {
			// bbolt's memory is only valid inside the transaction.
			value, ok = bytes.Clone(data), true
		}
		return nil
	})
	if err != nil {
		return nil, false, fmt.Errorf("store: bolt get: %w", err)
	}
	return value, ok, nil
}

// Update implements [Store]. fn runs inside a bbolt write transaction, so it
// is called exactly once and no other write happens meanwhile; it should be
// quick.
func (b *Bolt) Update(ctx context.Context, chat int64, fn func(cur []byte) ([]byte, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt update: %w", err)
	}
	var fnErr error
	err := b.update(func(tx *bbolt.Tx) error {
		bucket := tx.Bucket([]byte(boltBucket))
		if bucket == nil {
			return errors.New("sessions bucket missing")
		}
		key := chatKey(chat)
		now := b.now()
		var cur []byte
		if data, live := liveData(bucket.Get(key), now.UnixNano()); live {
			cur = bytes.Clone(data)
		}
		next, err := fn(cur)
		if err != nil {
			fnErr = err
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if next == nil {
			return deleteExpiring(tx, boltBucket, key)
		}
		return putExpiring(tx, boltBucket, key, encodeRecord(now.Add(b.ttl), next))
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("store: bolt update: %w", err)
	}
	return nil
}

// Delete implements [Store].
func (b *Bolt) Delete(ctx context.Context, chat int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt delete: %w", err)
	}
	err := b.update(func(tx *bbolt.Tx) error {
		return deleteExpiring(tx, boltBucket, chatKey(chat))
	})
	if err != nil {
		return fmt.Errorf("store: bolt delete: %w", err)
	}
	return nil
}

// Sweep removes the values that have expired by the store's clock, and the
// applied update ids and pending messages of chats whose records expired,
// and the wake time of a chat when it removes the chat's session or record
// and the other is gone or expired too; it returns how many sessions, chat
// records, records and erasures' records it removed. It also forgets
// expired leases. It works in batches, one write transaction each, and
// stops between batches when ctx is done.
func (b *Bolt) Sweep(ctx context.Context) (removed int, err error) {
	now := b.now().UnixNano()
	b.pruneLeases(b.now())
	for {
		if err := ctx.Err(); err != nil {
			return removed, fmt.Errorf("store: bolt sweep: %w", err)
		}
		n, more, err := b.sweepOne(now)
		if err != nil {
			return removed, fmt.Errorf("store: bolt sweep: %w", err)
		}
		removed += n
		if !more {
			return removed, nil
		}
	}
}

// sweepOne removes the records that have expired by now among the first
// b.sweepBatch entries of the expiry index; removing a chat record also
// removes the chat's outbox, and removing either of a chat's records
// removes its wake time when the other record is not live either. more
// says the batch was full: there may be more to remove.
func (b *Bolt) sweepOne(now int64) (removed int, more bool, err error) {
	err = b.update(func(tx *bbolt.Tx) error {
		bs, err := boltBuckets(tx, boltBucket, boltChats, boltExpiry)
		if err != nil {
			return err
		}
		index := bs[2]
		var due [][]byte
		c := index.Cursor()
		for k, _ := c.First(); k != nil && len(due) < b.sweepBatch; k, _ = c.Next() {
			if len(k) < 9 || len(k) != 17 && k[8] <= expiryTagChat {
				return errors.New("malformed expiry index key")
			}
			if int64(binary.BigEndian.Uint64(k[:8])) > now {
				break
			}
			// Deleting through the cursor while iterating can skip keys;
			// delete after the scan instead.
			due = append(due, bytes.Clone(k))
		}
		more = len(due) == b.sweepBatch
		for _, k := range due {
			if err := index.Delete(k); err != nil {
				return err
			}
			if k[8] > expiryTagChat {
				n, err := sweepPlain(tx, k, now)
				if err != nil {
					return err
				}
				removed += n
				continue
			}
			bucket, other := bs[0], bs[1]
			if k[8] == expiryTagChat {
				bucket, other = bs[1], bs[0]
			}
			key := k[9:]
			v := bucket.Get(key)
			if _, live := liveData(v, now); v == nil || live {
				continue // gone, or written again since: its new expiry has its own entry
			}
			if err := bucket.Delete(key); err != nil {
				return err
			}
			removed++
			if k[8] == expiryTagChat {
				if err := purgeOutbox(tx, key); err != nil {
					return err
				}
			}
			if _, live := liveData(other.Get(key), now); !live {
				if err := removeWake(tx, key); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return removed, more, nil
}

// The expiry index's tag byte: which bucket an entry's record is in.
const (
	expiryTagSession   byte = 0
	expiryTagChat      byte = 1
	expiryTagRecord    byte = 2
	expiryTagForgotten byte = 3
)

// expiryTags maps the expiry index's tag bytes to their buckets.
var expiryTags = [...]string{
	expiryTagSession:   boltBucket,
	expiryTagChat:      boltChats,
	expiryTagRecord:    boltRecords,
	expiryTagForgotten: boltForgotten,
}

// sweepPlain removes the record of an expiry index entry k of a bucket
// with nothing attached (records, forgotten) if it expired by now.
func sweepPlain(tx *bbolt.Tx, k []byte, now int64) (int, error) {
	if int(k[8]) >= len(expiryTags) {
		return 0, errors.New("malformed expiry index key")
	}
	bucket := tx.Bucket([]byte(expiryTags[k[8]]))
	if bucket == nil {
		return 0, fmt.Errorf("%s bucket missing", expiryTags[k[8]])
	}
	v := bucket.Get(k[9:])
	if _, live := liveData(v, now); v == nil || live {
		return 0, nil
	}
	return 1, bucket.Delete(k[9:])
}

// expiryKey is the expiry index's key of a record (rec starts with its
// expiry) of the named bucket under key.
func expiryKey(name string, key, rec []byte) []byte {
	tag := expiryTagSession
	for i, n := range expiryTags {
		if n == name {
			tag = byte(i)
		}
	}
	k := make([]byte, 0, 9+len(key))
	k = append(k, rec[:8]...)
	k = append(k, tag)
	return append(k, key...)
}

// putExpiring writes rec (its expiry first) under key in the named bucket
// (one of expiryTags) and moves the record's expiry index entry.
func putExpiring(tx *bbolt.Tx, name string, key, rec []byte) error {
	bucket, index, err := unindex(tx, name, key)
	if err != nil {
		return err
	}
	if err := bucket.Put(key, rec); err != nil {
		return err
	}
	return index.Put(expiryKey(name, key, rec), nil)
}

// deleteExpiring deletes key's record from the named bucket and its expiry
// index entry.
func deleteExpiring(tx *bbolt.Tx, name string, key []byte) error {
	bucket, _, err := unindex(tx, name, key)
	if err != nil {
		return err
	}
	return bucket.Delete(key)
}

// unindex removes the expiry index entry of key's record in the named
// bucket, and returns that bucket and the index.
func unindex(tx *bbolt.Tx, name string, key []byte) (bucket, index *bbolt.Bucket, err error) {
	bs, err := boltBuckets(tx, name, boltExpiry)
	if err != nil {
		return nil, nil, err
	}
	if old := bs[0].Get(key); len(old) >= 8 {
		if err := bs[1].Delete(expiryKey(name, key, old)); err != nil {
			return nil, nil, err
		}
	}
	return bs[0], bs[1], nil
}

// indexExpiries builds the expiry index of a file written before it
// existed: one read of every record, once.
func indexExpiries(tx *bbolt.Tx) error {
	bs, err := boltBuckets(tx, boltBucket, boltChats, boltExpiry)
	if err != nil {
		return err
	}
	for i, name := range []string{boltBucket, boltChats} {
		err := bs[i].ForEach(func(k, v []byte) error {
			if len(v) < 8 {
				return nil // unreadable: expired at the next sweep of a record written over it, or never read
			}
			return bs[2].Put(expiryKey(name, k, v), nil)
		})
		if err != nil {
			return fmt.Errorf("indexing the expiry of %s: %w", name, err)
		}
	}
	return nil
}

// update runs fn in a write transaction of its own and notes whether bbolt
// could commit it (see writeErr).
func (b *Bolt) update(fn func(*bbolt.Tx) error) error {
	return b.noted(fn, b.db.Update)
}

// noted runs fn through run (db.Update or db.Batch) and notes the outcome
// of the commit: an error of fn itself says nothing about writing.
func (b *Bolt) noted(fn func(*bbolt.Tx) error, run func(func(*bbolt.Tx) error) error) error {
	var fnErr error
	err := run(func(tx *bbolt.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	switch {
	case err == nil:
		b.writeErr.Store(nil)
	case fnErr == nil:
		b.writeErr.Store(&err)
	}
	return err
}

// Ping implements [Store]: it checks that the database is open and that
// the last write transaction could be committed.

func (b *Bolt) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt ping: %w", err)
	}
	if err := b.db.View(func(*bbolt.Tx) error { return nil }); err != nil {
		return fmt.Errorf("store: bolt ping: %w", err)
	}
	if err := b.writeErr.Load(); err != nil {
		return fmt.Errorf("store: bolt ping: the last write failed: %w", *err)
	}
	return nil
}

// Close stops the background sweeper, waits for it and closes the file.
// Calling it again returns the first result.
func (b *Bolt) Close() error {
	b.closeOnce.Do(func() {
		if b.stop != nil {
			b.stop()
			<-b.done
		}
		if err := b.db.Close(); err != nil {
			b.closeErr = fmt.Errorf("store: bolt close: %w", err)
		}
	})
	return b.closeErr
}

// RoundTrips implements [Inspector]: an embedded store makes none.
func (b *Bolt) RoundTrips() uint64 { return 0 }
