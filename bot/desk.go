package bot

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"strconv"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
)

// desk keeps the staff group: one topic per case, opened with the case card
// and the documents and kept up to date, and in the General topic one queue
// message listing the cases waiting for a person.
//
// Its record is kept in the store's records (space deskSpace, keyed by the
// configured staff chat's id), apart from the sessions, so that no update,
// whatever chat it claims to come from, can overwrite it: the staff chat's
// id now (it changes when a group becomes a supergroup), the queue message,
// and each open case's topic, name and status. Each topic also has a small
// entry of its own naming its applicant (space topicSpace), kept while the
// case's data is: so the record stays as small as the open cases, however
// many closed ones are kept. Both are derived from the cases' sessions and
// written after them, by whoever delivers a case's outbox; a record lost or
// behind is caught up by the next change of each case. Both expire
// [desk.life] after their last write. Older versions kept them among the
// sessions, under the staff chat's id and [topicKey]: they are moved when
// first read.
type desk struct {
	logger     *slog.Logger
	key        int64 // STAFF_CHAT_ID as configured: the record's key
	st         deskStore
	flow       *flows.Flow
	tg         *telegram
	pace       *pacer
	lang       string // the staff group's language
	owner      string // this replica, in the queue's lease
	queueEvery time.Duration
	now        func() time.Time

	mu     sync.Mutex
	moved  bool          // the record of an older version was looked for and moved
	chat   int64         // the staff chat's id now
	topics map[int]int64 // topic -> applicant chat
	loaded time.Time     // when the record was last read, for unknown topics
	me     models.User   // the bot itself, from getMe
	warned string        // the missing rights last warned about
	// The record as last read or written, and what it decoded to: most
	// reads find it unchanged, and decoding every open case each time
	// was a fifth of the bot's CPU under load.
	lastRaw []byte
	lastRec deskRecord

	kick chan struct{}
	wg   sync.WaitGroup

	// Changes of cases waiting to be written to the record together: many
	// cases change at once under load, and one write of the record for
	// all of them keeps its key from becoming a point of contention.
	batchMu  sync.Mutex
	batch    map[int64]*deskCase // nil: take the case out
	waiters  []chan error
	flushing bool
}

type deskRecord struct {
	Chat      int64              `json:"chat"`
	Queue     int                `json:"queue,omitempty"`      // the queue message in the General topic
	QueueText string             `json:"queue_text,omitempty"` // its text, to skip edits that change nothing
	Cases     map[int64]deskCase `json:"cases,omitempty"`      // open cases, by applicant chat
}

// topicKey is where older versions kept a topic's entry, among the
// sessions: below every chat id Telegram gives (they stay within ±2^53).
func topicKey(topic int) int64 { return math.MinInt64 + int64(uint32(topic)) }

// The store's record spaces of the desk's record and the topics' entries.
const (
	deskSpace  = "desk"
	topicSpace = "topic"
)

// recKey is the desk record's key in deskSpace.
func (d *desk) recKey() string { return strconv.FormatInt(d.key, 10) }

// topicRec is a topic's key in topicSpace (and postedSpace).
func (d *desk) topicRec(topic int) string { return topicRecKey(d.key, topic) }

// topicRecKey is the key of a topic of the staff group configured as staff:
// topics are numbered per group.
func topicRecKey(staff int64, topic int) string {
	return strconv.FormatInt(staff, 10) + ":" + strconv.Itoa(topic)
}

// life is how long the desk's record and a topic's entry are kept after
// their last write: SESSION_TTL + CASE_TTL. The record is written at every
// change of a case, so one unwritten that long describes cases whose
// conversations were all erased (at SESSION_TTL without a message). A
// topic's entry is written when its topic opens; an open case's entry that
// lapsed is written again from the record (caseOf), and a closed case's
// outlives its data unless the case stayed open longer than SESSION_TTL.
// Erasing a case deletes its entry at once (drop).
func (d *desk) life() time.Duration {
	r := d.flow.Retention()
	return r.Session + r.Case
}

type deskCase struct {
	Topic  int       `json:"topic"`
	Title  string    `json:"title"`
	Status string    `json:"status"`
	Since  time.Time `json:"since"` // when a person was asked for
}

// errNoCase: the chat has no case for the desk to show.
var errNoCase = errors.New("bot: the chat has no case")

// --- the record ---

func (d *desk) load(ctx context.Context) (deskRecord, error) {
	raw, ok, err := d.read(ctx)
	if err != nil {
		return deskRecord{}, fmt.Errorf("bot: read the staff desk: %w", err)
	}
	var r deskRecord
	if ok {
		if r, err = d.decode(raw); err != nil {
			d.logger.Error("bot: unreadable staff desk record; starting a new one", "err", err)
			r = deskRecord{}
		}
	}
	if r.Chat == 0 {
		r.Chat = d.key
	}
	d.remember(r)
	return r, nil
}

