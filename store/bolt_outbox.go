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
