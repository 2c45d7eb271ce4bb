package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
)

// Where each case is shown in the staff group (its topic, its card, the
// documents posted there) is the desk's own record, in caseSpace, keyed by
// the staff group and the applicant's chat: the conversation knows the
// case, the desk knows where it is shown. A case's record is written as
// its topic is brought up to date, lives as long as the case's other
// records ([desk.life]) and is deleted with the case (drop). Sessions that
// older versions wrote carry that bookkeeping themselves (flows.Legacy); it
// seeds the record when there is none.

// caseSpace is the store's record space of the cases' places in the staff
// group.
const caseSpace = "case"

// caseRec is where a case is shown in the staff group.
type caseRec struct {
	Topic  int      `json:"topic,omitempty"`  // the topic's thread id
	Card   int      `json:"card,omitempty"`   // the card's message id
	Shown  string   `json:"shown,omitempty"`  // digest of the card and topic name as last shown
	Posted []string `json:"posted,omitempty"` // file refs of the documents posted to the topic
}

// caseKey is a case's key in caseSpace.
func (d *desk) caseKey(chat int64) string {
	return strconv.FormatInt(d.key, 10) + ":" + strconv.FormatInt(chat, 10)
}

// caseRecord reads where the case of chat is shown; ok is false when the
// desk has no record of it.
func (d *desk) caseRecord(ctx context.Context, chat int64) (r caseRec, ok bool, err error) {
	raw, ok, err := d.st.GetRecord(ctx, caseSpace, d.caseKey(chat))
	if err != nil {
		return caseRec{}, false, fmt.Errorf("bot: read where a case is shown: %w", err)
	}
	if ok && json.Unmarshal(raw, &r) != nil {
		d.logger.Error("bot: unreadable record of where a case is shown; showing the case anew")
		return caseRec{}, true, nil
	}
	return r, ok, nil
}

// shown reads where the case of chat (whose session is s) is shown; a case
// an older version showed is recorded from its session first.
func (d *desk) shown(ctx context.Context, chat int64, s flows.Session) (caseRec, error) {
	r, ok, err := d.caseRecord(ctx, chat)
	if err != nil || ok {
		return r, err
	}
	if s.Human == nil || s.Human.Legacy.Topic == 0 {
		return caseRec{}, nil
	}
	l := s.Human.Legacy
	r = caseRec{Topic: l.Topic, Card: l.Card, Shown: l.Shown, Posted: l.Posted}
	return r, d.setCase(ctx, chat, func(c *caseRec) {
		if c.Topic == 0 {
			*c = r
		}
	})
}

// setCase changes the record of where the case is shown.
func (d *desk) setCase(ctx context.Context, chat int64, fn func(c *caseRec)) error {
	if err := updateRecordJSON(ctx, d.st, caseSpace, d.caseKey(chat), d.life(), fn); err != nil {
		return fmt.Errorf("bot: record where a case is shown: %w", err)
	}
	return nil
}

// session reads the chat's session; errNoCase when it has no case.
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

