package store

import (
	"fmt"

	"go.etcd.io/bbolt"
)

// SetSweepBatch makes each sweep transaction of b look at n keys at most,
// so that tests can cover sweeps spanning many transactions with few keys.
func SetSweepBatch(b *Bolt, n int) { b.sweepBatch = n }

// BoltCount returns how many keys the named bucket of b holds.
func BoltCount(b *Bolt, bucket string) (int, error) {
	n := 0
	err := b.db.View(func(tx *bbolt.Tx) error {
		bk := tx.Bucket([]byte(bucket))
		if bk == nil {
			return fmt.Errorf("no bucket %q", bucket)
		}
		n = bk.Stats().KeyN
		return nil
	})
	return n, err
}
