package bot

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aimabot/aimabot/store"
)

// What each component needs of the store: a [store.Store] has it all, and
// each holds only its part.

// applier is the committer's: the one way a session changes.
type applier interface {
	Apply(ctx context.Context, chat, updateID int64, owner string, leaseTTL time.Duration,
		fn func(cur []byte) (store.Change, error)) (store.Applied, error)
}

// outboxStore is the sender's: the outboxes and their send leases.
type outboxStore interface {
	Outbox(ctx context.Context, chat int64, n int) ([]store.OutMsg, error)
	Ack(ctx context.Context, chat int64, ids []string, owner string, leaseTTL time.Duration) error
	AckRelease(ctx context.Context, chat int64, ids []string, owner string, leaseTTL time.Duration) (more bool, err error)
	AcquireSend(ctx context.Context, chat int64, owner string, ttl time.Duration) (bool, error)
	ReleaseSend(ctx context.Context, chat int64, owner string) (more bool, err error)
	PendingChats(ctx context.Context, fn func(chat int64) bool) error
}

// leaseStore is the poller's and the queue's: one replica at a time.
type leaseStore interface {
	Lease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error)
}

// sessionReader reads a session without changing it.
type sessionReader interface {
	Get(ctx context.Context, chat int64) (value []byte, ok bool, err error)
}

// wakeStore is the waker's: what is due, and the session to check the next
// wake-up against.
type wakeStore interface {
	sessionReader
	Due(ctx context.Context, now time.Time, n int, claim time.Duration) ([]int64, error)
	SetWake(ctx context.Context, chat int64, at time.Time) error
}

// recordStore keeps the desk's records, apart from the sessions.
type recordStore interface {
	GetRecord(ctx context.Context, space, key string) (value []byte, ok bool, err error)
	UpdateRecord(ctx context.Context, space, key string, ttl time.Duration, fn func(cur []byte) ([]byte, error)) error
	DeleteRecord(ctx context.Context, space, key string) error
}

// deskStore is the desk's: its records, the queue's lease, and the cases'
// sessions (read, and where older versions kept the desk's records).
type deskStore interface {
	recordStore
	leaseStore
	sessionReader
	Update(ctx context.Context, chat int64, fn func(cur []byte) ([]byte, error)) error
	Delete(ctx context.Context, chat int64) error
}

// stateStore is what the metrics read when scraped.
type stateStore interface {
	OutboxDepth(ctx context.Context) (int64, error)
	PendingChats(ctx context.Context, fn func(chat int64) bool) error
	Outbox(ctx context.Context, chat int64, n int) ([]store.OutMsg, error)
}

// updateRecordJSON changes a record kept as the JSON of a T: fn gets the record
// (the zero T when there is none, or it cannot be read) and changes it.
func updateRecordJSON[T any](ctx context.Context, st recordStore, space, key string, ttl time.Duration, fn func(*T)) error {
	return st.UpdateRecord(ctx, space, key, ttl, func(cur []byte) ([]byte, error) {
		var r T
		if len(cur) > 0 && json.Unmarshal(cur, &r) != nil {
			r = *new(T)
		}
		fn(&r)
		return json.Marshal(r)
	})
}
