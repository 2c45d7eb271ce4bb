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

// encodeMillis lays out a wake time (unix milliseconds) so that byte order
// is time order, before 1970 included.
func encodeMillis(ms int64) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(ms)^(1<<63))
}

func decodeMillis(b []byte) int64 { return int64(binary.BigEndian.Uint64(b) ^ (1 << 63)) }

// decodeChat is chatKey's inverse.
func decodeChat(key []byte) int64 { return int64(binary.BigEndian.Uint64(key) ^ (1 << 63)) }

// wakeBuckets returns the wake index and the chat → wake time map.
func wakeBuckets(tx *bbolt.Tx) (index, at *bbolt.Bucket, err error) {
	bs, err := boltBuckets(tx, boltWake, boltWakeAt)
	if err != nil {
		return nil, nil, err
	}
	return bs[0], bs[1], nil
}

// setWake sets the chat's (key's) wake time to ms, or only lowers it to ms
// when earlier is true.
func setWake(tx *bbolt.Tx, chat []byte, ms int64, earlier bool) error {
	index, at, err := wakeBuckets(tx)
	if err != nil {
		return err
	}
	if old := at.Get(chat); old != nil {
		if len(old) != 8 {
			return errors.New("malformed wake time")
		}
		cur := decodeMillis(old)
		if cur == ms || earlier && cur < ms {
			return nil
		}
		if err := index.Delete(append(bytes.Clone(old), chat...)); err != nil {
			return err
		}
	}
	t := encodeMillis(ms)
	if err := index.Put(append(bytes.Clone(t), chat...), nil); err != nil {
		return err
	}
	return at.Put(chat, t)
}

// removeWake removes the chat's (key's) wake time, if any.
func removeWake(tx *bbolt.Tx, chat []byte) error {
	index, at, err := wakeBuckets(tx)
	if err != nil {
		return err
	}
	old := at.Get(chat)
	if old == nil {
		return nil
	}
	if err := index.Delete(append(bytes.Clone(old), chat...)); err != nil {
		return err
	}
	return at.Delete(chat)
}

// applyWake applies c's Wake and Forget to the chat's (key's) wake time.
func applyWake(tx *bbolt.Tx, chat []byte, c Change) error {
	if c.Forget {
		if err := removeWake(tx, chat); err != nil {
			return err
		}
	}
	if c.Wake.IsZero() {
		return nil
	}
	return setWake(tx, chat, wakeMillis(c.Wake), !c.Forget)
}

// Due implements [Store]: one write transaction. The sweep that removes an
// expired chat removes its wake time too, so an expired chat is offered
// only until the next sweep.
func (b *Bolt) Due(ctx context.Context, now time.Time, n int, claim time.Duration) ([]int64, error) {
	if err := checkDue(claim); err != nil {
		return nil, fmt.Errorf("store: bolt due: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: bolt due: %w", err)
	}
	if n <= 0 {
		return nil, nil
	}
	nowMillis, until := wakeMillis(now), wakeMillis(now.Add(claim))
	var chats []int64
	err := b.update(func(tx *bbolt.Tx) error {
		chats = nil
		index, _, err := wakeBuckets(tx)
		if err != nil {
			return err
		}
		var keys [][]byte // chat keys; moved after the scan, not under the cursor
		c := index.Cursor()
		for k, _ := c.First(); k != nil && len(keys) < n; k, _ = c.Next() {
			if len(k) != 16 {
				return errors.New("malformed wake index key")
			}
			if decodeMillis(k[:8]) > nowMillis {
				break
			}
			keys = append(keys, bytes.Clone(k[8:]))
		}
		for _, k := range keys {
			if err := setWake(tx, k, until, false); err != nil {
				return err
			}
			chats = append(chats, decodeChat(k))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: bolt due: %w", err)
	}
	return chats, nil
}

// SetWake implements [Store].
func (b *Bolt) SetWake(ctx context.Context, chat int64, at time.Time) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt set wake: %w", err)
	}
	err := b.update(func(tx *bbolt.Tx) error {
		if at.IsZero() {
			return removeWake(tx, chatKey(chat))
		}
		return setWake(tx, chatKey(chat), wakeMillis(at), false)
	})
	if err != nil {
		return fmt.Errorf("store: bolt set wake: %w", err)
	}
	return nil
}

