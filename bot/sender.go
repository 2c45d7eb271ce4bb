package bot

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"golang.org/x/time/rate"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// Telegram's limits are about 30 messages a second overall, and about one a
// second in one chat after a short burst; the sender keeps a margin below
// them, since Telegram measures on its side of the network.
const (
	globalRate   = 28
	globalBurst  = 28
	perChatRate  = rate.Limit(1 / 1.1)
	perChatBurst = 3
	// Groups take about 20 messages a minute.
	perGroupRate  = rate.Limit(18.0 / 60)
	perGroupBurst = 10
	// How often chats with undelivered replies are looked for, to take over
	// from a replica that stopped.
	recoverEvery = 30 * time.Second
)

// sender delivers each chat's outbox in order, one chat at a time per chat
// (a send lease in the store keeps replicas from sending one chat's replies
// at once), retrying what can succeed later and dropping what never will.
type sender struct {
	b      *Bot
	global *rate.Limiter

	mu     sync.Mutex
	active map[int64]bool
	again  map[int64]bool
	// claims are the chats an update is being applied to here (see
	// claim), true once a drain has read the chat's outbox since.
	claims  map[int64]bool
	perChat map[int64]*rate.Limiter
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newSender(b *Bot) *sender {
	s := &sender{b: b, active: map[int64]bool{}, again: map[int64]bool{}, claims: map[int64]bool{}, perChat: map[int64]*rate.Limiter{},
		global: rate.NewLimiter(globalRate, globalBurst)}
	if b.cfg.Unlimited {
		s.global = rate.NewLimiter(rate.Inf, 0)
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s
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
			case <-time.After(recoverEvery):
			}
		}
	}()
}

// recover kicks every chat that has undelivered replies.
func (s *sender) recover() {
	ctx, cancel := context.WithTimeout(s.ctx, apiTimeout)
	defer cancel()
	start := s.b.cfg.Now()
	err := s.b.st.PendingChats(ctx, func(chat int64) bool {
		s.kick(chat, time.Time{}, nil)
		return s.ctx.Err() == nil
	})
	if s.ctx.Err() == nil {
		s.b.down.note(start, err)
	}
	if err != nil && s.ctx.Err() == nil {
		s.b.logger.Warn("bot: looking for undelivered replies", "err", err)
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
	return !held.IsZero() && s.b.cfg.Now().Sub(held) < s.b.cfg.SendLease/3
}

// renewed is when the lease counts as renewed by a successful store call
// (Ack, AckRelease keeping it) that started at at: then, if the lease was
// surely still held when the call started, else never (held stays).
func (s *sender) renewed(held, at time.Time) time.Time {
	if !held.IsZero() && at.Sub(held) < s.b.cfg.SendLease {
		return at
	}
	return held
}

// acquire takes or renews the chat's send lease; it returns when the
// taking started, or zero when another replica holds it or the store is
// away.
func (s *sender) acquire(chat int64) time.Time {
	at := s.b.cfg.Now()
	ok, err := s.b.st.AcquireSend(s.ctx, chat, s.b.cfg.Owner, s.b.cfg.SendLease)
	if s.ctx.Err() == nil {
		s.b.down.note(at, err)
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
	defer func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.again[chat] && s.ctx.Err() == nil {
			// Kicked after the last look at the outbox: go on.
			delete(s.again, chat)
			s.wg.Add(1)
			go s.drain(chat, time.Time{}, nil)
			return
		}
		delete(s.active, chat)
		delete(s.again, chat)
	}()
	st := s.b.st
	owner := s.b.cfg.Owner
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
			var err error
			start := s.b.cfg.Now()
			msgs, err = st.Outbox(s.ctx, chat, 16)
			s.read(chat)
			if err != nil {
				s.b.down.failed(start, err)
				sleep(s.ctx, time.Second)
				continue
			}
			if len(msgs) == 0 {
				more, err := st.ReleaseSend(s.ctx, chat, owner)
				if err != nil {
					s.b.logger.Warn("bot: release send lease", "err", err)
					return
				}
				if held = s.carryOn(chat, more, held); held.IsZero() {
					return
				}
				continue
			}
		}
		more := true
		var done []string // delivered, not yet acknowledged
		lapsed := false
		for i, m := range msgs {
			harmless, r := s.deliver(chat, m.Data, held)
			if r == stopped {
				return // stopping: the message stays for whoever sends next
			}
			if r == stale {
				lapsed = true
				break
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
			at := s.b.cfg.Now()
			if !s.retry(func(ctx context.Context) error {
				var err error
				at = s.b.cfg.Now()
				if last {
					more, err = st.AckRelease(ctx, chat, done, owner, s.b.cfg.SendLease)
				} else {
					err = st.Ack(ctx, chat, done, owner, s.b.cfg.SendLease)
				}
				return err
			}) {
				return
			}
			held = s.renewed(held, at)
			done = done[:0]
		}
		msgs = nil
		if lapsed {
			if len(done) > 0 && !s.retry(func(ctx context.Context) error {
				return st.Ack(ctx, chat, done, owner, s.b.cfg.SendLease)
			}) {
				return
			}
			held = time.Time{} // not sure: taken again at the top
			continue
		}
		if held = s.carryOn(chat, more, held); held.IsZero() {
			return
		}
	}
}

