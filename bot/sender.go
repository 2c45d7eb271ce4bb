package bot

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// How often chats with undelivered replies are looked for, to take over
// from a replica that stopped.
const recoverEvery = 30 * time.Second

// sender delivers each chat's outbox in order, one chat at a time per chat
// (a send lease in the store keeps replicas from sending one chat's replies
// at once), retrying what can succeed later and dropping what never will.
// What concerns the staff group it hands to the desk (staff); a reply the
// applicant's block refused becomes an input of their conversation,
// committed like any other (commit).
type sender struct {
	logger  *slog.Logger
	st      store.Outboxes
	owner   string
	lease   time.Duration
	now     func() time.Time
	down    *outage
	pace    *pacer
	tg      *telegram
	staff   staffOps // nil without a staff group
	pack    *packer
	commit  *committer
	metrics *metrics
	// procCtx outlives a stop: a call in flight is not cut (see call).
	procCtx context.Context

	mu     sync.Mutex
	active map[int64]bool
	again  map[int64]bool
	// gone are the chats whose applicant blocked the bot during the
	// current drain: the rest of their replies are dropped without a call
	// that Telegram would refuse too (the next drain tries again).
	gone map[int64]bool
	// claims are the chats an update is being applied to here (see
	// claim), true once a drain has read the chat's outbox since.
	claims map[int64]bool
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// staffOps performs what a chat's outbox holds for the staff group.
type staffOps interface {
	do(ctx context.Context, chat int64, o op) error
}

// start begins delivering, first whatever earlier runs left undelivered.
func (s *sender) start(ctx context.Context) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			s.recover()
			select {
			case <-ctx.Done():
				return
			case <-s.ctx.Done():
				return
			case <-s.down.ended():
				// A delivery that could not start during the outage
				// waits for this look.
			case <-time.After(recoverEvery):
			}
		}
	}()
}

// recover kicks every chat that has undelivered replies.
func (s *sender) recover() {
	ctx, cancel := context.WithTimeout(s.ctx, apiTimeout)
	defer cancel()
	start := s.now()
	err := s.st.PendingChats(ctx, func(chat int64) bool {
		s.kick(chat, time.Time{}, nil)
		return s.ctx.Err() == nil
	})
	if s.ctx.Err() == nil {
		s.down.note(start, err)
	}
	if err != nil && s.ctx.Err() == nil {
		s.logger.Warn("bot: looking for undelivered replies", "err", err)
	}
}

// stop lets the deliveries in flight finish their current call and have it
// acknowledged, starts no new one, and keeps the rest in the outbox.
func (s *sender) stop() {
	s.cancel()
	s.wg.Wait()
}

// claim says an update is about to be applied to the chat here and its
// messages delivered with kick, until release. A drain that reads the
// chat's outbox meanwhile (started by an earlier kick, or by recover) may
// see those messages and send them, so the kick then reads the outbox too
// rather than send the messages it was given a second time.
func (s *sender) claim(chat int64) (release func()) {
	s.mu.Lock()
	s.claims[chat] = false
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.claims, chat)
		s.mu.Unlock()
	}
}

// read notes that a drain has read the chat's outbox.
func (s *sender) read(chat int64) {
	s.mu.Lock()
	if _, ok := s.claims[chat]; ok {
		s.claims[chat] = true
	}
	s.mu.Unlock()
}

// kick makes sure the chat's outbox is being delivered. leased, when not
// zero, says the caller holds the chat's send lease, taken or renewed by a
// store call that started then; fresh, when set, is the whole outbox as
// the caller just committed it, so it is sent without reading it back
// (unless a drain read the outbox since the caller's claim).
func (s *sender) kick(chat int64, leased time.Time, fresh []store.OutMsg) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.claims[chat] {
		fresh = nil
	}
	if s.ctx.Err() != nil {
		return
	}
	if s.active[chat] {
		s.again[chat] = true
		return
	}
	s.active[chat] = true
	s.wg.Add(1)
	go s.drain(chat, leased, fresh)
}

// A drain sends the messages it read (or was given) only while its lease
// has surely been held since: a lease that ran out meanwhile (a long wait
// for Telegram) may have let another replica deliver them, and replies
// after them, so they would come again out of order. held is when the
// store call that last took or renewed the lease started; the lease is
// sure for a third of its TTL from then, which leaves a call started then
// (at most apiTimeout) time to end before it runs out. When it is not
// sure, the drain takes the lease again and reads the outbox anew.

