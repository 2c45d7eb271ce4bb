package store

import (
	"context"
	"errors"
	"time"
)

// Store keeps each chat's session. Implementations: Redis and an embedded bbolt file.
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
}

// DefaultTTL is how long a session survives without being written.
const DefaultTTL = 30 * 24 * time.Hour

// ErrContention is wrapped by the error of an Update that kept losing races
// against other writers of the same chat and gave up.
var ErrContention = errors.New("store: too much contention on one chat")

var (
	_ Store = (*Redis)(nil)
	_ Store = (*Bolt)(nil)
)
