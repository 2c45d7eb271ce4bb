package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"go.etcd.io/bbolt"
)

// boltLease is one lease held in memory.
type boltLease struct {
	owner string
	until time.Time
}

// sendLeaseKey and globalLeaseKey name leases in Bolt.leases.
func sendLeaseKey(chat int64) string    { return "send:" + strconv.FormatInt(chat, 10) }
func globalLeaseKey(name string) string { return "lease:" + name }

// chatMeta is a chat's record in the "chats" bucket: expiry (unix
// nanoseconds), the next outbox sequence number and the applied update ids
// (the highest AppliedWindow, ascending), each 8 big-endian bytes.
type chatMeta struct {
	next    uint64
	applied []int64
}

// decodeMeta reads a chat record; a missing, expired or malformed one reads
// as a fresh chat (live false).
func decodeMeta(rec []byte, now int64) (m chatMeta, live bool) {
	data, live := liveData(rec, now)
	if !live || len(data) < 8 || len(data)%8 != 0 {
		return chatMeta{}, false
	}
	m.next = binary.BigEndian.Uint64(data)
	for rest := data[8:]; len(rest) > 0; rest = rest[8:] {
		m.applied = append(m.applied, int64(binary.BigEndian.Uint64(rest)))
	}
	return m, true
}

func (m chatMeta) encode(expiry time.Time) []byte {
	data := binary.BigEndian.AppendUint64(make([]byte, 0, 8+8*len(m.applied)), m.next)
	for _, id := range m.applied {
		data = binary.BigEndian.AppendUint64(data, uint64(id))
	}
	return encodeRecord(expiry, data)
}

// seen tells whether update id counts as applied.
func (m chatMeta) seen(id int64) bool {
	if _, found := slices.BinarySearch(m.applied, id); found {
		return true
	}
	return len(m.applied) >= AppliedWindow && id < m.applied[0]
}

// merge adds the applied ids of o and keeps the higher next.
func (m *chatMeta) merge(o chatMeta) {
	for _, id := range o.applied {
		m.remember(id)
	}
	m.next = max(m.next, o.next)
}

// remember adds id, keeping the highest AppliedWindow ids.
func (m *chatMeta) remember(id int64) {
	i, found := slices.BinarySearch(m.applied, id)
	if !found {
		m.applied = slices.Insert(m.applied, i, id)
	}
	if extra := len(m.applied) - AppliedWindow; extra > 0 {
		m.applied = slices.Delete(m.applied, 0, extra)
	}
}

// outboxKey is the key of a chat's message with sequence number seq.
func outboxKey(chat []byte, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(bytes.Clone(chat), seq)
}

// boltMsgID and parseBoltMsgID convert sequence numbers to message ids.
func boltMsgID(seq uint64) string { return fmt.Sprintf("%020d", seq) }

func parseBoltMsgID(id string) (uint64, error) {
	seq, err := strconv.ParseUint(id, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("invalid message id %q", id)
	}
	return seq, nil
}

// boltBuckets returns the named buckets of tx.
func boltBuckets(tx *bbolt.Tx, names ...string) ([]*bbolt.Bucket, error) {
	bs := make([]*bbolt.Bucket, len(names))
	for i, name := range names {
		if bs[i] = tx.Bucket([]byte(name)); bs[i] == nil {
			return nil, fmt.Errorf("%s bucket missing", name)
		}
	}
	return bs, nil
}

// hasOutbox tells whether the chat (key) has messages in the outbox bucket.
func hasOutbox(outbox *bbolt.Bucket, chat []byte) bool {
	k, _ := outbox.Cursor().Seek(chat)
	return k != nil && bytes.HasPrefix(k, chat)
}