// sure tells whether the lease taken or renewed at held is surely still
// this replica's, with time left for a call.
func (s *sender) sure(held time.Time) bool {
	return !held.IsZero() && s.now().Sub(held) < s.lease/3
}

// renewed is when the lease counts as renewed by a successful store call
// (Ack, AckRelease keeping it) that started at at: then, if the lease was
// surely still held when the call started, else never (held stays).
func (s *sender) renewed(held, at time.Time) time.Time {
	if !held.IsZero() && at.Sub(held) < s.lease {
		return at
	}
	return held
}

// acquire takes or renews the chat's send lease; it returns when the
// taking started, or zero when another replica holds it or the store is
// away.
func (s *sender) acquire(chat int64) time.Time {
	at := s.now()
	ok, err := s.st.AcquireSend(s.ctx, chat, s.owner, s.lease)
	if s.ctx.Err() == nil {
		s.down.note(at, err)
	}
	if err != nil || !ok {
		return time.Time{}
	}
	return at
}

// drain delivers the chat's outbox until it is empty. The last message's
// acknowledgement also gives up the lease, so a reply to one update costs
// one store round trip after the commit.
func (s *sender) drain(chat int64, leased time.Time, fresh []store.OutMsg) {
	defer s.wg.Done()
	defer s.drained(chat)
	held := leased
	if held.IsZero() {
		if held = s.acquire(chat); held.IsZero() {
			return // another replica delivers this chat, or the store is away: recover() retries
		}
	}
	msgs := fresh
	for s.ctx.Err() == nil {
		if !s.sure(held) {
			// What was read may be stale: take the lease again, read again.
			if held = s.acquire(chat); held.IsZero() {
				return
			}
			msgs = nil
		}
		if len(msgs) == 0 {
			var ok bool
			if msgs, held, ok = s.next(chat, held); !ok {
				return
			}
			if len(msgs) == 0 {
				continue
			}
		}
		var ok bool
		if held, ok = s.send(chat, msgs, held); !ok {
			return
		}
		msgs = nil
	}
}

// drained ends a drain, or starts the next one when the chat was kicked
// after the drain's last look at the outbox.
func (s *sender) drained(chat int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.again[chat] && s.ctx.Err() == nil {
		delete(s.again, chat)
		s.wg.Add(1)
		go s.drain(chat, time.Time{}, nil)
		return
	}
	delete(s.active, chat)
	delete(s.again, chat)
	delete(s.gone, chat)
}

// next reads the next messages of the chat's outbox. On an empty outbox it
// gives up the lease, unless a kick came meanwhile (then msgs is empty and
// ok true: look again). ok false ends the drain.
func (s *sender) next(chat int64, held time.Time) (msgs []store.OutMsg, _ time.Time, ok bool) {
	start := s.now()
	msgs, err := s.st.Outbox(s.ctx, chat, 16)
	s.read(chat)
	if err != nil {
		s.down.failed(start, err)
		return nil, held, sleep(s.ctx, time.Second)
	}
	if len(msgs) > 0 {
		return msgs, held, true
	}
	more, err := s.st.ReleaseSend(s.ctx, chat, s.owner)
	if err != nil {
		s.logger.Warn("bot: release send lease", "err", err)
		return nil, held, false
	}
	held = s.carryOn(chat, more, held)
	return nil, held, !held.IsZero()
}

