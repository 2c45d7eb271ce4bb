package bot

import (
	"context"
	"time"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// The waker runs what is due without an update: the reminder when documents
// stop coming, the notice before an erasure, the erasure of an idle
// conversation or of a case closed long ago. What is due is kept in the
// store (Store.Due), not in timers, so it survives restarts and is shared
// by the replicas: each due chat is claimed by one of them.

const (
	wakeBatch = 100
	wakeClaim = 2 * time.Minute // a claimed chat comes back if its replica dies
)

func (b *Bot) startWaker(ctx context.Context) {
	b.wakers.Add(1)
	go func() {
		defer b.wakers.Done()
		for {
			for b.wakeDue(ctx) == wakeBatch {
			}
			if !sleep(ctx, b.cfg.WakeEvery) {
				return
			}
		}
	}()
}

// wakeDue wakes the chats that are due and reports how many there were.
func (b *Bot) wakeDue(ctx context.Context) int {
	now := b.cfg.Now()
	qctx, cancel := context.WithTimeout(ctx, apiTimeout)
	chats, err := b.st.Due(qctx, now, wakeBatch, wakeClaim)
	cancel()
	if ctx.Err() == nil {
		b.down.note(now, err)
	}
	if err != nil {
		return 0
	}
	for _, chat := range chats {
		if ctx.Err() != nil {
			break
		}
		b.wake(chat, now)
	}
	return len(chats)
}

// wake applies what is due for one chat, then sets its next wake-up.
func (b *Bot) wake(chat int64, now time.Time) {
	ctx, cancel := context.WithTimeout(b.procCtx, 30*time.Second)
	defer cancel()
	unlock := b.lockChat(chat)
	defer unlock()
	var next flows.Session
	var replies []flows.Reply
	at := b.cfg.Now()
	res, err := b.st.Apply(ctx, chat, 0, b.cfg.Owner, b.cfg.SendLease, func(cur []byte) (store.Change, error) {
		next, replies = flows.Session{}, nil
		if cur == nil {
			return store.Change{}, nil // erased meanwhile
		}
		s, err := flows.Unmarshal(cur)
		if err != nil {
			b.logger.Error("bot: an unreadable session was not woken", "err", err, b.chatAttr(chat))
			next = flows.Session{}
			return store.Change{Session: cur}, nil
		}
		next, replies = b.flow.Wake(s, now)
		return b.change(next, replies, nil, now)
	})
	if err != nil {
		b.down.failed(at, err)
		return // the claim runs out and the chat is offered again
	}
	b.down.ok()
	b.metrics.countEvents(replies)
	b.setWake(ctx, chat, b.flow.Due(next))
	b.deliver(chat, res, at)
}

// setWake sets the chat's next wake-up exactly. An update applied by
// another replica between the wake-up's commit and this call may have asked
// for an earlier one, which this would overwrite: the session is read again
// and its own wake-up kept when that is earlier.
func (b *Bot) setWake(ctx context.Context, chat int64, at time.Time) {
	start := b.cfg.Now()
	if err := b.st.SetWake(ctx, chat, at); err != nil {
		b.down.failed(start, err)
		return
	}
	raw, ok, err := b.st.Get(ctx, chat)
	if err != nil || !ok {
		return
	}
	s, err := flows.Unmarshal(raw)
	if err != nil {
		return
	}
	if due := b.flow.Due(s); !due.IsZero() && (at.IsZero() || due.Before(at)) {
		if err := b.st.SetWake(ctx, chat, due); err != nil {
			b.down.failed(start, err)
		}
	}
}

// change is what a conversation's step does to the store: the session (or
// its erasure), the outbox messages for the replies after ops, and the next
// wake-up.
func (b *Bot) change(next flows.Session, replies []flows.Reply, ops []op, now time.Time) (store.Change, error) {
	ops = applicantFirst(append(ops, render(replies)...))
	out, err := encodeOps(ops, now)
	if err != nil {
		return store.Change{}, err
	}
	for _, r := range replies {
		if r.Forget {
			return store.Change{Forget: true, Outbox: out}, nil
		}
	}
	data, err := next.Marshal()
	if err != nil {
		return store.Change{}, err
	}
	return store.Change{Session: data, Outbox: out, Wake: b.flow.Due(next)}, nil
}
