package bot

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// BenchmarkUpdateToCommittedReply measures the path from an update to its
// replies committed in the outbox (session read, conversation, atomic write),
// without the sending. Run with:
//
//	bash scripts/test.sh -run '^$' -bench UpdateToCommittedReply -benchmem ./bot
func BenchmarkUpdateToCommittedReply(b *testing.B) {
	for _, backend := range []string{"redis", "embedded"} {
		b.Run(backend, func(b *testing.B) {
			st := benchStore(b, backend)
			srv := fakeapi.New(fakeapi.Options{})
			defer srv.Close()
			flow, err := flows.New()
			if err != nil {
				b.Fatal(err)
			}
			bt, err := New(slog.New(slog.DiscardHandler), Config{Token: srv.Token(), APIURL: srv.URL(), Owner: "bench"}, st, flow)
			if err != nil {
				b.Fatal(err)
			}
			bt.send.stop() // measure the commit, not the delivery
			const chats = 200
			ctx := context.Background()
			update := func(id int64) *models.Update {
				chat := 1_000_000 + id%chats
				text := "/help"
				if id < chats {
					text = "/start"
				}
				return &models.Update{ID: id + 1, Message: &models.Message{ID: int(id), Date: int(time.Now().Unix()),
					Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate},
					From: &models.User{ID: chat, FirstName: "A", LanguageCode: "pt"}, Text: text}}
			}
			for i := range int64(chats) {
				if err := bt.Handle(ctx, update(i)); err != nil {
					b.Fatal(err)
				}
			}
			rt := st.RoundTrips()
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			for i := range int64(b.N) {
				if err := bt.Handle(ctx, update(chats+i)); err != nil {
					b.Fatal(err)
				}
			}
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "updates/s")
			b.ReportMetric(float64(st.RoundTrips()-rt)/float64(b.N), "roundtrips/update")
		})
	}
}

func benchStore(b *testing.B, name string) store.Store {
	b.Helper()
	if name == "embedded" {
		st, err := store.OpenBolt(nil, b.TempDir(), store.BoltOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		return st
	}
	url := storetest.StartRedis(b)
	st, err := store.OpenRedis(nil, url, store.RedisOptions{Prefix: storetest.RedisPrefix(b, url)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}