// decode reads a record, from memory when it is the one last seen. The
// record returned is the caller's to change.
func (d *desk) decode(raw []byte) (deskRecord, error) {
	d.mu.Lock()
	if d.lastRaw != nil && bytes.Equal(raw, d.lastRaw) {
		r := d.lastRec
		r.Cases = maps.Clone(r.Cases)
		d.mu.Unlock()
		return r, nil
	}
	d.mu.Unlock()
	var r deskRecord
	if err := json.Unmarshal(raw, &r); err != nil {
		return deskRecord{}, err
	}
	d.keep(raw, r)
	r.Cases = maps.Clone(r.Cases)
	return r, nil
}

// keep remembers raw as the record last seen, decoded to r.
func (d *desk) keep(raw []byte, r deskRecord) {
	d.mu.Lock()
	d.lastRaw, d.lastRec = bytes.Clone(raw), r
	d.mu.Unlock()
}

// read reads the record. Until the record is found, or was looked for
// where an older version kept it, it looks there (moveOld).
func (d *desk) read(ctx context.Context) (raw []byte, ok bool, err error) {
	if raw, ok, err = d.st.GetRecord(ctx, deskSpace, d.recKey()); err != nil {
		return nil, false, err
	}
	d.mu.Lock()
	moved := d.moved
	d.mu.Unlock()
	if !ok && !moved {
		if raw, ok, err = d.moveOld(ctx); err != nil {
			return nil, false, err
		}
	}
	d.mu.Lock()
	d.moved = true
	d.mu.Unlock()
	return raw, ok, nil
}

// moveOld moves the record an older version kept among the sessions, under
// the staff chat's id, to its place among the records, unless a record is
// there already; it answers the record there now. What is not a desk record
// there (a session an update put under that id) is deleted, not moved.
func (d *desk) moveOld(ctx context.Context) (raw []byte, ok bool, err error) {
	old, found, err := d.st.Get(ctx, d.key)
	if err != nil || !found {
		return nil, false, err
	}
	var r deskRecord
	if json.Unmarshal(old, &r) == nil && r.Chat != 0 {
		err := d.st.UpdateRecord(ctx, deskSpace, d.recKey(), d.life(), func(cur []byte) ([]byte, error) {
			raw, ok = old, true
			if cur != nil {
				raw = cur
			}
			return raw, nil
		})
		if err != nil {
			return nil, false, err
		}
	}
	if err := d.st.Delete(ctx, d.key); err != nil {
		return nil, false, err
	}
	if !ok {
		return d.st.GetRecord(ctx, deskSpace, d.recKey())
	}
	return raw, ok, nil
}

func (d *desk) save(ctx context.Context, fn func(r *deskRecord)) error {
	var saved deskRecord
	var savedRaw []byte
	d.mu.Lock()
	moved := d.moved
	d.mu.Unlock()
	if !moved {
		if _, err := d.load(ctx); err != nil {
			return err
		}
	}
	err := d.st.UpdateRecord(ctx, deskSpace, d.recKey(), d.life(), func(cur []byte) ([]byte, error) {
		var r deskRecord
		if len(cur) > 0 {
			var err error
			if r, err = d.decode(cur); err != nil {
				r = deskRecord{}
			}
		}
		if r.Chat == 0 {
			r.Chat = d.key
		}
		fn(&r)
		saved = r
		var err error
		savedRaw, err = json.Marshal(r)
		return savedRaw, err
	})
	if err != nil {
		return fmt.Errorf("bot: write the staff desk: %w", err)
	}
	d.keep(savedRaw, saved)
	d.remember(saved)
	return nil
}

func (d *desk) remember(r deskRecord) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.chat = r.Chat
	d.loaded = time.Now()
	for chat, c := range r.Cases {
		d.topics[c.Topic] = chat
	}
}

// current is the staff chat's id now.
func (d *desk) current(ctx context.Context) (int64, error) {
	d.mu.Lock()
	chat := d.chat
	d.mu.Unlock()
	if chat != 0 {
		return chat, nil
	}
	r, err := d.load(ctx)
	return r.Chat, err
}

// isStaffChat says whether a group is the staff group. A group the desk does
// not know makes it read its record again (another replica may have seen a
// migration), at most every few seconds.
func (d *desk) isStaffChat(ctx context.Context, id int64) (bool, error) {
	if id == d.key {
		return true, nil
	}
	d.mu.Lock()
	known, stale := d.chat == id, time.Since(d.loaded) > 5*time.Second
	d.mu.Unlock()
	if known || !stale {
		return known, nil
	}
	r, err := d.load(ctx)
	return r.Chat == id, err
}

