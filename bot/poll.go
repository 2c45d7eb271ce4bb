package bot

import (
	"context"
	"errors"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// poll reads updates with getUpdates. The offset that confirms updates to
// Telegram advances only past updates whose effects are committed, so a
// crash at any moment loses nothing: unconfirmed updates come again and
// those already applied are skipped. It returns ErrTokenRefused or
// ErrWebhookSet when polling cannot go on; every other failure is waited
// out (see pollPause).
func (it *intake) poll(ctx context.Context) error {
	if it.cfg.DeleteWebhook {
		_, err := do(ctx, it.tg, "deleteWebhook", it.tg.api.DeleteWebhook, &tg.DeleteWebhookParams{})
		if errors.Is(err, tg.ErrorUnauthorized) {
			return ErrTokenRefused
		}
		if err != nil {
			it.logger.Warn("bot: deleteWebhook failed", "err", err)
		}
	}
	var offset int64
	var pause time.Duration
	for ctx.Err() == nil {
		if pause > 0 && !sleep(ctx, jittered(pause)) {
			break
		}
		var r pollResult
		// The lease outlives one long poll and the batch it brings, so two
		// replicas never poll at once (Telegram would answer 409).
		start := it.cfg.Now()
		leader, err := it.leases.Lease(ctx, "poller", it.cfg.Owner, 2*it.cfg.PollTimeout+leaseTTL)
		if ctx.Err() == nil {
			it.down.note(start, err)
		}
		switch {
		case err != nil || !leader:
			r.standby = true
		default:
			began := time.Now()
			var updates []*models.Update
			updates, err = it.tg.getUpdates(ctx, offset, it.cfg.PollTimeout)
			r.took, r.updates = time.Since(began), len(updates)
			switch {
			case ctx.Err() != nil:
				return nil
			case errors.Is(err, ErrTokenRefused), errors.Is(err, ErrWebhookSet):
				return err
			case err != nil:
				it.logger.Warn("bot: getUpdates failed", "err", err)
				r.err = true
			case len(updates) > 0:
				var next int64
				next, r.failed = it.applyBatch(updates)
				offset = max(offset, next)
			}
		}
		pause = pollPause(pause, r, it.cfg.PollTimeout)
	}
	return nil
}

// pollResult is how one turn of the polling loop ended.
type pollResult struct {
	standby bool          // another replica polls, or the store did not answer
	err     bool          // getUpdates failed
	updates int           // updates it brought
	failed  bool          // one of them could not be applied
	took    time.Duration // how long getUpdates took
}

// pollPause is how long the poller waits before its next turn: nothing
// after a batch (more may be waiting) or a long poll that ran its course,
// and otherwise long enough that getUpdates never runs in a tight loop,
// growing while the trouble lasts, even against a server that answers at
// once with an error or with nothing.
func pollPause(prev time.Duration, r pollResult, timeout time.Duration) time.Duration {
	switch {
	case r.standby:
		return 2 * time.Second
	case r.err:
		return nextBackoff(prev)
	case r.failed:
		return time.Second // the store is likely down: retry the rest soon
	case r.updates > 0:
		return 0
	case r.took < timeout/2:
		return nextBackoff(prev) // "nothing" at once: not a long poll
	}
	return 0
}

// applyBatch applies a batch of updates, one chat's in order and different
// chats concurrently, and returns the offset that confirms every update up
// to the first one that failed.
func (it *intake) applyBatch(updates []*models.Update) (offset int64, failed bool) {
	sort.Slice(updates, func(i, j int) bool { return updates[i].ID < updates[j].ID })
	byChat := map[int64][]*models.Update{}
	var order []int64
	for _, u := range updates {
		c := chatOf(u)
		if _, seen := byChat[c]; !seen {
			order = append(order, c)
		}
		byChat[c] = append(byChat[c], u)
	}
	errs := make(map[int64]error, len(updates))
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	for _, c := range order {
		wg.Add(1)
		sem <- struct{}{}
		go func(list []*models.Update) {
			defer wg.Done()
			defer func() { <-sem }()
			for _, u := range list {
				ctx, cancel := context.WithTimeout(it.procCtx, 30*time.Second)
				err := it.handle(ctx, u)
				cancel()
				if err != nil {
					it.logFailed(u, err, "bot: update not applied; it will come again")
					mu.Lock()
					errs[u.ID] = err
					mu.Unlock()
					return // keep this chat's later updates for the retry, in order
				}
			}
		}(byChat[c])
	}
	wg.Wait()
	offset = updates[len(updates)-1].ID + 1
	for _, u := range updates {
		if _, bad := errs[u.ID]; bad {
			return u.ID, true
		}
	}
	return offset, false
}

// logFailed logs an update that could not be applied: a store outage once
// for the whole outage (the outage log), anything else each time.
func (it *intake) logFailed(u *models.Update, err error, msg string) {
	var se storeError
	if errors.As(err, &se) {
		it.logger.Debug(msg, "update", u.ID, "err", err)
		return
	}
	it.logger.Warn(msg, "update", u.ID, "err", err)
}

// chatOf groups updates by the chat they belong to; updates the bot ignores
// go together under 0.
func chatOf(u *models.Update) int64 {
	switch {
	case u.Message != nil:
		return u.Message.Chat.ID
	case u.EditedMessage != nil:
		return u.EditedMessage.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.Message.Message != nil:
		return u.CallbackQuery.Message.Message.Chat.ID
	case u.CallbackQuery != nil && u.CallbackQuery.Message.InaccessibleMessage != nil:
		return u.CallbackQuery.Message.InaccessibleMessage.Chat.ID
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// nextBackoff is the pause after one of d: twice as long, from 100 ms to
// 30 s at most. The pause slept is jittered (see jittered).
func nextBackoff(d time.Duration) time.Duration {
	switch {
	case d == 0:
		return 100 * time.Millisecond
	case d >= 15*time.Second:
		return 30 * time.Second
	}
	return d * 2
}

// jittered is a pause of d with up to half of it again added at random, so
// that replicas restarted together, or chats failing together, do not
// retry in step.
func jittered(d time.Duration) time.Duration {
	if d <= 0 {
		return d
	}
	return d + rand.N(d/2+1)
}
