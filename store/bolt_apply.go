package store

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
)

// Apply implements [Store]. Everything but the lease happens in one write
// transaction (the wake time and a Forget's erasure included); the lease is
// taken after the commit, and with Forget, the old one dropped just before.
// The transaction may be shared with the other chats' writes of the moment
// (see write). fn is called once, or not at all for a duplicate, unless a
// write of the batch fails inside bbolt: then the batch runs again.
//
// A Forget moves the chat record's applied ids and sequence number to the
// chat's "forgotten" record, in the same transaction; the chat record
// stays only while the messages appended after the erasure are pending
// (Ack moves what it then holds and deletes it). Every Apply consults the
// forgotten record too: its ids count as applied, and a chat record
// started afresh takes its sequence number from it, so message ids never
// repeat.
func (b *Bolt) Apply(ctx context.Context, chat, updateID int64, owner string, leaseTTL time.Duration,
	fn func(cur []byte) (Change, error)) (Applied, error) {
	if err := checkLease(owner, leaseTTL); err != nil {
		return Applied{}, fmt.Errorf("store: bolt apply: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return Applied{}, fmt.Errorf("store: bolt apply: %w", err)
	}
	var run boltApplyRun
	err := b.write(func(tx *bbolt.Tx) error {
		// Batch may run this again: start afresh.
		var err error
		run, err = b.applyTx(ctx, tx, chat, updateID, fn)
		return err
	})
	if run.fnErr != nil {
		return Applied{}, run.fnErr
	}
	if err == nil {
		err = run.aborted
	}
	if err != nil {
		return Applied{}, fmt.Errorf("store: bolt apply: %w", err)
	}
	res := run.res
	res.Lease, res.Took = b.leaseAfterApply(sendLeaseKey(chat), owner, leaseTTL, run.pending, run.forget)
	return res, nil
}

// boltApplyRun is what one run of Apply's transaction did.
type boltApplyRun struct {
	res     Applied // but the lease
	pending bool    // messages are pending after the run
	forget  bool    // the change erased the chat
	fnErr   error   // fn's error: nothing written
	aborted error   // before anything was written
}

// boltApplyChat is a chat's records as Apply's transaction read them.
type boltApplyChat struct {
	key  []byte // chatKey
	hkey []byte // the chat's ChatHash.Name, the key of its forgotten record
	now  time.Time
	meta chatMeta // the chat record
	live bool     // whether the chat record is live
	gone chatMeta // the forgotten record
}

// applyTx is one run of Apply's transaction: it reads the chat, tells a
// duplicate, calls fn and writes its change (writeChange).
func (b *Bolt) applyTx(ctx context.Context, tx *bbolt.Tx, chat, updateID int64,
	fn func(cur []byte) (Change, error)) (boltApplyRun, error) {
	var run boltApplyRun
	bs, err := boltBuckets(tx, boltBucket, boltChats, boltOutbox, boltForgotten)
	if err != nil {
		return run, err
	}
	sessions, chats, outbox, forgotten := bs[0], bs[1], bs[2], bs[3]
	c := boltApplyChat{key: chatKey(chat), hkey: []byte(b.hash.Name(chat)), now: b.now()}
	c.meta, c.live = decodeMeta(chats.Get(c.key), c.now.UnixNano())
	gone, goneLive := decodeMeta(forgotten.Get(c.hkey), c.now.UnixNano())
	c.gone = gone
	if updateID > 0 && (c.meta.seen(updateID) || goneLive && gone.seen(updateID)) {
		run.res.Duplicate = true
		run.pending = hasOutbox(outbox, c.key)
		return run, nil
	}
	var cur []byte
	if data, live := liveData(sessions.Get(c.key), c.now.UnixNano()); live {
		cur = bytes.Clone(data)
	}
	// Nothing is written yet: an error here leaves the batch's
	// transaction to the others, rather than failing it (which would
	// run every function of the batch again).
	change, err := fn(cur)
	if err != nil {
		run.fnErr = err
		return run, nil
	}
	if err := checkChange(change); err != nil {
		run.aborted = err
		return run, nil
	}
	if err := ctx.Err(); err != nil {
		run.aborted = err
		return run, nil
	}
	run.forget = change.Forget
	err = b.writeChange(tx, outbox, &c, updateID, change, &run)
	return run, err
}

// writeChange writes change, of update updateID, to the chat c in Apply's
// transaction: the session, the outbox, the wake time, the applied ids and,
// with Forget, the forgotten record. It fills in run's result.
func (b *Bolt) writeChange(tx *bbolt.Tx, outbox *bbolt.Bucket, c *boltApplyChat, updateID int64, change Change, run *boltApplyRun) error {
	key, meta, gone := c.key, &c.meta, &c.gone
	expiry := c.now.Add(b.ttl)
	var err error
	if change.Session == nil {
		err = deleteExpiring(tx, boltBucket, key)
	} else {
		err = putExpiring(tx, boltBucket, key, encodeRecord(expiry, change.Session))
	}
	if err != nil {
		return fmt.Errorf("session: %w", err)
	}
	if !c.live || change.Forget {
		// Messages of an expired chat are dead: drop them now rather
		// than let them reappear. Forget drops them too, but keeps the
		// sequence number going, so that ids never repeat.
		if err := purgeOutbox(tx, key); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
	}
	if !c.live {
		meta.next = max(meta.next, gone.next)
	}
	if err := applyWake(tx, key, change); err != nil {
		return fmt.Errorf("wake time: %w", err)
	}
	if updateID > 0 {
		meta.remember(updateID)
	}
	run.res.Backlog = hasOutbox(outbox, key)
	for _, m := range change.Outbox {
		seq := meta.next
		meta.next++
		if err := outbox.Put(outboxKey(key, seq), m); err != nil {
			return fmt.Errorf("outbox: %w", err)
		}
		run.res.Outbox = append(run.res.Outbox, OutMsg{ID: boltMsgID(seq), Data: bytes.Clone(m)})
	}
	if change.Forget {
		gone.merge(*meta)
		if err := putExpiring(tx, boltForgotten, c.hkey, gone.encode(c.now.Add(b.forgotten))); err != nil {
			return fmt.Errorf("erasure's record: %w", err)
		}
		meta.applied = nil
	}
	if change.Forget && len(change.Outbox) == 0 {
		err = deleteExpiring(tx, boltChats, key)
	} else {
		err = putExpiring(tx, boltChats, key, meta.encode(expiry))
	}
	if err != nil {
		return fmt.Errorf("chat record: %w", err)
	}
	run.pending = len(change.Outbox) > 0 || hasOutbox(outbox, key)
	return nil
}