// caseOf finds the applicant whose case has this topic: from memory, else
// from the topic's entry, else from the record (which named every case's
// topic before topics had entries of their own).
func (d *desk) caseOf(ctx context.Context, topic int) (int64, bool, error) {
	d.mu.Lock()
	chat, ok := d.topics[topic]
	d.mu.Unlock()
	if ok {
		return chat, true, nil
	}
	raw, ok, err := d.st.GetRecord(ctx, topicSpace, d.topicRec(topic))
	old := false
	if err == nil && !ok {
		// Where an older version kept it.
		raw, ok, err = d.st.Get(ctx, topicKey(topic))
		old = ok
	}
	if err != nil {
		return 0, false, fmt.Errorf("bot: read a staff topic's entry: %w", err)
	}
	if ok {
		if chat, err := strconv.ParseInt(string(raw), 10, 64); err == nil {
			if old {
				if err := d.setTopic(ctx, topic, chat); err != nil {
					return 0, false, err
				}
				if err := d.st.Delete(ctx, topicKey(topic)); err != nil {
					return 0, false, fmt.Errorf("bot: move a staff topic's entry: %w", err)
				}
			}
			d.mu.Lock()
			d.topics[topic] = chat
			d.mu.Unlock()
			return chat, true, nil
		}
	}
	if _, err := d.load(ctx); err != nil {
		return 0, false, err
	}
	d.mu.Lock()
	chat, ok = d.topics[topic]
	d.mu.Unlock()
	if ok {
		// An open case whose entry lapsed: the record names it.
		if err := d.setTopic(ctx, topic, chat); err != nil {
			return 0, false, err
		}
	}
	return chat, ok, nil
}

// setTopic writes the topic's entry naming its applicant.
func (d *desk) setTopic(ctx context.Context, topic int, chat int64) error {
	v := []byte(strconv.FormatInt(chat, 10))
	if err := d.st.UpdateRecord(ctx, topicSpace, d.topicRec(topic), d.life(), func([]byte) ([]byte, error) { return v, nil }); err != nil {
		return fmt.Errorf("bot: record a staff topic: %w", err)
	}
	d.mu.Lock()
	d.topics[topic] = chat
	d.mu.Unlock()
	return nil
}

// migrated follows the staff group to its new id: Telegram gives a group a
// new id when it becomes a supergroup (which topics need).
func (d *desk) migrated(ctx context.Context, to int64) error {
	if to == 0 {
		return nil
	}
	d.logger.Info("bot: the staff group moved to a new id", "to", to)
	return d.save(ctx, func(r *deskRecord) {
		if r.Chat != to {
			r.Chat, r.Queue, r.QueueText = to, 0, ""
		}
	})
}

// --- the applicant's case ---

func (d *desk) session(ctx context.Context, chat int64) (flows.Session, error) {
	raw, _, err := d.st.Get(ctx, chat)
	if err != nil {
		return flows.Session{}, fmt.Errorf("bot: read a session for the staff desk: %w", err)
	}
	s, err := flows.Unmarshal(raw)
	if err != nil {
		return flows.Session{}, err
	}
	if s.Human == nil {
		return s, errNoCase
	}
	return s, nil
}

// where reads the chat's session and the staff chat's id now.
func (d *desk) where(ctx context.Context, chat int64) (flows.Session, int64, error) {
	s, err := d.session(ctx, chat)
	if err != nil {
		return s, 0, err
	}
	staff, err := d.current(ctx)
	return s, staff, err
}

// setCase records where the case is shown in the staff group.
func (d *desk) setCase(ctx context.Context, chat int64, fn func(c *flows.Case)) error {
	err := d.st.Update(ctx, chat, func(cur []byte) ([]byte, error) {
		s, err := flows.Unmarshal(cur)
		if err != nil || s.Human == nil {
			return cur, nil
		}
		fn(s.Human)
		return s.Marshal()
	})
	if err != nil {
		return fmt.Errorf("bot: record the case's topic: %w", err)
	}
	return nil
}

