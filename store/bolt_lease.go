package store

import (
	"context"
	"errors"
	"fmt"
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