// purgeOutbox deletes every message of the chat (key).
func purgeOutbox(tx *bbolt.Tx, chat []byte) error {
	outbox := tx.Bucket([]byte(boltOutbox))
	if outbox == nil {
		return errors.New("outbox bucket missing")
	}
	var keys [][]byte
	c := outbox.Cursor()
	for k, _ := c.Seek(chat); k != nil && bytes.HasPrefix(k, chat); k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := outbox.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// write runs fn in a write transaction: at once when no other write of
// Apply or Ack is under way, else in a batch with the others of the moment
// (bbolt's Batch: one transaction, one commit and one fsync for all, after
// at most boltBatchDelay). fn may run again, alone, when another function
// of its batch fails.
func (b *Bolt) write(fn func(*bbolt.Tx) error) error {
	defer b.writers.Add(-1)
	if b.writers.Add(1) == 1 {
		return b.update(fn)
	}
	return b.noted(fn, b.db.Batch)
}

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
	var (
		res     Applied
		pending bool
		forget  bool
		fnErr   error
		aborted error // before anything was written
	)
	err := b.write(func(tx *bbolt.Tx) error {
		// Batch may run this again: start afresh.
		res, pending, forget, fnErr, aborted = Applied{}, false, false, nil, nil
		bs, err := boltBuckets(tx, boltBucket, boltChats, boltOutbox, boltForgotten)
		if err != nil {
			return err
		}
		sessions, chats, outbox, forgotten := bs[0], bs[1], bs[2], bs[3]
		key := chatKey(chat)
		hkey := []byte(b.hash.Name(chat))
		now := b.now()
		meta, live := decodeMeta(chats.Get(key), now.UnixNano())
		gone, goneLive := decodeMeta(forgotten.Get(hkey), now.UnixNano())
		if updateID > 0 && (meta.seen(updateID) || goneLive && gone.seen(updateID)) {
			res.Duplicate = true
			pending = hasOutbox(outbox, key)
			return nil
		}
		var cur []byte
		if data, live := liveData(sessions.Get(key), now.UnixNano()); live {
			cur = bytes.Clone(data)
		}
		// Nothing is written yet: an error here leaves the batch's
		// transaction to the others, rather than failing it (which would
		// run every function of the batch again).
		change, err := fn(cur)
		if err != nil {
			fnErr = err
			return nil
		}
		if err := checkChange(change); err != nil {
			aborted = err
			return nil
		}
		if err := ctx.Err(); err != nil {
			aborted = err
			return nil
		}
		forget = change.Forget

		expiry := now.Add(b.ttl)
		if change.Session == nil {
			err = deleteExpiring(tx, boltBucket, key)
		} else {
			err = putExpiring(tx, boltBucket, key, encodeRecord(expiry, change.Session))
		}
		if err != nil {
			return fmt.Errorf("session: %w", err)
		}
		if !live || change.Forget {
			// Messages of an expired chat are dead: drop them now rather
			// than let them reappear. Forget drops them too, but keeps the
			// sequence number going, so that ids never repeat.
			if err := purgeOutbox(tx, key); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
		}
		if !live {
			meta.next = max(meta.next, gone.next)
		}
		if err := applyWake(tx, key, change); err != nil {
			return fmt.Errorf("wake time: %w", err)
		}
		if updateID > 0 {
			meta.remember(updateID)
		}
		res.Backlog = hasOutbox(outbox, key)
		for _, m := range change.Outbox {
			seq := meta.next
			meta.next++
			if err := outbox.Put(outboxKey(key, seq), m); err != nil {
				return fmt.Errorf("outbox: %w", err)
			}
			res.Outbox = append(res.Outbox, OutMsg{ID: boltMsgID(seq), Data: bytes.Clone(m)})
		}
		if change.Forget {
			gone.merge(meta)
			if err := putExpiring(tx, boltForgotten, hkey, gone.encode(now.Add(b.forgotten))); err != nil {
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
		pending = len(change.Outbox) > 0 || hasOutbox(outbox, key)
		return nil
	})
	if fnErr != nil {
		return Applied{}, fnErr
	}
	if err == nil {
		err = aborted
	}
	if err != nil {
		return Applied{}, fmt.Errorf("store: bolt apply: %w", err)
	}
	res.Lease, res.Took = b.leaseAfterApply(sendLeaseKey(chat), owner, leaseTTL, pending, forget)
	return res, nil
}

// leaseAfterApply renews owner's lease, or takes a free one when messages
// are pending, and tells whether owner holds it and whether it took it
// free. forget drops the lease first, whoever holds it.
func (b *Bolt) leaseAfterApply(key, owner string, ttl time.Duration, pending, forget bool) (holds, took bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if forget {
		delete(b.leases, key)
	}
	now := b.now()
	l, held := b.leases[key]
	held = held && now.Before(l.until)
	switch {
	case held && l.owner == owner:
		b.leases[key] = boltLease{owner: owner, until: now.Add(ttl)}
		return true, false
	case !held && pending:
		b.leases[key] = boltLease{owner: owner, until: now.Add(ttl)}
		return true, true
	}
	return false, false
}

// takeLease takes a free lease or renews owner's.
func (b *Bolt) takeLease(key, owner string, ttl time.Duration) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.now()
	if l, ok := b.leases[key]; ok && now.Before(l.until) && l.owner != owner {
		return false
	}
	b.leases[key] = boltLease{owner: owner, until: now.Add(ttl)}
	return true
}

// pruneLeases forgets the leases expired at now.
func (b *Bolt) pruneLeases(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, l := range b.leases {
		if !now.Before(l.until) {
			delete(b.leases, k)
		}
	}
}

// Outbox implements [Store].
func (b *Bolt) Outbox(ctx context.Context, chat int64, n int) ([]OutMsg, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: bolt outbox: %w", err)
	}
	if n <= 0 {
		return nil, nil
	}
	var out []OutMsg
	err := b.db.View(func(tx *bbolt.Tx) error {
		bs, err := boltBuckets(tx, boltChats, boltOutbox)
		if err != nil {
			return err
		}
		key := chatKey(chat)
		if _, live := decodeMeta(bs[0].Get(key), b.now().UnixNano()); !live {
			return nil
		}
		c := bs[1].Cursor()
		for k, v := c.Seek(key); k != nil && bytes.HasPrefix(k, key) && len(out) < n; k, v = c.Next() {
			if len(k) != len(key)+8 {
				return errors.New("malformed outbox key")
			}
			out = append(out, OutMsg{ID: boltMsgID(binary.BigEndian.Uint64(k[len(key):])), Data: bytes.Clone(v)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: bolt outbox: %w", err)
	}
	return out, nil
}

// Ack implements [Store].
func (b *Bolt) Ack(ctx context.Context, chat int64, ids []string, owner string, leaseTTL time.Duration) error {
	if err := checkAck(ids, owner, leaseTTL); err != nil {
		return fmt.Errorf("store: bolt ack: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt ack: %w", err)
	}
	seqs := make([]uint64, len(ids))
	for i, id := range ids {
		seq, err := parseBoltMsgID(id)
		if err != nil {
			return fmt.Errorf("store: bolt ack: %w", err)
		}
		seqs[i] = seq
	}
	// Many chats' senders acknowledge at once: write commits theirs (and
	// the Applies of the moment) in one transaction and one fsync, instead
	// of one each, queued behind the others (each ack's wait is the window
	// in which a crash repeats a message). The function may run again;
	// deleting twice is harmless.
	err := b.write(func(tx *bbolt.Tx) error {
		outbox := tx.Bucket([]byte(boltOutbox))
		if outbox == nil {
			return errors.New("outbox bucket missing")
		}
		key := chatKey(chat)
		for _, seq := range seqs {
			if err := outbox.Delete(outboxKey(key, seq)); err != nil {
				return err
			}
		}
		if hasOutbox(outbox, key) {
			return nil
		}
		return b.settleForgotten(tx, chat, key)
	})
	if err != nil {
		return fmt.Errorf("store: bolt ack: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	key := sendLeaseKey(chat)
	now := b.now()
	if l, ok := b.leases[key]; ok && l.owner == owner && now.Before(l.until) {
		b.leases[key] = boltLease{owner: owner, until: now.Add(leaseTTL)}
	}
	return nil
}

// settleForgotten, once an erased chat's last message is acknowledged and
// it has no session, moves what its chat record holds (the ids of updates
// since the erasure, the sequence number) to its forgotten record and
// deletes the chat record, so that nothing named by the chat id is left.
func (b *Bolt) settleForgotten(tx *bbolt.Tx, chat int64, key []byte) error {
	bs, err := boltBuckets(tx, boltBucket, boltChats, boltForgotten)
	if err != nil {
		return err
	}
	now := b.now().UnixNano()
	rec := bs[1].Get(key)
	if _, hasSession := liveData(bs[0].Get(key), now); hasSession || rec == nil {
		return nil
	}
	hkey := []byte(b.hash.Name(chat))
	goneRec := bs[2].Get(hkey)
	gone, goneLive := decodeMeta(goneRec, now)
	if !goneLive {
		return nil
	}
	if meta, live := decodeMeta(rec, now); live {
		gone.merge(meta)
		// The forgotten record keeps its expiry: the erasure's.
		expiry := time.Unix(0, int64(binary.BigEndian.Uint64(goneRec[:8])))
		if err := putExpiring(tx, boltForgotten, hkey, gone.encode(expiry)); err != nil {
			return err
		}
	}
	return deleteExpiring(tx, boltChats, key)
}

// AckRelease implements [Store].
func (b *Bolt) AckRelease(ctx context.Context, chat int64, ids []string, owner string, leaseTTL time.Duration) (bool, error) {
	if err := b.Ack(ctx, chat, ids, owner, leaseTTL); err != nil {
		return false, err
	}
	more, err := b.ReleaseSend(ctx, chat, owner)
	if err != nil {
		return false, fmt.Errorf("store: bolt ack and release: %w", err)
	}
	return more, nil
}

// AcquireSend implements [Store].
func (b *Bolt) AcquireSend(ctx context.Context, chat int64, owner string, ttl time.Duration) (bool, error) {
	if err := checkLease(owner, ttl); err != nil {
		return false, fmt.Errorf("store: bolt acquire send lease: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("store: bolt acquire send lease: %w", err)
	}
	return b.takeLease(sendLeaseKey(chat), owner, ttl), nil
}

// ReleaseSend implements [Store]. It looks at the outbox and releases while
// holding the lease lock, and Apply takes the lease only after committing
// its messages, so a message appended meanwhile is either seen here (the
// lease is kept) or finds the lease free.
func (b *Bolt) ReleaseSend(ctx context.Context, chat int64, owner string) (bool, error) {
	if owner == "" {
		return false, errors.New("store: bolt release send lease: empty lease owner")
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("store: bolt release send lease: %w", err)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	key := sendLeaseKey(chat)
	now := b.now()
	if l, ok := b.leases[key]; !ok || l.owner != owner || !now.Before(l.until) {
		return false, nil
	}
	var pending bool
	err := b.db.View(func(tx *bbolt.Tx) error {
		bs, err := boltBuckets(tx, boltChats, boltOutbox)
		if err != nil {
			return err
		}
		k := chatKey(chat)
		if _, live := decodeMeta(bs[0].Get(k), now.UnixNano()); live {
			pending = hasOutbox(bs[1], k)
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("store: bolt release send lease: %w", err)
	}
	if pending {
		return true, nil
	}
	delete(b.leases, key)
	return false, nil
}

// PendingChats implements [Store]. It collects the chats in one read
// transaction and calls fn after it ends, so fn may use the store.
func (b *Bolt) PendingChats(ctx context.Context, fn func(chat int64) bool) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt pending chats: %w", err)
	}
	var chatIDs []int64
	err := b.db.View(func(tx *bbolt.Tx) error {
		bs, err := boltBuckets(tx, boltChats, boltOutbox)
		if err != nil {
			return err
		}
		now := b.now().UnixNano()
		c := bs[1].Cursor()
		for k, _ := c.First(); k != nil; {
			if len(k) < 8 {
				return errors.New("malformed outbox key")
			}
			prefix := binary.BigEndian.Uint64(k[:8])
			if _, live := decodeMeta(bs[0].Get(k[:8]), now); live {
				chatIDs = append(chatIDs, int64(prefix^(1<<63)))
			}
			if prefix == 1<<64-1 {
				break
			}
			// On to the next chat's messages.
			k, _ = c.Seek(binary.BigEndian.AppendUint64(nil, prefix+1))
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: bolt pending chats: %w", err)
	}
	for _, chat := range chatIDs {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: bolt pending chats: %w", err)
		}
		if !fn(chat) {
			return nil
		}
	}
	return nil
}

// OutboxDepth implements [Store]: one read transaction over the outbox
// bucket, counting the messages of live chats.
func (b *Bolt) OutboxDepth(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("store: bolt outbox depth: %w", err)
	}
	var n int64
	err := b.db.View(func(tx *bbolt.Tx) error {
		bs, err := boltBuckets(tx, boltChats, boltOutbox)
		if err != nil {
			return err
		}
		now := b.now().UnixNano()
		var chat []byte
		live := false
		c := bs[1].Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			if len(k) < 8 {
				return errors.New("malformed outbox key")
			}
			if !bytes.Equal(k[:8], chat) {
				chat = bytes.Clone(k[:8])
				_, live = decodeMeta(bs[0].Get(chat), now)
			}
			if live {
				n++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("store: bolt outbox depth: %w", err)
	}
	return n, nil
}

// Lease implements [Store].
func (b *Bolt) Lease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if name == "" {
		return false, errors.New("store: bolt lease: empty lease name")
	}
	if err := checkLease(owner, ttl); err != nil {
		return false, fmt.Errorf("store: bolt lease %q: %w", name, err)
	}
	if err := ctx.Err(); err != nil {
		return false, fmt.Errorf("store: bolt lease %q: %w", name, err)
	}
	return b.takeLease(globalLeaseKey(name), owner, ttl), nil
}

// RoundTrips implements [Store]: an embedded store makes none.
func (b *Bolt) RoundTrips() uint64 { return 0 }