// do runs one outbox operation of a case against the staff group, mending
// what can be mended: a group that moved to a new id, a topic deleted (made
// again, with the card), a topic closed by hand (reopened).
func (d *desk) do(ctx context.Context, chat int64, o op) error {
	var err error
	for range 3 {
		switch o.Kind {
		case opDrop:
			return d.drop(ctx, chat, o)
		case opCard:
			err = d.sync(ctx, chat)
		case opCopy:
			err = d.copy(ctx, chat, o)
		default:
			err = d.send(ctx, chat, o)
		}
		switch {
		case err == nil, errors.Is(err, errNoCase):
			return nil
		case migratedTo(err) != 0:
			if err := d.migrated(ctx, migratedTo(err)); err != nil {
				return err
			}
		case isThreadGone(err):
			d.logger.Info("bot: a case's topic was deleted; opening it again")
			if err := d.setCase(ctx, chat, func(c *flows.Case) { c.Topic, c.Card, c.Shown, c.Posted = 0, 0, "", nil }); err != nil {
				return err
			}
		case isTopicClosed(err):
			if err := d.reopen(ctx, chat); err != nil {
				return err
			}
		default:
			return err
		}
	}
	return err
}

// drop deletes the topic of an erased case and its entry in the desk's
// record. Where the topic cannot be deleted (the bot lacks the right to
// delete messages), it is emptied of every message the bot posted there
// and of the staff's it knows of, closed and renamed; what could not be
// deleted is counted and reported to the staff and, when the applicant
// asked for the erasure, to them.
func (d *desk) drop(ctx context.Context, chat int64, o op) error {
	staff, err := d.current(ctx)
	if err != nil {
		return err
	}
	_, err = do(ctx, d.tg, "deleteForumTopic", d.tg.api.DeleteForumTopic, &tg.DeleteForumTopicParams{ChatID: staff, MessageThreadID: o.Thread})
	switch {
	case migratedTo(err) != 0:
		if err := d.migrated(ctx, migratedTo(err)); err != nil {
			return err
		}
		return d.drop(ctx, chat, o)
	case err != nil && !isThreadGone(err) && !refusesForGood(err):
		return fmt.Errorf("bot: delete an erased case's topic: %w", err)
	case err != nil && !isThreadGone(err):
		d.logger.Warn("bot: an erased case's topic could not be deleted; emptying it", "err", err)
		left, err := d.empty(ctx, staff, o.Thread, o.IDs)
		if err != nil {
			return err
		}
		if left != 0 {
			if err := d.reportLeft(ctx, chat, staff, o.Thread, left, o.Lang); err != nil {
				return err
			}
		}
	}
	if err := d.forgetPosted(ctx, o.Thread); err != nil {
		return err
	}
	if err := d.st.DeleteRecord(ctx, topicSpace, d.topicRec(o.Thread)); err != nil {
		return fmt.Errorf("bot: forget an erased case's topic: %w", err)
	}
	if err := d.st.Delete(ctx, topicKey(o.Thread)); err != nil {
		return fmt.Errorf("bot: forget an erased case's topic: %w", err)
	}
	d.mu.Lock()
	delete(d.topics, o.Thread)
	d.mu.Unlock()
	return d.save(ctx, func(r *deskRecord) {
		if e, ok := r.Cases[chat]; ok && e.Topic == o.Thread {
			delete(r.Cases, chat)
		}
	})
}

func (d *desk) reopen(ctx context.Context, chat int64) error {
	s, staff, err := d.where(ctx, chat)
	if err != nil {
		return err
	}
	_, err = do(ctx, d.tg, "reopenForumTopic", d.tg.api.ReopenForumTopic, &tg.ReopenForumTopicParams{ChatID: staff, MessageThreadID: s.Human.Topic})
	if err != nil && !isNotModified(err) {
		return fmt.Errorf("bot: reopen a case's topic: %w", err)
	}
	return nil
}

// topic is the case's topic, opened (with its card and documents) if it has
// none yet.
func (d *desk) topic(ctx context.Context, chat int64) (staff int64, thread int, err error) {
	s, err := d.session(ctx, chat)
	if err != nil {
		return 0, 0, err
	}
	if s.Human.Topic == 0 {
		if err := d.sync(ctx, chat); err != nil {
			return 0, 0, err
		}
		if s, err = d.session(ctx, chat); err != nil {
			return 0, 0, err
		}
	}
	staff, err = d.current(ctx)
	return staff, s.Human.Topic, err
}

