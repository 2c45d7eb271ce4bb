package bot

import (
	"context"
	"sync"
	"time"

	"github.com/aimabot/aimabot/flows"
)

// The waker runs what is due without an update: the reminder when documents
// stop coming, the notice before an erasure, the erasure of an idle
// conversation or of a case closed long ago. What is due is kept in the
// store (Store.Due), not in timers, so it survives restarts and is shared
// by the replicas: each due chat is claimed by one of them, and its wake-up
// committed as an input (flows.WakeUp) through the pipeline.

const (
	wakeBatch = 100
	wakeClaim = 2 * time.Minute // a claimed chat comes back if its replica dies
)

type waker struct {
	st    wakeStore
	pipe  *pipeline
	flow  *flows.Flow
	now   func() time.Time
	every time.Duration
	down  *outage
	// procCtx outlives a stop, so a wake-up being committed is finished.
	procCtx context.Context
	wg      sync.WaitGroup
}

func (w *waker) start(ctx context.Context) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		for {
			for w.wakeDue(ctx) == wakeBatch {
			}
			if !sleep(ctx, w.every) {
				return
			}
		}
	}()
}

func (w *waker) wait() { w.wg.Wait() }

// wakeDue wakes the chats that are due and reports how many there were.
func (w *waker) wakeDue(ctx context.Context) int {
	now := w.now()
	qctx, cancel := context.WithTimeout(ctx, apiTimeout)
	chats, err := w.st.Due(qctx, now, wakeBatch, wakeClaim)
	cancel()
	if ctx.Err() == nil {
		w.down.note(now, err)
	}
	if err != nil {
		return 0
	}
	for _, chat := range chats {
		if ctx.Err() != nil {
			break
		}
		w.wake(chat)
	}
	return len(chats)
}

// wake commits what is due for one chat, then sets its next wake-up.
func (w *waker) wake(chat int64) {
	ctx, cancel := context.WithTimeout(w.procCtx, 30*time.Second)
	defer cancel()
	res, err := w.pipe.run(ctx, chat, 0, flows.Input{Kind: flows.WakeUp}, nil)
	if err != nil {
		return // the claim runs out and the chat is offered again
	}
	w.setWake(ctx, chat, w.flow.Due(res.session))
}

// setWake sets the chat's next wake-up exactly. An update applied by
// another replica between the wake-up's commit and this call may have asked
// for an earlier one, which this would overwrite: the session is read again
// and its own wake-up kept when that is earlier.
func (w *waker) setWake(ctx context.Context, chat int64, at time.Time) {
	start := w.now()
	if err := w.st.SetWake(ctx, chat, at); err != nil {
		w.down.failed(start, err)
		return
	}
	raw, ok, err := w.st.Get(ctx, chat)
	if err != nil || !ok {
		return
	}
	s, err := flows.Unmarshal(raw)
	if err != nil {
		return
	}
	if due := w.flow.Due(s); !due.IsZero() && (at.IsZero() || due.Before(at)) {
		if err := w.st.SetWake(ctx, chat, due); err != nil {
			w.down.failed(start, err)
		}
	}
}
