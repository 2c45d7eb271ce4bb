package bot

import (
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/store"
)

// A graceful stop while Telegram is answering many sends: the calls
// Telegram accepted are acknowledged, so the next start sends none of them
// again.
func TestGracefulStopRepeatsNothing(t *testing.T) {
	for _, tt := range []struct {
		name string
		open func(testing.TB) store.Store
	}{{"redis", openRedis}, {"bolt", openBolt}} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.open(t), fakeapi.Options{})
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
}