// Forget implements [Inspector]: one write transaction, then the send lease.
func (b *Bolt) Forget(ctx context.Context, chat int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: bolt forget: %w", err)
	}
	err := b.update(func(tx *bbolt.Tx) error {
		key := chatKey(chat)
		for _, name := range []string{boltBucket, boltChats} {
			if err := deleteExpiring(tx, name, key); err != nil {
				return err
			}
		}
		if err := purgeOutbox(tx, key); err != nil {
			return err
		}
		if err := deleteExpiring(tx, boltForgotten, []byte(b.hash.Name(chat))); err != nil {
			return err
		}
		return removeWake(tx, key)
	})
	if err != nil {
		return fmt.Errorf("store: bolt forget: %w", err)
	}
	b.mu.Lock()
	delete(b.leases, sendLeaseKey(chat))
	b.mu.Unlock()
	return nil
}

// Keys implements [Inspector]: "bucket/key" strings, the chat and numbers
// in decimal, in-memory leases as "leases/send:<chat>". They are
// "sessions/<chat>", "chats/<chat>", "outbox/<chat>/<seq>",
// "wake/<unix ms>/<chat>", "wakeat/<chat>" and "leases/send:<chat>",
// "expiry/sessions/<chat>" and "expiry/chats/<chat>",
// and what an erasure left, "forgotten/<name>" and "expiry/forgotten/<name>"
// (name the chat's ChatHash.Name), for what is there, expired or not.
func (b *Bolt) Keys(ctx context.Context, chat int64) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: bolt keys: %w", err)
	}
	id := strconv.FormatInt(chat, 10)
	var keys []string
	err := b.db.View(func(tx *bbolt.Tx) error {
		bs, err := boltBuckets(tx, boltBucket, boltChats, boltOutbox, boltWake, boltWakeAt, boltExpiry, boltForgotten)
		if err != nil {
			return err
		}
		key := chatKey(chat)
		name := b.hash.Name(chat)
		if rec := bs[6].Get([]byte(name)); rec != nil {
			keys = append(keys, boltForgotten+"/"+name)
			if len(rec) >= 8 && bs[5].Get(expiryKey(boltForgotten, []byte(name), rec)) != nil {
				keys = append(keys, boltExpiry+"/"+boltForgotten+"/"+name)
			}
		}
		// The expiry index is ordered by time: all of it is read, as this
		// is for checking an erasure, not for every update.
		err = bs[5].ForEach(func(k, _ []byte) error {
			if len(k) == 17 && bytes.Equal(k[9:], key) {
				name := boltBucket
				if k[8] == expiryTagChat {
					name = boltChats
				}
				keys = append(keys, boltExpiry+"/"+name+"/"+id)
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, name := range []string{boltBucket, boltChats} {
			if bs[i].Get(key) != nil {
				keys = append(keys, name+"/"+id)
			}
		}
		c := bs[2].Cursor()
		for k, _ := c.Seek(key); k != nil && bytes.HasPrefix(k, key); k, _ = c.Next() {
			if len(k) != len(key)+8 {
				return errors.New("malformed outbox key")
			}
			keys = append(keys, boltOutbox+"/"+id+"/"+strconv.FormatUint(binary.BigEndian.Uint64(k[len(key):]), 10))
		}
		if t := bs[4].Get(key); t != nil {
			keys = append(keys, boltWakeAt+"/"+id)
			if len(t) == 8 && bs[3].Get(append(bytes.Clone(t), key...)) != nil {
				keys = append(keys, boltWake+"/"+strconv.FormatInt(decodeMillis(t), 10)+"/"+id)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: bolt keys: %w", err)
	}
	b.mu.Lock()
	if _, ok := b.leases[sendLeaseKey(chat)]; ok {
		keys = append(keys, "leases/"+sendLeaseKey(chat))
	}
	b.mu.Unlock()
	slices.Sort(keys)
	return keys, nil
}
