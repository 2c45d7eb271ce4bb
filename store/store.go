package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Store keeps each chat's session, the ids of the updates applied to it and
// its outbox of messages waiting to be sent, with per-chat send leases and
// named global leases for coordinating several processes. Implementations:
// Redis and an embedded bbolt file.
type Store interface {
	// Get returns the chat's stored value; ok is false when there is none or it has expired.
	Get(ctx context.Context, chat int64) (value []byte, ok bool, err error)
	// Update reads the chat's value (nil when none), calls fn, and stores what fn returns, atomically
	// for that chat: two Updates of one chat racing never lose a write (fn may be called more than once
	// on Redis when a race is detected, so fn must be free of side effects). If fn returns an error,
	// nothing is stored and Update returns that error (unwrapped with errors.Is/As still working).
	// If fn returns a nil value, the chat's value is deleted. Every write refreshes the idle expiry.
	Update(ctx context.Context, chat int64, fn func(cur []byte) ([]byte, error)) error
	// Delete removes the chat's value; deleting a missing value is not an error.
	Delete(ctx context.Context, chat int64) error
	// Ping checks the store is reachable.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error

	// Apply applies update updateID to chat atomically: unless updateID is
	// among the chat's recently applied ids (the highest [AppliedWindow] are
	// remembered; an id lower than every remembered id while that many are
	// remembered counts as applied), it calls fn with the current session (nil
	// if none) and stores fn's Change together with the id: the new session
	// (nil deletes it) and the messages appended to the chat's outbox. Every
	// write refreshes the idle expiry of the session, the remembered ids and
	// the outbox; when they expire, the chat's pending messages are dropped.
	//
	// Apply also takes or renews the chat's send lease for owner (for
	// leaseTTL) when owner already holds it or when the outbox has pending
	// messages after the call and nobody else holds it; Applied.Lease tells
	// whether owner holds it now, i.e. whether the caller should send. An
	// update producing no message on an empty outbox takes no lease, so
	// there is nothing to release. A duplicate tries the lease the same way,
	// so that a redelivered update gets messages left by a crashed sender
	// moving again.
	//
	// fn may run more than once on a lost race and must have no side effects.
	// An error from fn aborts with nothing stored, and Apply returns it as
	// it is; a later Apply of the same id applies. On Redis, a call whose
	// write landed but whose answer was lost (a dropped connection, retried
	// by the client) may report Duplicate: its messages are then pending in
	// the outbox, to be read with Outbox.
	// An updateID of 0 or less is an input that is not a Telegram update
	// (an album's end, say): it is applied without the duplicate check and
	// not remembered.
	Apply(ctx context.Context, chat, updateID int64, owner string, leaseTTL time.Duration,
		fn func(cur []byte) (Change, error)) (Applied, error)
	// Outbox returns up to n of the chat's pending messages, oldest first
	// (nil when there are none or n <= 0).
	Outbox(ctx context.Context, chat int64, n int) ([]OutMsg, error)
	// Ack removes a sent message (no error if already gone) and extends
	// owner's send lease by leaseTTL if owner holds it.
	Ack(ctx context.Context, chat int64, id string, owner string, leaseTTL time.Duration) error
	// AckRelease removes a sent message and, when the outbox is then empty,
	// gives up owner's send lease, in one step: the end of a delivery costs
	// one round trip, not two. more=true means messages are still pending and
	// owner keeps the lease (renewed by leaseTTL); when owner does not hold
	// the lease it only removes the message and returns more=false.
	AckRelease(ctx context.Context, chat int64, id string, owner string, leaseTTL time.Duration) (more bool, err error)
	// AcquireSend takes or renews the chat's send lease for owner; false if
	// another owner holds it.
	AcquireSend(ctx context.Context, chat int64, owner string, ttl time.Duration) (bool, error)
	// ReleaseSend gives up owner's send lease unless the chat's outbox still
	// has messages, in which case it keeps the lease (without renewing it)
	// and returns more=true, so no message is left without a sender. When
	// owner does not hold the lease (it expired, or another owner took it),
	// it changes nothing and returns more=false: owner must not send.
	ReleaseSend(ctx context.Context, chat int64, owner string) (more bool, err error)
	// PendingChats calls fn for every chat with pending outbox messages
	// (order unspecified; for recovery after a crash), stopping early when fn
	// returns false. fn is never called concurrently, and may use the store.
	PendingChats(ctx context.Context, fn func(chat int64) bool) error
	// Lease takes or renews a named global lease (e.g. "poller") for owner;
	// false if another owner holds it.
	Lease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
	// RoundTrips returns how many round trips to the backing server this
	// store has made (Redis: each command, script call or pipeline counts
	// one, connection handshakes included; Bolt: 0). For benchmarks.
	RoundTrips() uint64
}

// Change is what one applied update does to a chat.
type Change struct {
	Session []byte   // the new session; nil deletes it
	Outbox  [][]byte // messages to append to the chat's outbox, in order (opaque bytes)
}

// OutMsg is one pending outbox message.
type OutMsg struct {
	// ID is unique within the chat among pending messages; opaque (a Redis
	// stream id, or a zero-padded sequence number on Bolt). Ids increase,
	// but compare them by their order in [Store.Outbox], not as strings.
	ID   string
	Data []byte
}

// Applied says what Apply did.
type Applied struct {
	Duplicate bool     // the update id was already applied: fn was not called, nothing changed
	Outbox    []OutMsg // the messages appended by this call (with their ids)
	Lease     bool     // the caller (owner) now holds the chat's send lease (acquired or already held)
	// Backlog says older messages were pending before this call's, so a
	// sender must read the outbox rather than send Outbox alone.
	Backlog bool
}

// AppliedWindow is how many of a chat's applied update ids (the highest)
// Apply remembers to recognise duplicates.
const AppliedWindow = 64

// DefaultTTL is how long a session survives without being written.
const DefaultTTL = 30 * 24 * time.Hour

// ErrContention is wrapped by the error of an Update that kept losing races
// against other writers of the same chat and gave up.
var ErrContention = errors.New("store: too much contention on one chat")

// checkLease rejects a lease call without an owner or with a TTL under a
// millisecond.
func checkLease(owner string, ttl time.Duration) error {
	if owner == "" {
		return errors.New("store: empty lease owner")
	}
	if ttl < time.Millisecond {
		return fmt.Errorf("store: lease TTL %v is shorter than a millisecond", ttl)
	}
	return nil
}

var (
	_ Store = (*Redis)(nil)
	_ Store = (*Bolt)(nil)
)