// retry runs a store call until it succeeds, backing off while the store
// is away. The call itself is not cut by a stop (a message Telegram already
// accepted is acknowledged, not sent again after the restart); when a stop
// comes while the store is away, it gives up and reports false.
func (s *sender) retry(call func(ctx context.Context) error) bool {
	var backoff time.Duration
	for {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), apiTimeout)
		start := s.b.cfg.Now()
		err := call(ctx)
		cancel()
		s.b.down.note(start, err)
		if err == nil {
			return true
		}
		backoff = min(nextBackoff(backoff), 5*time.Second)
		if !sleep(s.ctx, backoff) {
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

// deliver performs one outbox message under the lease held since held;
// harmless says doing it again would change nothing.
func (s *sender) deliver(chat int64, data []byte, held time.Time) (harmless bool, r result) {
	var o op
	if err := json.Unmarshal(data, &o); err != nil {
		s.b.logger.Error("bot: unreadable outbox message dropped", "err", err)
		return true, performed
	}
	return o.harmlessTwice(), s.perform(chat, o, held)
}

// perform calls Telegram for an operation until it is done or dropped,
// each call only while the lease held since held is sure.
func (s *sender) perform(chat int64, o op, held time.Time) result {
	var backoff, errBackoff time.Duration
	for {
		if backoff > 0 {
			if !sleep(s.ctx, backoff) {
				return stopped
			}
			backoff = 0
		}
		if err := s.wait(chat, o); err != nil || s.ctx.Err() != nil {
			return stopped // no new call
		}
		if !s.sure(held) {
			return stale
		}
		err := s.call(chat, o)
		if err != nil {
			s.b.metrics.apiError(o.method(), err)
		}
		var tooMany *tg.TooManyRequestsError
		switch {
		case err == nil:
			s.b.metrics.delivered.Inc()
			return performed
		case errors.As(err, &tooMany):
			backoff, errBackoff = time.Duration(max(tooMany.RetryAfter, 1))*time.Second, 0
			s.b.metrics.waits.Inc()
			s.b.metrics.waited.Add(backoff.Seconds())
			s.b.logger.Info("bot: told to slow down", "retry_after_s", tooMany.RetryAfter)
		case errors.Is(err, tg.ErrorForbidden) && o.toStaff():
			s.b.logger.Error("bot: the staff group refuses the bot's messages (removed, or not an admin that may manage topics?); dropped",
				"op", o.Kind, "err", redact(err, s.b.cfg.Token))
			return performed
		case errors.Is(err, tg.ErrorForbidden):
			s.blocked(chat)
			return performed
		case errors.Is(err, tg.ErrorBadRequest), errors.Is(err, tg.ErrorNotFound):
			// Telegram will never accept it (a message too old to edit, a
			// query answered late): drop it rather than block the chat.
			s.b.logger.Warn("bot: Telegram refused a message; dropped", "op", o.Kind, "err", redact(err, s.b.cfg.Token))
			return performed
		default:
			if s.ctx.Err() != nil {
				return stopped
			}
			errBackoff = nextBackoff(errBackoff)
			backoff = errBackoff
			s.b.logger.Warn("bot: send failed; retrying", "op", o.Kind, "in", backoff, "err", redact(err, s.b.cfg.Token))
		}
	}
}

// wait holds a message back until Telegram's limits allow it. Operations
// on the staff group pace themselves per call (waitChat), as one may make
// several.
func (s *sender) wait(chat int64, o op) error {
	switch {
	case o.toStaff() || o.Kind == opCopy:
		return nil
	case o.Kind != opSend: // answers and edits add no new message
		return s.global.Wait(s.ctx)
	}
	return s.waitChat(chat)
}

// waitChat holds one new message to chat back until Telegram's overall and
// per-chat limits allow it.
func (s *sender) waitChat(chat int64) error {
	if err := s.global.Wait(s.ctx); err != nil {
		return err
	}
	if s.b.cfg.Unlimited {
		return nil
	}
	s.mu.Lock()
	l := s.perChat[chat]
	if l == nil {
		l = rate.NewLimiter(perChatRate, perChatBurst)
		if chat < 0 {
			l = rate.NewLimiter(perGroupRate, perGroupBurst)
		}
		s.perChat[chat] = l
	}
	if len(s.perChat) > 10000 {
		for c, old := range s.perChat {
			if old.Tokens() >= perChatBurst && c != chat {
				delete(s.perChat, c)
			}
		}
	}
	s.mu.Unlock()
	return l.Wait(s.ctx)
}

// call makes one Bot API call. A stop does not cut it: Telegram may already
// have done what it asks, and a call cut short would not be acknowledged
// and be made again after the restart. It ends by its own timeout, or when
// the shutdown timeout runs out (procCtx).
func (s *sender) call(chat int64, o op) error {
	ctx, cancel := context.WithTimeout(s.b.procCtx, apiTimeout)
	defer cancel()
	api := s.b.api
	var err error
	if o.toStaff() || o.Kind == opCopy {
		if s.b.desk == nil {
			s.b.logger.Warn("bot: a message for the staff group, but none is configured; dropped", "op", o.Kind)
			return nil
		}
		return s.b.desk.do(ctx, chat, o)
	}
	switch o.Kind {
	case opSend:
		p := &tg.SendMessageParams{ChatID: chat, Text: o.Text}
		if k := o.keyboard(); k != nil {
			p.ReplyMarkup = k
		}
		_, err = api.SendMessage(ctx, p)
	case opEdit:
		_, err = api.EditMessageText(ctx, &tg.EditMessageTextParams{ChatID: chat, MessageID: o.MessageID, Text: o.Text})
	case opUnbutton:
		_, err = api.EditMessageReplyMarkup(ctx, &tg.EditMessageReplyMarkupParams{ChatID: chat, MessageID: o.MessageID,
			ReplyMarkup: &keyboard{InlineKeyboard: [][]keyButton{}}})
	case opAnswer:
		_, err = api.AnswerCallbackQuery(ctx, &tg.AnswerCallbackQueryParams{CallbackQueryID: o.QueryID, Text: o.Text})
	default:
		s.b.logger.Error("bot: unknown outbox operation dropped", "op", o.Kind)
	}
	return err
}

// blocked records that the applicant blocked the bot (their next message
// clears it) and, when a case is open, tells the support team through the
// chat's outbox, which this sender is delivering.
func (s *sender) blocked(chat int64) {
	s.b.logger.Info("bot: applicant blocked the bot; reply dropped")
	now := s.b.cfg.Now()
	_, err := s.b.st.Apply(s.ctx, chat, 0, s.b.cfg.Owner, s.b.cfg.SendLease, func(cur []byte) (store.Change, error) {
		if cur == nil {
			return store.Change{}, nil
		}
		sess, err := flows.Unmarshal(cur)
		if err != nil {
			return store.Change{Session: cur}, nil
		}
		next, replies := s.b.flow.Blocked(sess, now)
		return s.b.change(next, replies, nil, now)
	})
	if err != nil {
		s.b.logger.Warn("bot: recording a block", "err", err)
	}
}