// sync brings the case's topic up to date: it opens the topic (named for
// the case) with the card, edits the card and the name as the case
// changes, posts the documents not yet posted, and refreshes the desk's
// record of the case. Every step is recorded as it succeeds, so a retry
// after a failure or a crash carries on rather than repeats.
func (d *desk) sync(ctx context.Context, chat int64) error {
	s, staff, err := d.where(ctx, chat)
	if err != nil {
		return err
	}
	rec, err := d.load(ctx)
	if err != nil {
		return err
	}
	c := s.Human
	card := d.flow.Card(s, d.now())
	entry := rec.Cases[chat]
	if c.Topic == 0 {
		if err := d.pace.chat(staff); err != nil {
			return err
		}
		t, err := do(ctx, d.tg, "createForumTopic", d.tg.api.CreateForumTopic, &tg.CreateForumTopicParams{ChatID: staff, Name: card.Title})
		if err != nil {
			return fmt.Errorf("bot: open a case's topic: %w", err)
		}
		c.Topic, c.Card, c.Shown, c.Posted = t.MessageThreadID, 0, "", nil
		// Known here at once, so that a staff message in the new topic
		// finds the case while the topic is being recorded.
		d.mu.Lock()
		d.topics[c.Topic] = chat
		d.mu.Unlock()
		if err := d.setCase(ctx, chat, func(x *flows.Case) { x.Topic, x.Card, x.Shown, x.Posted = c.Topic, 0, "", nil }); err != nil {
			return err
		}
		// Record the topic at once, so that a staff reply can find the case.
		if err := d.setTopic(ctx, c.Topic, chat); err != nil {
			return err
		}
		if err := d.index(ctx, chat, s, card.Title); err != nil {
			return err
		}
		if entry.Topic != 0 && entry.Topic != c.Topic {
			if err := d.forgetPosted(ctx, entry.Topic); err != nil { // that topic was deleted, with its messages
				return err
			}
			note := d.flow.Catalog().Text(d.lang, "staff_topic_recreated", nil)
			if _, err := d.sendText(ctx, staff, c.Topic, note, nil); err != nil {
				return err
			}
		}
		entry.Title = card.Title
	}
	digest := digestOf(card)
	switch {
	case c.Card == 0:
		id, err := d.sendText(ctx, staff, c.Topic, clipText(card.Text), card.Buttons)
		if err != nil {
			return err
		}
		if err := d.setCase(ctx, chat, func(x *flows.Case) { x.Card, x.Shown = id, digest }); err != nil {
			return err
		}
	case c.Shown != digest:
		_, err := do(ctx, d.tg, "editMessageText", d.tg.api.EditMessageText, &tg.EditMessageTextParams{ChatID: staff, MessageID: c.Card,
			Text: clipText(card.Text), ReplyMarkup: keyboardOf(buttonsOf(card.Buttons))})
		switch {
		case isMessageGone(err):
			// The card was deleted by hand: post it again.
			if err := d.setCase(ctx, chat, func(x *flows.Case) { x.Card = 0 }); err != nil {
				return err
			}
			return d.sync(ctx, chat)
		case err != nil && !isNotModified(err):
			return fmt.Errorf("bot: edit a case card: %w", err)
		}
		if err := d.setCase(ctx, chat, func(x *flows.Case) { x.Shown = digest }); err != nil {
			return err
		}
	}
	if entry.Title != "" && entry.Title != card.Title {
		_, err := do(ctx, d.tg, "editForumTopic", d.tg.api.EditForumTopic, &tg.EditForumTopicParams{ChatID: staff, MessageThreadID: c.Topic, Name: card.Title})
		if err != nil && !isNotModified(err) {
			return fmt.Errorf("bot: rename a case's topic: %w", err)
		}
		if err == nil {
			if err := d.noteRenamed(ctx, c.Topic); err != nil {
				return err
			}
		}
	}
	if err := d.postDocuments(ctx, chat, staff, s); err != nil {
		return err
	}
	have, listed := rec.Cases[chat]
	if now := deskEntry(s, card.Title); (listed && now == have) || (!listed && now.Status == flows.CaseClosed) {
		return nil // the card changed (a message, a document), not the case's place in the queue
	}
	if err := d.index(ctx, chat, s, card.Title); err != nil {
		return err
	}
	d.poke()
	return nil
}

// deskEntry is the case as the desk's record keeps it.
func deskEntry(s flows.Session, title string) deskCase {
	return deskCase{Topic: s.Human.Topic, Title: title, Status: s.CaseStatus(), Since: s.Human.At}
}

// index records the case in the desk's record while it is open, and
// takes it out when it is closed. It returns once the record is written,
// in one write with the other cases' changes that came meanwhile.
func (d *desk) index(ctx context.Context, chat int64, s flows.Session, title string) error {
	var e *deskCase
	if now := deskEntry(s, title); now.Status != flows.CaseClosed {
		e = &now
	}
	done := make(chan error, 1)
	d.batchMu.Lock()
	if d.batch == nil {
		d.batch = map[int64]*deskCase{}
	}
	d.batch[chat] = e
	d.waiters = append(d.waiters, done)
	lead := !d.flushing
	d.flushing = true
	d.batchMu.Unlock()
	if lead {
		go d.flush()
	}
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return fmt.Errorf("bot: write the staff desk: %w", ctx.Err())
	}
}