// send delivers msgs in order, acknowledging each (the last with the
// lease's release) under the lease held since held. It returns when the
// lease was last renewed (zero: not sure, take it again) and false to end
// the drain.
func (s *sender) send(chat int64, msgs []store.OutMsg, held time.Time) (time.Time, bool) {
	more := true
	var done []string // delivered, not yet acknowledged
	for i, m := range msgs {
		harmless, r := s.deliverOne(chat, m.Data, held)
		switch r {
		case stopped:
			return held, false // stopping: the message stays for whoever sends next
		case stale:
			if len(done) > 0 && !s.retry(func(ctx context.Context) error {
				return s.st.Ack(ctx, chat, done, s.owner, s.lease)
			}) {
				return held, false
			}
			return time.Time{}, true // not sure: taken again at the top
		}
		done = append(done, m.ID)
		last := i == len(msgs)-1
		if harmless && !last {
			// An edit or a button's answer done twice changes nothing:
			// it is acknowledged with the next message, one round trip
			// for both.
			continue
		}
		// A sent message must be acknowledged before anything else, or
		// it would be sent again: through a store outage, keep trying.
		at := s.now()
		if !s.retry(func(ctx context.Context) error {
			var err error
			at = s.now()
			if last {
				more, err = s.st.AckRelease(ctx, chat, done, s.owner, s.lease)
			} else {
				err = s.st.Ack(ctx, chat, done, s.owner, s.lease)
			}
			return err
		}) {
			return held, false
		}
		held = s.renewed(held, at)
		done = done[:0]
	}
	held = s.carryOn(chat, more, held)
	return held, !held.IsZero()
}

// retry runs a store call until it succeeds, backing off while the store
// is away. The call itself is not cut by a stop (a message Telegram already
// accepted is acknowledged, not sent again after the restart); when a stop
// comes while the store is away, it gives up and reports false.
func (s *sender) retry(call func(ctx context.Context) error) bool {
	var backoff time.Duration
	for {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), apiTimeout)
		start := s.now()
		err := call(ctx)
		cancel()
		s.down.note(start, err)
		if err == nil {
			return true
		}
		backoff = min(nextBackoff(backoff), 5*time.Second)
		if !sleep(s.ctx, jittered(backoff)) {
			return false
		}
	}
}

// carryOn tells whether to keep delivering after the lease was kept (more)
// or given up: given up, only a kick that came meanwhile takes it again.
// It returns when the lease was last taken or renewed (held when kept),
// zero to stop.
func (s *sender) carryOn(chat int64, more bool, held time.Time) time.Time {
	s.mu.Lock()
	again := s.again[chat]
	delete(s.again, chat)
	s.mu.Unlock()
	if more {
		return held
	}
	if !again {
		return time.Time{}
	}
	return s.acquire(chat)
}

// The outcome of performing an outbox message.
type result int

const (
	performed result = iota // done, or dropped as Telegram will never take it
	stopped                 // not done: stopping
	stale                   // not done: the lease is not sure any more (see sure)
)

// deliverOne performs one outbox message under the lease held since held;
// harmless says doing it again would change nothing.
func (s *sender) deliverOne(chat int64, data []byte, held time.Time) (harmless bool, r result) {
	var o op
	if err := json.Unmarshal(data, &o); err != nil {
		s.logger.Error("bot: unreadable outbox message dropped", "err", err)
		return true, performed
	}
	return o.harmlessTwice(), s.perform(chat, o, held)
}

// perform calls Telegram for an operation until it is done or dropped,
// each call only while the lease held since held is sure.
func (s *sender) perform(chat int64, o op, held time.Time) result {
	if o.Kind == opPackage {
		if s.isGone(chat, o) {
			return performed
		}
		return s.deliverPackage(chat, o, held)
	}
	var backoff, errBackoff time.Duration
	for {
		if backoff > 0 {
			if !sleep(s.ctx, jittered(backoff)) {
				return stopped
			}
			backoff = 0
		}
		if s.isGone(chat, o) {
			s.logger.Info("bot: applicant blocked the bot; reply dropped")
			return performed
		}
		if err := s.wait(chat, o); err != nil || s.ctx.Err() != nil {
			return stopped // no new call
		}
		if !s.sure(held) {
			return stale
		}
		err := s.call(chat, o)
		kind, e := retryBackoff, (*apiError)(nil)
		if errors.As(err, &e) {
			kind = e.kind
		}
		switch {
		case err == nil:
			s.metrics.delivered.Inc()
			return performed
		case kind == retryAfter:
			backoff, errBackoff = e.after, 0
			s.metrics.waited.Add(backoff.Seconds())
			s.logger.Info("bot: told to slow down", "retry_after_s", int(e.after/time.Second))
		case kind == chatGone && o.toStaff():
			s.logger.Error("bot: the staff group refuses the bot's messages (removed, or not an admin that may manage topics?); dropped",
				"op", o.Kind, "err", err)
			return performed
		case kind == chatGone:
			s.mu.Lock()
			s.gone[chat] = true
			s.mu.Unlock()
			s.blocked(chat)
			return performed
		case kind == permanent:
			// Telegram will never accept it (a message too old to edit, a
			// query answered late): drop it rather than block the chat.
			s.logger.Warn("bot: Telegram refused a message; dropped", "op", o.Kind, "err", err)
			return performed
		default:
			if s.ctx.Err() != nil {
				return stopped
			}
			errBackoff = nextBackoff(errBackoff)
			backoff = errBackoff
			s.logger.Warn("bot: send failed; retrying", "op", o.Kind, "in", backoff, "err", err)
		}
	}
}

