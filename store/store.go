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
// Redis and an embedded bbolt file. It is the sum of the smaller interfaces
// below, one a job, so that code needing one job can ask for that one only;
// the methods for tests and benchmarks are in [Inspector].
type Store interface {
	Sessions
	Applier
	Outboxes
	Leases
	Wakes
	Records

	// Ping checks the store is reachable and, for the embedded store,
	// that its last write transaction could be committed.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Sessions reads and writes a chat's session outside Apply.
type Sessions interface {
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
}

// Applier applies a Telegram update to a chat: its session, its outbox, its
// send lease and its wake time in one step.
type Applier interface {
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
	// It is not called for an update this store value already applied, but
	// may be for one that another process applied meanwhile, whose change is
	// then dropped and Duplicate reported. An error from fn aborts with
	// nothing stored, and Apply returns it as it is; a later Apply of the
	// same id applies. A call whose write landed but whose answer was lost
	// (a dropped connection, retried by the client) may report Duplicate:
	// its messages are then pending in the outbox, to be read with Outbox.
	// An updateID of 0 or less is an input that is not a Telegram update
	// (an album's end, say): it is applied without the duplicate check and
	// not remembered.
	//
	// Change.Wake and Change.Forget are applied with the rest of the change,
	// with one latitude: a lost race (fn runs again) or a duplicate may leave
	// the chat's wake time earlier than any change asked for, so that the
	// chat is woken too early, never too late (the waker, finding nothing
	// due, sets the real time with SetWake). If the update is applied but its
	// wake time could not be written, Apply returns the Applied describing
	// what was done together with an error saying so.
	Apply(ctx context.Context, chat, updateID int64, owner string, leaseTTL time.Duration,
		fn func(cur []byte) (Change, error)) (Applied, error)
}

// Outboxes reads and acknowledges the chats' pending messages and hands out
// the per-chat send leases that say who delivers them.
type Outboxes interface {
	// Outbox returns up to n of the chat's pending messages, oldest first
	// (nil when there are none or n <= 0).
	Outbox(ctx context.Context, chat int64, n int) ([]OutMsg, error)
	// Ack removes sent messages (no error for those already gone; at least
	// one id) and extends owner's send lease by leaseTTL if owner holds it.
	// Several ids in one call cost one round trip: a sender may
	// acknowledge messages that are harmless to send twice (edits) together
	// with the next one.
	Ack(ctx context.Context, chat int64, ids []string, owner string, leaseTTL time.Duration) error
	// AckRelease removes sent messages and, when the outbox is then empty,
	// gives up owner's send lease, in one step: the end of a delivery costs
	// one round trip, not two. more=true means messages are still pending and
	// owner keeps the lease (renewed by leaseTTL); when owner does not hold
	// the lease it only removes the message and returns more=false.
	AckRelease(ctx context.Context, chat int64, ids []string, owner string, leaseTTL time.Duration) (more bool, err error)
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
	// OutboxDepth counts the messages pending in every chat's outbox (for
	// metrics: it reads every outbox's length, like PendingChats).
	OutboxDepth(ctx context.Context) (int64, error)
}

// Leases hands out named global leases.
type Leases interface {
	// Lease takes or renews a named global lease (e.g. "poller") for owner;
	// false if another owner holds it.
	Lease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
}

// Wakes keeps the wake index: when each chat wants to be woken.
type Wakes interface {
	// Due claims up to n chats whose wake time is at or before now, oldest
	// first: each claimed chat's wake time moves to now+claim, atomically, so
	// that another replica calling Due meanwhile does not get it too. The
	// caller then sets the chat's real next wake with SetWake (or the chat
	// is offered again after claim). n <= 0 claims nothing; claim must be at
	// least a millisecond. Wake times and now are compared in whole
	// milliseconds (truncated): a chat is due at its wake time, and may be
	// offered up to a millisecond before it. Chats due at the same
	// millisecond come in an unspecified order.
	//
	// A chat whose session and outbox expired may still be offered: the
	// waker then finds no session and calls SetWake with a zero time.
	Due(ctx context.Context, now time.Time, n int, claim time.Duration) ([]int64, error)
	// SetWake sets the chat's wake time exactly; a zero time removes it.
	// It overwrites: a wake time that an Apply set after the caller read
	// the chat is replaced, so at must account for every change the caller
	// did not see (Change.Wake, which only lowers, has no such race).
	SetWake(ctx context.Context, chat int64, at time.Time) error
}

// Records keeps the records that are not a chat's.
type Records interface {
	// GetRecord returns the record stored under key in space; ok is false
	// when there is none or it has expired. Records are what is not a
	// chat's (the staff desk's, say): they live in a key space of their own,
	// which no chat id and no other space can reach. A space is a non-empty
	// word without ':', '{' or '}'; a key is any non-empty string.
	GetRecord(ctx context.Context, space, key string) (value []byte, ok bool, err error)
	// UpdateRecord is Update for a record: it reads the record (nil when
	// none), calls fn and stores what fn returns, atomically, to expire ttl
	// (at least a millisecond) after this write; nil deletes it. fn may run
	// more than once on Redis.
	UpdateRecord(ctx context.Context, space, key string, ttl time.Duration, fn func(cur []byte) ([]byte, error)) error
	// DeleteRecord removes a record; deleting a missing one is not an error.
	DeleteRecord(ctx context.Context, space, key string) error
}

// Inspector is what tests, benchmarks and the operator use besides [Store]:
// erasing a chat outright, listing its keys and counting round trips. Both
// stores implement it; code holding a [Store] type-asserts to get it.
type Inspector interface {
	// Forget erases everything stored under the chat's keys (session,
	// applied ids, outbox, send lease, wake time) and what an erasure by
	// Change.Forget left. For tests and for the operator; the applicant's
	// /forget goes through Apply with Change.Forget.
	// It is not atomic with a concurrent Apply of the chat on Redis (the
	// wake index is another key), and with the applied ids gone, a
	// redelivered update applies again.
	Forget(ctx context.Context, chat int64) error
	// Keys lists the store's keys that name the chat (for checking an
	// erasure), each backend in its own notation (see Redis.Keys and
	// Bolt.Keys). It lists too the key that an erasure by Change.Forget
	// left, which is named by the chat's keyed hash ([ChatHash.Name]) and
	// not by its id. Sorted.
	Keys(ctx context.Context, chat int64) ([]string, error)

	// RoundTrips returns how many round trips to the backing server this
	// store has made (Redis: each command, script call or pipeline counts
	// one, connection handshakes included; Bolt: 0). For benchmarks.
	RoundTrips() uint64
}

// Change is what one applied update does to a chat.
type Change struct {
	Session []byte   // the new session; nil deletes it
	Outbox  [][]byte // messages to append to the chat's outbox, in order (opaque bytes)
	// Wake asks for the chat to be woken (see Store.Due) at this instant or
	// earlier: the chat's wake time becomes the earlier of Wake and the one
	// it has. Zero leaves it as it is.
	Wake time.Time
	// Forget erases the chat's session, its pending outbox messages, its
	// send lease and its wake time before Outbox is appended, in the same
	// atomic step. The ids of the updates applied (this one's included) are
	// kept, numbers only, for ForgottenTTL (the stores' option), so that a
	// repeated delivery is still recognised; they are stored under the
	// chat's keyed hash, never its id. Once the messages appended here are
	// acknowledged and the send lease given up, nothing stored names the
	// chat id (see [Inspector.Keys]).
	//
	// Session must be nil with Forget: a Change with both is refused (Apply
	// stores nothing and returns an error). Wake with Forget sets the wake
	// time to exactly Wake, since the old one is erased first. The messages
	// appended after a Forget never get the id of an erased one, so a
	// sender that was delivering an erased message cannot acknowledge a new
	// one by mistake; that sender, having lost its lease, may still deliver
	// messages it already read (as when a lease expires mid-delivery).
	Forget bool
}

// checkChange rejects a Change that makes no sense.
func checkChange(c Change) error {
	if c.Forget && c.Session != nil {
		return errors.New("a change cannot both forget the chat and store a session")
	}
	return nil
}

// wakeMillis is t in unix milliseconds, truncated (rounded down, before
// 1970 too), as wake times and Due's now are compared.
func wakeMillis(t time.Time) int64 { return t.UnixMilli() }

// checkDue rejects Due's arguments.
func checkDue(claim time.Duration) error {
	if claim < time.Millisecond {
		return fmt.Errorf("claim %v is shorter than a millisecond", claim)
	}
	return nil
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
	// Took says the lease was free and this call took it, so no sender of
	// owner is delivering the chat: with Backlog false, Outbox is all there
	// is to send, and the caller's alone. When owner already held it, a
	// sender of owner's may be reading the outbox and send these messages
	// itself.
	Took bool
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

// checkAck checks an Ack's arguments.
func checkAck(ids []string, owner string, ttl time.Duration) error {
	if len(ids) == 0 {
		return errors.New("store: no message to acknowledge")
	}
	return checkLease(owner, ttl)
}

var (
	_ Store     = (*Redis)(nil)
	_ Store     = (*Bolt)(nil)
	_ Inspector = (*Redis)(nil)
	_ Inspector = (*Bolt)(nil)
)
