package bot

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// committer is the one way a conversation changes: every input (an update,
// a wake-up, an album's end, a reply Telegram refused because the applicant
// blocked the bot) is applied by commit, which runs the flow on the stored
// session and stores the new session, the replies as outbox messages and the
// next wake-up in one [store.Applier.Apply]. Nothing else writes a session.
type committer struct {
	logger *slog.Logger
	st     store.Applier
	flow   *flows.Flow
	owner  string
	lease  time.Duration
	now    func() time.Time
	down   *outage
	events func([]flows.Reply) // counts the events among committed replies
	token  string              // keys the chat's hash in logs
	// decoded are the sessions this replica stored last, decoded, so that
	// the next update of a chat does not decode what it just encoded.
	decoded *decodedSessions
}

// decodedSessions keeps, for the chats written last (at most max), the
// session's bytes as stored and the session they decode to. A session is
// used only when the stored bytes are exactly those (another replica's
// write, or an erasure, changes them), and flows.Step never changes its
// argument, so a kept session is shared safely.
type decodedSessions struct {
	mu   sync.Mutex
	max  int
	byID map[int64]decodedSession
}

type decodedSession struct {
	raw []byte
	s   flows.Session
}

func newDecodedSessions(max int) *decodedSessions {
	return &decodedSessions{max: max, byID: make(map[int64]decodedSession)}
}

