package bot

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// consoleOwner holds the console's send leases.
const consoleOwner = "console"

// Console applies inputs to a stored conversation through the bot's one
// commit path, for the console (`aimabot console`), which has no Telegram:
// it takes the replies back out of the outbox at once and returns them.
type Console struct {
	commit *committer
	st     store.Outboxes
}

// NewConsole builds a console's way in to the store. token keys the chat's
// hash in logs as the bot's does ("" for the console's own key).
func NewConsole(logger *slog.Logger, st store.Store, flow *flows.Flow, token string, now func() time.Time) *Console {
	return &Console{st: st, commit: &committer{logger: logger, st: st, flow: flow, owner: consoleOwner, lease: time.Minute,
		now: now, down: newOutage(logger, now), events: func([]flows.Reply) {}, token: token}}
}

// Say commits one input to the chat and returns the replies. When the flow
// fails, the session is kept and the replies are its apology.
func (c *Console) Say(ctx context.Context, chat int64, in flows.Input) ([]flows.Reply, error) {
	res, err := c.commit.commit(ctx, chat, 0, in, nil)
	if err != nil {
		return nil, fmt.Errorf("bot: console: %w", err)
	}
	if len(res.Outbox) == 0 {
		return res.replies, nil
	}
	ids := make([]string, 0, len(res.Outbox))
	for _, m := range res.Outbox {
		ids = append(ids, m.ID)
	}
	if _, err := c.st.AckRelease(ctx, chat, ids, consoleOwner, time.Minute); err != nil {
		return res.replies, fmt.Errorf("bot: console: %w", err)
	}
	return res.replies, nil
}
