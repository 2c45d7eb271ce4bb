package store

// SetSweepBatch makes each sweep transaction of b look at n keys at most,
// so that tests can cover sweeps spanning many transactions with few keys.
func SetSweepBatch(b *Bolt, n int) { b.sweepBatch = n }