// where reads the chat's session, where its case is shown and the staff
// chat's id now.
func (d *desk) where(ctx context.Context, chat int64) (flows.Session, caseRec, int64, error) {
	s, err := d.session(ctx, chat)
	if err != nil {
		return s, caseRec{}, 0, err
	}
	r, err := d.shown(ctx, chat, s)
	if err != nil {
		return s, r, 0, err
	}
	staff, err := d.current(ctx)
	return s, r, staff, err
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
			if err := d.setCase(ctx, chat, func(c *caseRec) { *c = caseRec{} }); err != nil {
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

// drop deletes the topic of an erased case and the desk's records of it.
// Where the topic cannot be deleted (the bot lacks the right to delete
// messages), it is emptied of every message the bot posted there and of the
// staff's it knows of, closed and renamed; what could not be deleted is
// counted and reported to the staff and, when the applicant asked for the
// erasure, to them.
func (d *desk) drop(ctx context.Context, chat int64, o op) error {
	staff, err := d.current(ctx)
	if err != nil {
		return err
	}
	thread, err := d.droppedTopic(ctx, chat, o)
	if err != nil || thread == 0 {
		return err // never shown: nothing in the staff group
	}
	_, err = do(ctx, d.tg, "deleteForumTopic", d.tg.api.DeleteForumTopic, &tg.DeleteForumTopicParams{ChatID: staff, MessageThreadID: thread})
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
		left, err := d.empty(ctx, staff, thread, o.IDs)
		if err != nil {
			return err
		}
		if left != 0 {
			if err := d.reportLeft(ctx, chat, staff, thread, left, o.Lang); err != nil {
				return err
			}
		}
	}
	return d.forgetCase(ctx, chat, thread)
}

// droppedTopic is the topic of an erased case: the desk's record's, else
// the one an older version kept in the session, which the drop carries.
func (d *desk) droppedTopic(ctx context.Context, chat int64, o op) (int, error) {
	r, _, err := d.caseRecord(ctx, chat)
	if err != nil || r.Topic != 0 {
		return r.Topic, err
	}
	return o.Thread, nil
}

// forgetCase deletes the desk's records of an erased case shown in thread.
func (d *desk) forgetCase(ctx context.Context, chat int64, thread int) error {
	if err := d.forgetPosted(ctx, thread); err != nil {
		return err
	}
	if err := d.st.DeleteRecord(ctx, topicSpace, d.topicRec(thread)); err != nil {
		return fmt.Errorf("bot: forget an erased case's topic: %w", err)
	}
	if err := d.st.Delete(ctx, topicKey(thread)); err != nil {
		return fmt.Errorf("bot: forget an erased case's topic: %w", err)
	}
	if err := d.st.DeleteRecord(ctx, caseSpace, d.caseKey(chat)); err != nil {
		return fmt.Errorf("bot: forget where an erased case was shown: %w", err)
	}
	d.mu.Lock()
	delete(d.topics, thread)
	d.mu.Unlock()
	return d.save(ctx, func(r *deskRecord) {
		if e, ok := r.Cases[chat]; ok && e.Topic == thread {
			delete(r.Cases, chat)
		}
	})
}

func (d *desk) reopen(ctx context.Context, chat int64) error {
	_, r, staff, err := d.where(ctx, chat)
	if err != nil {
		return err
	}
	_, err = do(ctx, d.tg, "reopenForumTopic", d.tg.api.ReopenForumTopic, &tg.ReopenForumTopicParams{ChatID: staff, MessageThreadID: r.Topic})
	if err != nil && !isNotModified(err) {
		return fmt.Errorf("bot: reopen a case's topic: %w", err)
	}
	return nil
}

// topic is the case's topic, opened (with its card and documents) if it has
// none yet. A case shown already needs no read of its session; one not in
// the desk's record is shown by sync (which takes an older version's topic
// from the session), then read again.
func (d *desk) topic(ctx context.Context, chat int64) (staff int64, thread int, err error) {
	r, _, err := d.caseRecord(ctx, chat)
	if err != nil {
		return 0, 0, err
	}
	if r.Topic == 0 {
		if err := d.sync(ctx, chat); err != nil {
			return 0, 0, err
		}
		if r, _, err = d.caseRecord(ctx, chat); err != nil {
			return 0, 0, err
		}
	}
	staff, err = d.current(ctx)
	return staff, r.Topic, err
}

// sync brings the case's topic up to date: it opens the topic (named for
// the case) with the card, edits the card and the name as the case
// changes, posts the documents not yet posted, and refreshes the desk's
// record of the case. Every step is recorded as it succeeds, so a retry
// after a failure or a crash carries on rather than repeats.
func (d *desk) sync(ctx context.Context, chat int64) error {
	s, r, staff, err := d.where(ctx, chat)
	if err != nil {
		return err
	}
	rec, err := d.load(ctx)
	if err != nil {
		return err
	}
	card := d.flow.Card(s, d.now())
	entry := rec.Cases[chat]
	if r.Topic == 0 {
		if r, err = d.open(ctx, chat, staff, s, card, entry.Topic); err != nil {
			return err
		}
		entry.Title = card.Title
	}
	if err := d.showCard(ctx, chat, staff, &r, card); err != nil {
		return err
	}
	if entry.Title != "" && entry.Title != card.Title {
		if err := d.rename(ctx, staff, r.Topic, card.Title); err != nil {
			return err
		}
	}
	if err := d.postDocuments(ctx, chat, staff, r, s); err != nil {
		return err
	}
	if err := d.noteFact(ctx, r.Topic, s); err != nil {
		return err
	}
	have, listed := rec.Cases[chat]
	if now := d.deskEntry(s, r.Topic, card.Title); (listed && now == have) || (!listed && now.Status == flows.CaseClosed) {
		return nil // the card changed (a message, a document), not the case's place in the queue
	}
	if err := d.index(ctx, chat, s, r.Topic, card.Title); err != nil {
		return err
	}
	d.poke()
	return nil
}

// open opens the case's topic, named for the case, and records it; old is
// the topic the desk's record named, deleted since, whose messages went
// with it.
func (d *desk) open(ctx context.Context, chat, staff int64, s flows.Session, card flows.Card, old int) (caseRec, error) {
	if err := d.pace.chat(staff); err != nil {
		return caseRec{}, err
	}
	t, err := do(ctx, d.tg, "createForumTopic", d.tg.api.CreateForumTopic, &tg.CreateForumTopicParams{ChatID: staff, Name: card.Title})
	if err != nil {
		return caseRec{}, fmt.Errorf("bot: open a case's topic: %w", err)
	}
	r := caseRec{Topic: t.MessageThreadID}
	// Known here at once, so that a staff message in the new topic finds
	// the case while the topic is being recorded.
	d.mu.Lock()
	d.topics[r.Topic] = chat
	d.mu.Unlock()
	if err := d.setCase(ctx, chat, func(c *caseRec) { *c = r }); err != nil {
		return r, err
	}
	// Record the topic at once, so that a staff reply can find the case.
	if err := d.setTopic(ctx, r.Topic, chat); err != nil {
		return r, err
	}
	if err := d.index(ctx, chat, s, r.Topic, card.Title); err != nil {
		return r, err
	}
	if old != 0 && old != r.Topic {
		if err := d.forgetPosted(ctx, old); err != nil { // that topic was deleted, with its messages
			return r, err
		}
		note := d.flow.Catalog().Text(d.lang, "staff_topic_recreated", nil)
		if _, err := d.sendText(ctx, staff, r.Topic, note, nil); err != nil {
			return r, err
		}
	}
	return r, nil
}

// showCard posts the case's card in its topic, or edits it when the case
// changed since it was last shown.
func (d *desk) showCard(ctx context.Context, chat, staff int64, r *caseRec, card flows.Card) error {
	digest := digestOf(card)
	switch {
	case r.Card == 0:
		id, err := d.sendText(ctx, staff, r.Topic, clipText(card.Text), card.Buttons)
		if err != nil {
			return err
		}
		r.Card, r.Shown = id, digest
		return d.setCase(ctx, chat, func(c *caseRec) { c.Card, c.Shown = id, digest })
	case r.Shown == digest:
		return nil
	}
	_, err := do(ctx, d.tg, "editMessageText", d.tg.api.EditMessageText, &tg.EditMessageTextParams{ChatID: staff, MessageID: r.Card,
		Text: clipText(card.Text), ReplyMarkup: keyboardOf(buttonsOf(card.Buttons))})
	switch {
	case isMessageGone(err):
		// The card was deleted by hand: post it again.
		r.Card = 0
		if err := d.setCase(ctx, chat, func(c *caseRec) { c.Card = 0 }); err != nil {
			return err
		}
		return d.showCard(ctx, chat, staff, r, card)
	case err != nil && !isNotModified(err):
		return fmt.Errorf("bot: edit a case card: %w", err)
	}
	r.Shown = digest
	return d.setCase(ctx, chat, func(c *caseRec) { c.Shown = digest })
}

// rename gives the case's topic the case's name now.
func (d *desk) rename(ctx context.Context, staff int64, thread int, title string) error {
	_, err := do(ctx, d.tg, "editForumTopic", d.tg.api.EditForumTopic, &tg.EditForumTopicParams{ChatID: staff, MessageThreadID: thread, Name: title})
	switch {
	case isNotModified(err):
		return nil
	case err != nil:
		return fmt.Errorf("bot: rename a case's topic: %w", err)
	}
	return d.noteRenamed(ctx, thread)
}

// postDocuments posts the documents not yet in the topic, by file id (no
// download): photos as albums of photos, files as albums of files, each
// captioned with what it is.
func (d *desk) postDocuments(ctx context.Context, chat, staff int64, r caseRec, s flows.Session) error {
	var photos, files []models.InputMedia
	var refs []string
	for _, doc := range s.Docs {
		if slices.Contains(r.Posted, doc.Ref) {
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
			if err := d.sendMedia(ctx, staff, r.Topic, group[:n]); err != nil {
				return err
			}
			group = group[n:]
		}
	}
	if len(refs) == 0 {
		return nil
	}
	return d.setCase(ctx, chat, func(c *caseRec) { c.Posted = append(c.Posted, refs...) })
}
