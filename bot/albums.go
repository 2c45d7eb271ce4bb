package bot

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/aimabot/aimabot/flows"
)

// albums answers an album once no more of its photos have come for wait,
// by committing the album's end (flows.AlbumEnd). The photos themselves
// are already committed in the session, so an album cut short by a crash is
// answered at the applicant's next message (or by the waker).
type albums struct {
	logger  *slog.Logger
	pipe    *pipeline
	wait    time.Duration
	procCtx context.Context

	mu     sync.Mutex
	timers map[int64]*time.Timer
	wg     sync.WaitGroup
	closed bool
}

// touch (re)starts the wait for the chat's album.
func (a *albums) touch(chat int64) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if t, ok := a.timers[chat]; ok && t.Stop() {
		t.Reset(a.wait)
		return
	}
	a.wg.Add(1)
	a.timers[chat] = time.AfterFunc(a.wait, func() {
		defer a.wg.Done()
		a.mu.Lock()
		delete(a.timers, chat)
		a.mu.Unlock()
		a.end(chat)
	})
}

func (a *albums) end(chat int64) {
	ctx, cancel := context.WithTimeout(a.procCtx, 30*time.Second)
	defer cancel()
	if _, err := a.pipe.run(ctx, chat, 0, flows.Input{Kind: flows.AlbumEnd}, nil); err != nil {
		a.logger.Warn("bot: answering an album; it is answered at the next message", "err", err)
	}
}

// stop answers the albums still waiting, now.
func (a *albums) stop() {
	a.mu.Lock()
	a.closed = true
	var now []int64
	for chat, t := range a.timers {
		if t.Stop() {
			a.wg.Done()
			now = append(now, chat)
		}
		delete(a.timers, chat)
	}
	a.mu.Unlock()
	for _, chat := range now {
		a.end(chat)
	}
	a.wg.Wait()
}