// flush writes the batched changes until none are left.
func (d *desk) flush() {
	for {
		d.batchMu.Lock()
		batch, waiters := d.batch, d.waiters
		d.batch, d.waiters = nil, nil
		if len(waiters) == 0 {
			d.flushing = false
			d.batchMu.Unlock()
			return
		}
		d.batchMu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), apiTimeout)
		err := d.save(ctx, func(r *deskRecord) {
			for chat, e := range batch {
				if e == nil {
					delete(r.Cases, chat)
					continue
				}
				if r.Cases == nil {
					r.Cases = map[int64]deskCase{}
				}
				r.Cases[chat] = *e
			}
		})
		cancel()
		for _, w := range waiters {
			w <- err
		}
	}
}

// migrate gives every case of a record written before topics had entries
// of their own its entry (moving an older version's, see caseOf), and
// takes the closed ones out of the record.
func (d *desk) migrate(ctx context.Context) error {
	rec, err := d.load(ctx)
	if err != nil {
		return err
	}
	closed := 0
	for chat, c := range rec.Cases {
		if _, ok, err := d.st.GetRecord(ctx, topicSpace, d.topicRec(c.Topic)); err != nil {
			return fmt.Errorf("bot: read a staff topic's entry: %w", err)
		} else if !ok {
			if err := d.setTopic(ctx, c.Topic, chat); err != nil {
				return err
			}
			if err := d.st.Delete(ctx, topicKey(c.Topic)); err != nil {
				return fmt.Errorf("bot: move a staff topic's entry: %w", err)
			}
		}
		if c.Status == flows.CaseClosed {
			closed++
		}
	}
	if closed == 0 {
		return nil
	}
	return d.save(ctx, func(r *deskRecord) {
		for chat, c := range r.Cases {
			if c.Status == flows.CaseClosed {
				delete(r.Cases, chat)
			}
		}
	})
}

