package bot

import (
	"context"
	"sync"
	"time"

	"github.com/aimabot/aimabot/flows"
)

// albums answers an album once no more of its photos have come for
// AlbumWait. The photos themselves are already committed in the session, so
// an album cut short by a crash is answered at the applicant's next message.
type albums struct {
	b      *Bot
	mu     sync.Mutex
	timers map[int64]*time.Timer
	wg     sync.WaitGroup
	closed bool
}

func newAlbums(b *Bot) *albums { return &albums{b: b, timers: map[int64]*time.Timer{}} }

func (a *albums) touch(chat int64, _ string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return
	}
	if t, ok := a.timers[chat]; ok && t.Stop() {
		t.Reset(a.b.cfg.AlbumWait)
		return
	}
	a.wg.Add(1)
	a.timers[chat] = time.AfterFunc(a.b.cfg.AlbumWait, func() {
		defer a.wg.Done()
		a.mu.Lock()
		delete(a.timers, chat)
		a.mu.Unlock()
		a.end(chat)
	})
}

func (a *albums) end(chat int64) {
	ctx, cancel := context.WithTimeout(a.b.procCtx, 30*time.Second)
	defer cancel()
	unlock := a.b.lockChat(chat)
	defer unlock()
	at := a.b.cfg.Now()
	res, err := a.b.apply(ctx, chat, 0, flows.Input{Kind: flows.AlbumEnd}, nil)
	if err != nil {
		a.b.logger.Warn("bot: answering an album; it is answered at the next message", "err", err)
		return
	}
	a.b.deliver(chat, res, at)
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
