package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"strconv"
	"sync"
	"time"

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

	// What this replica last wrote, not to write it again: the cases'
	// facts for the figures, and the staff members by id.
	cacheMu sync.Mutex
	facts   map[string]flows.CaseFact
	members map[int64]string

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
	Since  time.Time `json:"since"`           // when a person was asked for
	Due    time.Time `json:"due,omitzero"`    // when the team's answer is due, if it is the team's turn
	Agent  int64     `json:"agent,omitempty"` // the staff member who has the case, while taken
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

// deskEntry is the case as the desk's record keeps it.
func (d *desk) deskEntry(s flows.Session, topic int, title string) deskCase {
	e := deskCase{Topic: topic, Title: title, Status: s.CaseStatus(), Since: s.Human.At.UTC(), Due: d.flow.ReplyDue(s).UTC()}
	if a := s.Human.Agent; a != nil && e.Status == flows.CaseTaken {
		e.Agent = a.ID
	}
	return e
}

// index records the case in the desk's record while it is open, and
// takes it out when it is closed. It returns once the record is written,
// in one write with the other cases' changes that came meanwhile.
func (d *desk) index(ctx context.Context, chat int64, s flows.Session, topic int, title string) error {
	var e *deskCase
	if now := d.deskEntry(s, topic, title); now.Status != flows.CaseClosed {
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
