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
)

// BenchmarkUpdateToCommittedReply measures the path from an update to its
// replies committed in the outbox (session read, conversation, atomic write),
// without the sending. Run with:
//
//	bash scripts/test.sh -run '^$' -bench UpdateToCommittedReply -benchmem ./bot
func BenchmarkUpdateToCommittedReply(b *testing.B) {
	for _, backend := range []string{"redis", "embedded"} {
		b.Run(backend, func(b *testing.B) {
			st := map[string]func(testing.TB) store.Store{"redis": openRedis, "embedded": openBolt}[backend](b)
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
			rt := st.(store.Inspector).RoundTrips()
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
			b.ReportMetric(float64(st.(store.Inspector).RoundTrips()-rt)/float64(b.N), "roundtrips/update")
		})
	}
}

// BenchmarkUpdateToDeliveredReply counts the Redis round trips of the whole
// path: an update committed, its reply sent to the fake Bot API server and
// acknowledged (Telegram's send limits lifted). Its time per update includes
// the benchmark's own waiting for the reply, so only roundtrips/update is a
// figure of the bot. Run with:
//
//	bash scripts/test.sh -run '^$' -bench UpdateToDeliveredReply -benchmem ./bot
func BenchmarkUpdateToDeliveredReply(b *testing.B) {
	st := openRedis(b)
	srv := fakeapi.New(fakeapi.Options{})
	defer srv.Close()
	flow, err := flows.New()
	if err != nil {
		b.Fatal(err)
	}
	bt, err := New(slog.New(slog.DiscardHandler), Config{Token: srv.Token(), APIURL: srv.URL(), Owner: "bench", Unlimited: true}, st, flow)
	if err != nil {
		b.Fatal(err)
	}
	defer bt.send.stop()
	const chats = 200
	ctx := context.Background()
	sent := func() int {
		n := 0
		for c := range int64(chats) {
			n += len(srv.Messages(1_000_000 + c))
		}
		return n
	}
	update := func(id int64) *models.Update {
		chat := 1_000_000 + id%chats
		return &models.Update{ID: id + 1, Message: &models.Message{ID: int(id), Date: int(time.Now().Unix()),
			Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate},
			From: &models.User{ID: chat, FirstName: "A", LanguageCode: "en"}, Text: "/help"}}
	}
	waitSent := func(n int) {
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := srv.WaitFor(wctx, func() bool { return sent() >= n }); err != nil {
			b.Fatalf("replies sent = %d; want %d", sent(), n)
		}
		// The last acknowledgement follows the last send: wait for the
		// sender to be idle, without asking Redis.
		if err := eventually(wctx, func() bool {
			bt.send.mu.Lock()
			defer bt.send.mu.Unlock()
			return len(bt.send.active) == 0
		}); err != nil {
			b.Fatal(err)
		}
	}
	for i := range int64(chats) {
		if err := bt.Handle(ctx, update(i)); err != nil {
			b.Fatal(err)
		}
	}
	waitSent(chats)
	rt := st.(store.Inspector).RoundTrips()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range int64(b.N) {
		if err := bt.Handle(ctx, update(chats+i)); err != nil {
			b.Fatal(err)
		}
		// One update at a time, as one applicant would: wait for its reply.
		waitSent(chats + int(i) + 1)
	}
	b.StopTimer()
	b.ReportMetric(float64(st.(store.Inspector).RoundTrips()-rt)/float64(b.N), "roundtrips/update")
}

// A decoded session is used only for exactly the bytes it was decoded
// from: another replica's write, or an erasure, is decoded anew. The
// number of chats kept is bounded.
func TestDecodedSessions(t *testing.T) {
	d := newDecodedSessions(2)
	s := flows.Session{State: flows.StateDocuments, Lang: "pt"}
	d.put(1, []byte(`{"state":"documents","lang":"pt"}`), s)
	if got, ok := d.get(1, []byte(`{"state":"documents","lang":"pt"}`)); !ok || got.Lang != "pt" {
		t.Errorf("get(the bytes written) = %+v, %v; want the session kept", got, ok)
	}
	if _, ok := d.get(1, []byte(`{"state":"documents","lang":"fr"}`)); ok {
		t.Errorf("get(other bytes) found a session; want it decoded anew")
	}
	if _, ok := d.get(1, nil); ok {
		t.Errorf("get(nil) found a session; want none (erased)")
	}
	d.put(2, []byte("b"), s)
	d.put(3, []byte("c"), s)
	if n := len(d.byID); n != 2 {
		t.Errorf("%d chats kept; want at most 2", n)
	}
}