// postDocuments posts the documents not yet in the topic, by file id (no
// download): photos as albums of photos, files as albums of files, each
// captioned with what it is.
func (d *desk) postDocuments(ctx context.Context, chat, staff int64, s flows.Session) error {
	c := s.Human
	var photos, files []models.InputMedia
	var refs []string
	for _, doc := range s.Docs {
		if slices.Contains(c.Posted, doc.Ref) {
			continue
		}
		title := d.flow.Catalog().Text(d.lang, "doc_"+string(doc.ID), nil)
		if doc.Photo {
			photos = append(photos, &models.InputMediaPhoto{Media: doc.Ref, Caption: title})
		} else {
			files = append(files, &models.InputMediaDocument{Media: doc.Ref, Caption: title})
		}
		refs = append(refs, doc.Ref)
	}
	for _, group := range [][]models.InputMedia{photos, files} {
		for len(group) > 0 {
			n := min(len(group), 10)
			if err := d.sendMedia(ctx, staff, c.Topic, group[:n]); err != nil {
				return err
			}
			group = group[n:]
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return d.setCase(ctx, chat, func(x *flows.Case) { x.Posted = append(x.Posted, refs...) })
}

// sendMedia posts one media item, or an album of several.
func (d *desk) sendMedia(ctx context.Context, staff int64, thread int, items []models.InputMedia) error {
	if err := d.pace.chat(staff); err != nil {
		return err
	}
	var err error
	var sent []*models.Message
	one := func(m *models.Message, e error) { sent, err = []*models.Message{m}, e }
	switch m := items[0].(type) {
	case *models.InputMediaPhoto:
		if len(items) == 1 {
			one(do(ctx, d.tg, "sendPhoto", d.tg.api.SendPhoto, &tg.SendPhotoParams{ChatID: staff, MessageThreadID: thread,
				Photo: &models.InputFileString{Data: m.Media}, Caption: m.Caption}))
		}
	case *models.InputMediaDocument:
		if len(items) == 1 {
			one(do(ctx, d.tg, "sendDocument", d.tg.api.SendDocument, &tg.SendDocumentParams{ChatID: staff, MessageThreadID: thread,
				Document: &models.InputFileString{Data: m.Media}, Caption: m.Caption}))
		}
	}
	if sent == nil {
		sent, err = do(ctx, d.tg, "sendMediaGroup", d.tg.api.SendMediaGroup,
			&tg.SendMediaGroupParams{ChatID: staff, MessageThreadID: thread, Media: items})
	}
	if err != nil {
		return fmt.Errorf("bot: post documents to a case's topic: %w", err)
	}
	return d.notePosted(ctx, thread, idsOf(sent)...)
}

func (d *desk) sendText(ctx context.Context, staff int64, thread int, text string, buttons [][]flows.ButtonSpec) (int, error) {
	if err := d.pace.chat(staff); err != nil {
		return 0, err
	}
	p := &tg.SendMessageParams{ChatID: staff, MessageThreadID: thread, Text: text}
	if k := keyboardOf(buttonsOf(buttons)); k != nil {
		p.ReplyMarkup = k
	}
	m, err := do(ctx, d.tg, "sendMessage", d.tg.api.SendMessage, p)
	if err != nil {
		return 0, fmt.Errorf("bot: write in the staff group: %w", err)
	}
	if staff < 0 { // a group's topic, not the rest of a caption sent to an applicant
		if err := d.notePosted(ctx, thread, m.ID); err != nil {
			return 0, err
		}
	}
	return m.ID, nil
}

// send posts a notice in the case's topic.
func (d *desk) send(ctx context.Context, chat int64, o op) error {
	staff, thread := int64(0), o.Thread
	var err error
	if thread == 0 {
		staff, thread, err = d.topic(ctx, chat)
	} else {
		staff, err = d.current(ctx)
	}
	if err != nil {
		return err
	}
	_, err = d.sendText(ctx, staff, thread, o.Text, nil)
	return err
}

// copy passes messages on as they are: the applicant's into their topic,
// or a staff member's to the applicant. An album stays an album; a caption
// longer than a bot may send is cut, and the rest follows as text.
func (d *desk) copy(ctx context.Context, chat int64, o op) error {
	to, thread := chat, 0
	if o.Staff {
		var err error
		if to, thread, err = d.topic(ctx, chat); err != nil {
			return err
		}
	}
	if err := d.pace.chat(to); err != nil {
		return err
	}
	long := slices.ContainsFunc(o.Msgs, func(m flows.Message) bool { return m.Caption != "" })
	posted, rest, err := d.pass(ctx, to, thread, o.Msgs, long)
	if err != nil {
		return fmt.Errorf("bot: copy messages: %w", err)
	}
	if o.Staff {
		if err := d.notePosted(ctx, thread, posted...); err != nil {
			return err
		}
	}
	for _, text := range rest {
		if _, err := d.sendText(ctx, to, thread, text, nil); err != nil {
			return err
		}
	}
	return nil
}

// pass copies msgs to the topic thread of chat to (0: a private chat), one
// by one or as an album; long says a caption is too long to copy and must
// be cut, its rest returned to send as text.
func (d *desk) pass(ctx context.Context, to int64, thread int, msgs []flows.Message, long bool) (posted []int, rest []string, err error) {
	from := msgs[0].Chat
	switch {
	case len(msgs) == 1:
		p := &tg.CopyMessageParams{ChatID: to, MessageThreadID: thread, FromChatID: from, MessageID: msgs[0].ID}
		if long {
			parts := split(msgs[0].Caption, maxCaption)
			p.Caption, rest = parts[0], parts[1:]
		}
		id, err := do(ctx, d.tg, "copyMessage", d.tg.api.CopyMessage, p)
		if err != nil {
			return nil, nil, err
		}
		return []int{id.ID}, rest, nil
	case long:
		var items []models.InputMedia
		items, rest = mediaOf(msgs)
		sent, err := do(ctx, d.tg, "sendMediaGroup", d.tg.api.SendMediaGroup,
			&tg.SendMediaGroupParams{ChatID: to, MessageThreadID: thread, Media: items})
		return idsOf(sent), rest, err
	}
	ids := make([]int, 0, len(msgs))
	for _, m := range msgs {
		ids = append(ids, m.ID)
	}
	slices.Sort(ids)
	copies, err := do(ctx, d.tg, "copyMessages", d.tg.api.CopyMessages,
		&tg.CopyMessagesParams{ChatID: to, MessageThreadID: thread, FromChatID: from, MessageIDs: ids})
	for _, c := range copies {
		posted = append(posted, c.ID)
	}
	return posted, nil, err
}

// mediaOf rebuilds an album from its messages' files, each caption cut to
// what a bot may send; the cut-off rest of the captions is returned as text.
func mediaOf(msgs []flows.Message) (items []models.InputMedia, rest []string) {
	for _, m := range msgs {
		caption := ""
		if m.Caption != "" {
			parts := split(m.Caption, maxCaption)
			caption, rest = parts[0], append(rest, parts[1:]...)
		}
		switch m.Media {
		case "document":
			items = append(items, &models.InputMediaDocument{Media: m.File, Caption: caption})
		case "video":
			items = append(items, &models.InputMediaVideo{Media: m.File, Caption: caption})
		case "audio":
			items = append(items, &models.InputMediaAudio{Media: m.File, Caption: caption})
		default:
			items = append(items, &models.InputMediaPhoto{Media: m.File, Caption: caption})
		}
	}
	return items, rest
}

// --- the queue ---

// poke asks for the queue to be refreshed soon.
func (d *desk) poke() {
	select {
	case d.kick <- struct{}{}:
	default:
	}
}

// start checks the bot's rights in the staff group, then keeps the queue
// message up to date: at every change of a case, and every QueueEvery for
// the waiting times. One replica does it at a time.
func (d *desk) start(ctx context.Context) {
	d.setCommands(ctx)
	if err := d.migrate(ctx); err != nil {
		d.logger.Warn("bot: updating the staff desk's record", "err", err)
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		d.checkRights(ctx)
		t := time.NewTicker(d.queueEvery)
		defer t.Stop()
		for {
			d.refreshQueue(ctx)
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			case <-d.kick:
				// Changes come in bursts (a card, then its documents):
				// one refresh after a short pause covers them.
				if !sleep(ctx, time.Second) {
					return
				}
			}
		}
	}()
}

func (d *desk) wait() { d.wg.Wait() }

func (d *desk) refreshQueue(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 2*apiTimeout)
	defer cancel()
	lead, err := d.st.Lease(ctx, "staff-queue", d.owner, 2*d.queueEvery+leaseTTL)
	if err != nil || !lead {
		if err != nil && ctx.Err() == nil {
			d.logger.Warn("bot: staff queue lease", "err", err)
		}
		return
	}
	if err := d.queue(ctx); err != nil && ctx.Err() == nil {
		d.logger.Warn("bot: refreshing the staff queue", "err", err)
	}
}