// isGone says o is for an applicant who blocked the bot during this drain.
func (s *sender) isGone(chat int64, o op) bool {
	if o.toStaff() || o.Kind == opCopy {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone[chat]
}

// wait holds a message back until Telegram's limits allow it. Operations
// on the staff group pace themselves per call, as one may make several.
func (s *sender) wait(chat int64, o op) error {
	switch {
	case o.toStaff() || o.Kind == opCopy:
		return nil
	case o.Kind != opSend: // answers and edits add no new message
		return s.pace.any()
	}
	return s.pace.chat(chat)
}

// call makes one Bot API call. A stop does not cut it: Telegram may already
// have done what it asks, and a call cut short would not be acknowledged
// and be made again after the restart. It ends by its own timeout, or when
// the shutdown timeout runs out (procCtx).
func (s *sender) call(chat int64, o op) error {
	ctx, cancel := context.WithTimeout(s.procCtx, apiTimeout)
	defer cancel()
	if o.toStaff() || o.Kind == opCopy {
		if s.staff == nil {
			s.logger.Warn("bot: a message for the staff group, but none is configured; dropped", "op", o.Kind)
			return nil
		}
		return s.staff.do(ctx, chat, o)
	}
	var err error
	switch o.Kind {
	case opSend:
		// HTML, every piece escaped: the key facts in bold, the links'
		// addresses behind their words.
		p := &tg.SendMessageParams{ChatID: chat, Text: htmlOf(o.Text, o.Links, o.Bold), ParseMode: models.ParseModeHTML,
			LinkPreviewOptions: previewOff(o.Text, o.Links)}
		if k := o.keyboard(); k != nil {
			p.ReplyMarkup = k
		}
		err = s.tg.callJSON(ctx, "sendMessage", p, nil)
	case opEdit:
		err = s.tg.callJSON(ctx, "editMessageText",
			&tg.EditMessageTextParams{ChatID: chat, MessageID: o.MessageID, Text: o.Text}, nil)
	case opUnbutton:
		err = s.tg.callJSON(ctx, "editMessageReplyMarkup",
			&tg.EditMessageReplyMarkupParams{ChatID: chat, MessageID: o.MessageID, ReplyMarkup: &keyboard{InlineKeyboard: [][]keyButton{}}}, nil)
	case opAnswer:
		err = s.tg.callJSON(ctx, "answerCallbackQuery",
			&tg.AnswerCallbackQueryParams{CallbackQueryID: o.QueryID, Text: o.Text}, nil)
	default:
		s.logger.Error("bot: unknown outbox operation dropped", "op", o.Kind)
	}
	return err
}

// blocked commits that the applicant blocked the bot (their next message
// clears it): when a case is open, the support team is told through the
// chat's outbox, which this sender is delivering.
func (s *sender) blocked(chat int64) {
	s.logger.Info("bot: applicant blocked the bot; reply dropped")
	if _, err := s.commit.commit(s.ctx, chat, 0, flows.Input{Kind: flows.BotBlocked}, nil); err != nil {
		s.logger.Warn("bot: recording a block", "err", err)
	}
}

// deliver starts sending what a commit left: the new messages as they are
// when nothing older waits, else whatever the outbox holds.
func (s *sender) deliver(chat int64, res committed) {
	var leased time.Time
	if res.Lease {
		leased = res.at
	}
	switch {
	case res.Took && !res.Backlog && !res.Duplicate:
		s.kick(chat, leased, res.Outbox)
	case res.Lease || res.Duplicate:
		s.kick(chat, leased, nil)
	}
}
