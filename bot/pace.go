package bot

import (
	"context"
	"sync"

	"golang.org/x/time/rate"
)

// Telegram's limits are about 30 messages a second overall, and about one a
// second in one chat after a short burst; the pacer keeps a margin below
// them, since Telegram measures on its side of the network.
const (
	globalRate   = 28
	globalBurst  = 28
	perChatRate  = rate.Limit(1 / 1.1)
	perChatBurst = 3
	// Groups take about 20 messages a minute.
	perGroupRate  = rate.Limit(18.0 / 60)
	perGroupBurst = 10
)

// pacer holds new messages back until Telegram's limits allow them. The
// sender and the desk share it: the desk's calls for a case (a topic, its
// card, the documents) count against the same limits as the replies.
type pacer struct {
	ctx       context.Context // waits end with it: the sender stopping
	global    *rate.Limiter
	unlimited bool

	mu      sync.Mutex
	perChat map[int64]*rate.Limiter
}

// newPacer paces until ctx ends; unlimited lifts Telegram's limits, for
// load tests against a fake server.
func newPacer(ctx context.Context, unlimited bool) *pacer {
	p := &pacer{ctx: ctx, global: rate.NewLimiter(globalRate, globalBurst), unlimited: unlimited,
		perChat: map[int64]*rate.Limiter{}}
	if unlimited {
		p.global = rate.NewLimiter(rate.Inf, 0)
	}
	return p
}

// any holds a call that adds no message to a chat (an edit, an answer)
// back until the overall limit allows it.
func (p *pacer) any() error { return p.global.Wait(p.ctx) }

// chat holds one new message to chat back until Telegram's overall and
// per-chat limits allow it.
func (p *pacer) chat(chat int64) error {
	if err := p.global.Wait(p.ctx); err != nil {
		return err
	}
	if p.unlimited {
		return nil
	}
	p.mu.Lock()
	l := p.perChat[chat]
	if l == nil {
		l = rate.NewLimiter(perChatRate, perChatBurst)
		if chat < 0 {
			l = rate.NewLimiter(perGroupRate, perGroupBurst)
		}
		p.perChat[chat] = l
	}
	if len(p.perChat) > 10000 {
		for c, old := range p.perChat {
			if old.Tokens() >= perChatBurst && c != chat {
				delete(p.perChat, c)
			}
		}
	}
	p.mu.Unlock()
	return l.Wait(p.ctx)
}