func (d *desk) queue(ctx context.Context) error {
	rec, err := d.load(ctx)
	if err != nil {
		return err
	}
	var waiting []flows.Waiting
	for _, c := range rec.Cases {
		if c.Status == flows.CaseWaiting {
			waiting = append(waiting, flows.Waiting{Title: c.Title, Since: c.Since, Link: topicLink(rec.Chat, c.Topic)})
		}
	}
	text := clipText(d.flow.Queue(waiting, d.now()))
	if text == rec.QueueText && rec.Queue != 0 {
		return nil
	}
	id := rec.Queue
	if id != 0 {
		_, err := do(ctx, d.tg, "editMessageText", d.tg.api.EditMessageText, &tg.EditMessageTextParams{ChatID: rec.Chat, MessageID: id, Text: text})
		switch {
		case err == nil, isNotModified(err):
		case errors.Is(err, tg.ErrorBadRequest):
			id = 0 // deleted by hand, or too old to edit: post a new one
		default:
			return fmt.Errorf("bot: edit the staff queue: %w", err)
		}
	}
	if id == 0 {
		if id, err = d.sendText(ctx, rec.Chat, 0, text, nil); err != nil {
			return err
		}
	}
	return d.save(ctx, func(r *deskRecord) {
		if r.Chat == rec.Chat {
			r.Queue, r.QueueText = id, text
		}
	})
}

// setCommands shows the staff commands in the staff group's command menu.
func (d *desk) setCommands(ctx context.Context) {
	staff, err := d.current(ctx)
	if err != nil {
		d.logger.Warn("bot: staff commands", "err", err)
		return
	}
	cat := d.flow.Catalog()
	var cmds []models.BotCommand
	for _, c := range []string{"takeover", "release", "close", "note", "card"} {
		cmds = append(cmds, models.BotCommand{Command: c, Description: cat.Text(d.lang, "cmd_staff_"+c, nil)})
	}
	_, err = do(ctx, d.tg, "setMyCommands", d.tg.api.SetMyCommands, &tg.SetMyCommandsParams{Commands: cmds, Scope: &models.BotCommandScopeChat{ChatID: staff}})
	if err != nil {
		d.logger.Warn("bot: setMyCommands for the staff group failed", "err", err)
	}
}

// topicLink links to a topic of a supergroup (t.me/c/<id>/<topic>).
func topicLink(chat int64, topic int) string {
	const prefix = -1_000_000_000_000
	if chat > prefix || topic == 0 {
		return ""
	}
	return "https://t.me/c/" + strconv.FormatInt(prefix-chat, 10) + "/" + strconv.Itoa(topic)
}

func digestOf(c flows.Card) string {
	h := sha256.New()
	h.Write([]byte(c.Title))
	h.Write([]byte{0})
	h.Write([]byte(c.Text))
	for _, row := range c.Buttons {
		for _, b := range row {
			h.Write([]byte{0})
			h.Write([]byte(b.Data))
		}
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// clipText keeps a text within one message.
func clipText(s string) string {
	if utf16Len(s) <= maxText {
		return s
	}
	return split(s, maxText-1)[0] + "…"
}
