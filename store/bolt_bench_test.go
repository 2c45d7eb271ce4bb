package store_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
)

// Acknowledgements from many chats' senders at once, as a busy bot makes
// them: each sender waits for its own, so the time one takes is how long a
// message stays sent but not recorded (the window in which a crash repeats
// it).
func BenchmarkBoltAckConcurrent(b *testing.B) {
	for _, chats := range []int{1, 64} {
		b.Run(fmt.Sprintf("chats=%d", chats), func(b *testing.B) { benchAcks(b, chats) })
	}
}

func benchAcks(b *testing.B, chats int) {
	st, err := store.OpenBolt(nil, b.TempDir(), store.BoltOptions{SweepInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	ids := make([][]string, chats)
	for c := range chats {
		res, err := st.Apply(ctx, int64(c+1), 1, "o", time.Minute, func([]byte) (store.Change, error) {
			out := make([][]byte, 0, 1000)
			for range 1000 {
				out = append(out, []byte("m"))
			}
			return store.Change{Session: []byte("s"), Outbox: out}, nil
		})
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range res.Outbox {
			ids[c] = append(ids[c], m.ID)
		}
	}
	b.ResetTimer()
	var wg sync.WaitGroup
	per := (b.N + chats - 1) / chats
	for c := range chats {
		wg.Go(func() {
			for i := range min(per, 1000) {
				if err := st.Ack(ctx, int64(c+1), ids[c][i:i+1], "o", time.Minute); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(min(per, 1000)), "µs/ack")
}
