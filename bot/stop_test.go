package bot

import (
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/store"
)

// A graceful stop while Telegram is answering many sends: the calls
// Telegram accepted are acknowledged, so the next start sends none of them
// again.
func TestGracefulStopRepeatsNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t), fakeapi.Options{})
		const chats = 20
		// Telegram does each send at once but answers a second later:
		// the stop comes while every answer is on its way.
		h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Late: time.Second, Times: chats})
		for chat := int64(9101); chat < 9101+chats; chat++ {
			h.srv.UserText(chat, "/start")
		}
		h.start(false)
		ctx, cancel := wait(t)
		defer cancel()
		if err := h.srv.WaitFor(ctx, func() bool { return len(h.srv.Calls("sendMessage")) >= chats }); err != nil {
			t.Fatalf("sends made before the stop = %d; want %d", len(h.srv.Calls("sendMessage")), chats)
		}
		h.stop(h.bots[0])
		h.start(false, func(c *Config) { c.Owner = "replica-0" })
		err := h.srv.WaitFor(ctx, func() bool {
			pending := 0
			err := h.st.PendingChats(ctx, func(int64) bool { pending++; return true })
			return err == nil && pending == 0
		})
		if err != nil {
			t.Fatalf("outbox not emptied after the restart: %v", err)
		}
		for chat := int64(9101); chat < 9101+chats; chat++ {
			if n := len(h.srv.Messages(chat)); n != 1 {
				t.Errorf("chat %d: %d messages after a graceful stop and a restart; want 1:%s", chat, n, h.dump(chat))
			}
		}
	})
}

// A sender whose send lease ran out while Telegram made it wait must not
// send what it read before: another replica took the chat meanwhile and
// delivered its outbox, and a later reply came after. The old message
// coming again after the newer one would be out of order.
func TestLapsedLeaseSendsNothingStale(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	const chat = int64(9201)
	lease := func(c *Config) { c.SendLease = time.Second }
	// The greeting is refused with a wait longer than the lease.
	h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Chat: chat, Status: http.StatusTooManyRequests, RetryAfter: 3})
	x := h.start(false, lease)
	h.srv.UserText(chat, "/start")
	ctx, cancel := wait(t)
	defer cancel()
	if err := h.srv.WaitFor(ctx, func() bool { return h.srv.TooManyRequests() == 1 }); err != nil {
		t.Fatal("the greeting was not refused with a 429")
	}
	// The lease runs out while the first replica waits.
	err := eventually(ctx, func() bool {
		keys, err := h.st.(store.Inspector).Keys(ctx, chat)
		return err == nil && !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, ":sender") })
	})
	if err != nil {
		t.Fatal("the send lease did not run out")
	}
	// A second replica applies the applicant's next message: it takes the
	// free lease and delivers the whole outbox, the greeting first.
	y := h.newBot(lease, func(c *Config) { c.Owner = "replica-y" })
	t.Cleanup(y.send.stop)
	upd := &models.Update{ID: 1 << 40, Message: &models.Message{ID: 1 << 20, Date: int(time.Now().Unix()),
		Chat: models.Chat{ID: chat, Type: models.ChatTypePrivate}, From: &models.User{ID: chat, FirstName: "A"}, Text: "/help"}}
	if err := y.Handle(ctx, upd); err != nil {
		t.Fatal(err)
	}
	if _, err := h.srv.WaitMessages(ctx, chat, 3); err != nil {
		t.Fatalf("the second replica did not deliver the outbox:%s", h.dump(chat))
	}
	// The first replica's wait ends; its delivery must end without a send.
	err = eventually(ctx, func() bool {
		x.send.mu.Lock()
		defer x.send.mu.Unlock()
		return !x.send.active[chat]
	})
	if err != nil {
		t.Fatal("the first replica's delivery did not end")
	}
	msgs := h.srv.Messages(chat)
	if len(msgs) != 3 || !strings.Contains(msgs[0].Text, "Which language") {
		t.Errorf("messages = %d, first %q; want the greeting, then the help and the question again, once each:%s", len(msgs), msgs[0].Text, h.dump(chat))
	}
}

// newBot builds a replica on the harness's store and fake without running
// it: its Handle applies updates and its sender delivers them.
func (h *harness) newBot(tweak ...func(*Config)) *Bot {
	h.t.Helper()
	cfg := Config{Token: h.srv.Token(), APIURL: h.srv.URL(), PollTimeout: time.Second, Unlimited: true,
		Owner: "replica-new"}
	for _, f := range tweak {
		f(&cfg)
	}
	flow, err := flows.New(h.flowOpts...)
	if err != nil {
		h.t.Fatal(err)
	}
	b, err := New(slog.New(slog.NewTextHandler(h.logs, nil)), cfg, h.st, flow)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}