func (d *decodedSessions) get(chat int64, raw []byte) (flows.Session, bool) {
	if d == nil || raw == nil {
		return flows.Session{}, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	e, ok := d.byID[chat]
	if !ok || !bytes.Equal(e.raw, raw) {
		return flows.Session{}, false
	}
	return e.s, true
}

func (d *decodedSessions) put(chat int64, raw []byte, s flows.Session) {
	if d == nil {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if _, ok := d.byID[chat]; !ok && len(d.byID) >= d.max {
		for k := range d.byID { // make room: any one goes
			delete(d.byID, k)
			break
		}
	}
	d.byID[chat] = decodedSession{raw: raw, s: s}
}

// committed is what commit did.
type committed struct {
	store.Applied
	at      time.Time     // when the store call started: the send lease is held since
	session flows.Session // the session stored (zero when erased or unchanged)
	replies []flows.Reply // what the flow answered (none for a duplicate)
}

// internal says an input is the transport's, not a person's: nothing to
// answer when there is no conversation, and nothing to apologise for when
// the session cannot be read.
func internal(k flows.InputKind) bool {
	return k == flows.WakeUp || k == flows.BotBlocked || k == flows.BotUnblocked || k == flows.PackageDone
}

// commit applies one input to the chat. updateID is Telegram's update id,
// which the store uses to apply an update once however often it comes; 0
// for inputs that are not updates. p is the button press being answered,
// if any.
func (c *committer) commit(ctx context.Context, chat, updateID int64, in flows.Input, p *press) (committed, error) {
	now := c.now()
	var problem error // logged once: the function may run again after a lost race
	var replies []flows.Reply
	var next flows.Session
	var written []byte // the session the last try would store
	res, err := c.st.Apply(ctx, chat, updateID, c.owner, c.lease, func(cur []byte) (store.Change, error) {
		ch, s, r, prob, err := c.converse(chat, cur, in, p, now)
		next, replies, problem, written = s, r, prob, ch.Session
		return ch, err
	})
	if err == nil && !res.Duplicate && problem == nil && written != nil && next.State != "" {
		c.decoded.put(chat, written, next)
	}
	if err != nil {
		c.down.failed(now, err)
		return committed{Applied: res, at: now}, storeError{fmt.Errorf("bot: apply update: %w", err)}
	}
	c.down.ok()
	if problem != nil {
		c.logger.Error("bot: the conversation failed; the session was kept", "err", problem, chatAttr(c.token, chat))
	}
	if !res.Duplicate {
		c.events(replies)
	}
	if res.Duplicate {
		replies = nil
	}
	return committed{Applied: res, at: now, session: next, replies: replies}, nil
}

// converse runs the conversation on a stored session. A session that cannot
// be read, or a failure inside the flow, keeps the session as it was and
// answers with an apology, so one bad update never blocks the chat; that
// failure is returned as problem, for the caller to log.
func (c *committer) converse(chat int64, cur []byte, in flows.Input, p *press, now time.Time) (ch store.Change, next flows.Session,
	replies []flows.Reply, problem, err error) {
	if cur == nil && internal(in.Kind) {
		return store.Change{}, next, nil, nil, nil // erased meanwhile: nothing to do
	}
	var ops []op
	s, ok := c.decoded.get(chat, cur)
	if !ok {
		s, problem = flows.Unmarshal(cur)
	}
	switch {
	case problem != nil && internal(in.Kind):
		return store.Change{Session: cur}, next, nil, problem, nil
	case problem != nil:
		replies = c.flow.Apology(flows.Session{})
	default:
		switch {
		case p != nil && p.staff:
			ops = append(ops, op{Kind: opAnswer, QueryID: p.queryID})
		case p != nil:
			ops = append(ops, pressOps(c.flow, s, in.Data, p)...)
		}
		next, replies, problem = c.flow.Step(s, in, now)
	}

	if next.State == "" && problem != nil {
		// Keep the session as it was; only the apology goes out.
		out, err := encodeOps(append(ops, render(replies)...), now)
		return store.Change{Session: cur, Outbox: out}, flows.Session{}, replies, problem, err
	}
	var legacy flows.Legacy
	if s.Human != nil {
		legacy = s.Human.Legacy
	}
	ch, err = change(c.flow, next, replies, ops, legacy, now)
	return ch, next, replies, problem, err
}

// change is what a conversation's step does to the store: the session (or
// its erasure), the outbox messages for the replies after ops, and the next
// wake-up. legacy is where an older version showed the case (kept in the
// session, see flows.Legacy): a drop carries it, since the desk may have no
// record of that topic and the erased session can no longer tell.
func change(flow *flows.Flow, next flows.Session, replies []flows.Reply, ops []op, legacy flows.Legacy, now time.Time) (store.Change, error) {
	ops = applicantFirst(append(ops, render(replies)...))
	for i := range ops {
		if ops[i].Kind == opDrop && legacy.Topic != 0 {
			ops[i].Thread = legacy.Topic
		}
	}
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
	return store.Change{Session: data, Outbox: out, Wake: flow.Due(next)}, nil
}

// pressOps answers a button press and shows the choice under the question,
// or removes the buttons of a question that is no longer current.
func pressOps(flow *flows.Flow, s flows.Session, data string, p *press) []op {
	lang := s.Language()
	toast, stale := flow.Toast(s, data)
	switch {
	case stale && p.messageID == 0:
		return []op{{Kind: opAnswer, QueryID: p.queryID, Text: toast}}
	case stale:
		return []op{{Kind: opAnswer, QueryID: p.queryID, Text: toast}, {Kind: opUnbutton, MessageID: p.messageID}}
	case toast != "":
		return []op{{Kind: opAnswer, QueryID: p.queryID, Text: toast}}
	}
	ops := []op{{Kind: opAnswer, QueryID: p.queryID}}
	if p.messageID == 0 {
		return ops
	}
	chosen := flow.Catalog().Text(lang, "toast_chosen", map[string]any{"Label": p.label})
	if p.label != "" && p.text != "" && utf16Len(p.text)+utf16Len(chosen)+2 <= maxText {
		return append(ops, op{Kind: opEdit, MessageID: p.messageID, Text: p.text + "\n\n" + chosen})
	}
	return append(ops, op{Kind: opUnbutton, MessageID: p.messageID})
}

// pipeline is how this replica's inputs reach the applicant: one chat's
// inputs one at a time (chatLocks), each committed and its replies handed to
// the sender under a claim (see sender.claim). Intake, the waker and the
// albums use it; the sender, already delivering the chat, commits directly.
type pipeline struct {
	commit *committer
	send   *sender
	chats  chatLocks
}

// run commits one input to the chat and starts delivering what it left.
func (p *pipeline) run(ctx context.Context, chat, updateID int64, in flows.Input, pr *press) (committed, error) {
	unlock := p.chats.lock(chat)
	defer unlock()
	release := p.send.claim(chat)
	defer release()
	res, err := p.commit.commit(ctx, chat, updateID, in, pr)
	if err != nil {
		return res, err
	}
	p.send.deliver(chat, res)
	return res, nil
}

// chatLocks serialises one chat's updates within this process, so they are
// applied in order and do not race each other in the store.
type chatLocks struct {
	mu    sync.Mutex
	locks map[int64]*chatLock
}

type chatLock struct {
	mu   sync.Mutex
	refs int
}

func (c *chatLocks) lock(chat int64) func() {
	c.mu.Lock()
	if c.locks == nil {
		c.locks = map[int64]*chatLock{}
	}
	l := c.locks[chat]
	if l == nil {
		l = &chatLock{}
		c.locks[chat] = l
	}
	l.refs++
	c.mu.Unlock()
	l.mu.Lock()
	return func() { c.unlock(chat, l) }
}

func (c *chatLocks) unlock(chat int64, l *chatLock) {
	l.mu.Unlock()
	c.mu.Lock()
	l.refs--
	if l.refs == 0 {
		delete(c.locks, chat)
	}
	c.mu.Unlock()
}

// chatAttr names a chat in logs by a keyed hash: stable, so one chat's lines
// can be followed, but not the chat id itself. The store names what an
// erasure leaves with the same hash (keyed by the token too, in serve).
func chatAttr(token string, chat int64) slog.Attr {
	return slog.String("chat", store.NewChatHash(token).Log(chat))
}
