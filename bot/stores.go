package bot

import (
	"context"
	"encoding/json"
	"time"

	"github.com/aimabot/aimabot/store"
)

// What each component needs of the store: a [store.Store] has it all, and
// each component holds only the store's small interfaces it uses: the
// committer a [store.Applier], the sender and the metrics [store.Outboxes],
// the poller and the queue [store.Leases], and these two.

// wakeStore is the waker's: what is due, and the session to check the next
// wake-up against.
type wakeStore interface {
	store.Wakes
	Get(ctx context.Context, chat int64) (value []byte, ok bool, err error)
}

// deskStore is the desk's: its records, the queue's lease, and the cases'
// sessions (read, and where older versions kept the desk's records).
type deskStore interface {
	store.Records
	store.Leases
	store.Sessions
}

// updateRecordJSON changes a record kept as the JSON of a T: fn gets the record
// (the zero T when there is none, or it cannot be read) and changes it.
func updateRecordJSON[T any](ctx context.Context, st store.Records, space, key string, ttl time.Duration, fn func(*T)) error {
	return st.UpdateRecord(ctx, space, key, ttl, func(cur []byte) ([]byte, error) {
		var r T
		if len(cur) > 0 && json.Unmarshal(cur, &r) != nil {
			r = *new(T)
		}
		fn(&r)
		return json.Marshal(r)
	})
}
