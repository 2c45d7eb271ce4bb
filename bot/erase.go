package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
)

// What the bot posted in each case's topic (the card, the documents, the
// copies of the applicant's messages, its notices) is recorded as it is
// posted, so that an erased case's topic can be emptied of all of it (and
// of the staff's messages, which the case remembers) when the topic itself
// cannot be deleted.

// postedSpace is the store's record space of the lists of messages the bot
// posted in a topic, keyed like the topics' entries ([desk.topicRec]) and
// kept as long ([desk.life]).
const postedSpace = "posted"

// maxPosted bounds the messages recorded for one topic.
const maxPosted = 20000

// postedRec is what the bot posted in a topic: its messages, and how many
// times it renamed the topic (each rename leaves a notice, showing the new
// name, whose id Telegram does not tell).
type postedRec struct {
	IDs     []int `json:"ids,omitempty"`
	Renames int   `json:"renames,omitempty"`
	// An erasure's progress, so that a drop tried again after a temporary
	// failure neither counts again nor tells the staff twice: emptied,
	// with this many messages left; the staff told.
	Emptied bool `json:"emptied,omitempty"`
	Left    int  `json:"left,omitempty"`
	Noted   bool `json:"noted,omitempty"`
}

// notePosted records messages the bot posted in a topic.
func (d *desk) notePosted(ctx context.Context, topic int, ids ...int) error {
	if topic == 0 || len(ids) == 0 {
		return nil
	}
	return d.updatePosted(ctx, topic, func(r *postedRec) {
		for _, id := range ids {
			if !slices.Contains(r.IDs, id) {
				r.IDs = append(r.IDs, id)
			}
		}
		if len(r.IDs) > maxPosted {
			r.IDs = r.IDs[len(r.IDs)-maxPosted:]
		}
	})
}

// noteRenamed records that the bot renamed a topic.
func (d *desk) noteRenamed(ctx context.Context, topic int) error {
	return d.updatePosted(ctx, topic, func(r *postedRec) { r.Renames++ })
}

func (d *desk) updatePosted(ctx context.Context, topic int, fn func(r *postedRec)) error {
	if err := updateRecordJSON(ctx, d.st, postedSpace, d.topicRec(topic), d.life(), fn); err != nil {
		return fmt.Errorf("bot: record the messages posted in a staff topic: %w", err)
	}
	return nil
}

// postedIn is what the bot recorded as posted in a topic; found is false
// when nothing is recorded (never, or the record expired with the case's
// other records).
func (d *desk) postedIn(ctx context.Context, topic int) (r postedRec, found bool, err error) {
	raw, ok, err := d.st.GetRecord(ctx, postedSpace, d.topicRec(topic))
	if err != nil {
		return postedRec{}, false, fmt.Errorf("bot: read the messages posted in a staff topic: %w", err)
	}
	if ok {
		if err := json.Unmarshal(raw, &r); err != nil {
			d.logger.Error("bot: unreadable list of a staff topic's messages", "err", err)
			return postedRec{}, false, nil
		}
	}
	return r, ok, nil
}

// forgetPosted drops the record of a topic's messages.
func (d *desk) forgetPosted(ctx context.Context, topic int) error {
	if err := d.st.DeleteRecord(ctx, postedSpace, d.topicRec(topic)); err != nil {
		return fmt.Errorf("bot: forget the messages posted in a staff topic: %w", err)
	}
	return nil
}

// idsOf are the ids of messages Telegram returned.
func idsOf(msgs []*models.Message) []int {
	ids := make([]int, 0, len(msgs))
	for _, m := range msgs {
		if m != nil {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

// empty deletes every message of an erased case's topic that the bot
// posted or knows of (the staff's, in ids), then closes the topic under a
// name that says it was erased. It returns how many messages stay: without
// the right to delete messages, the staff's messages and the bot's own
// older than 48 hours, and always Telegram's notices of the topic's
// creation and renamings, which show its names and which no bot may
// delete. It is -1 when the bot has no record of what it posted there, so
// cannot tell. A temporary failure is returned as an error, and the whole
// drop is tried again (what is gone is skipped).
func (d *desk) empty(ctx context.Context, staff int64, thread int, known []int) (left int, err error) {
	posted, found, err := d.postedIn(ctx, thread)
	if err != nil {
		return 0, err
	}
	if posted.Emptied {
		return posted.Left, nil
	}
	left = 1 + posted.Renames // the notices of the topic's creation and renamings
	ids := slices.Concat(posted.IDs, known)
	slices.Sort(ids)
	ids = slices.Compact(ids)
	ids = slices.DeleteFunc(ids, func(id int) bool { return id == thread }) // the topic's creation message
	for len(ids) > 0 {
		n := min(len(ids), 100)
		batch := ids[:n]
		ids = ids[n:]
		_, err := do(ctx, d.tg, "deleteMessages", d.tg.api.DeleteMessages, &tg.DeleteMessagesParams{ChatID: staff, MessageIDs: batch})
		switch {
		case err == nil:
			continue
		case !refusesForGood(err):
			return 0, fmt.Errorf("bot: delete an erased case's messages: %w", err)
		}
		// Some may not be deleted: one at a time, to delete the others
		// and count those.
		for _, id := range batch {
			_, err := do(ctx, d.tg, "deleteMessage", d.tg.api.DeleteMessage, &tg.DeleteMessageParams{ChatID: staff, MessageID: id})
			switch {
			case err == nil, isDeleteGone(err):
			case refusesForGood(err):
				left++
			default:
				return 0, fmt.Errorf("bot: delete an erased case's message: %w", err)
			}
		}
	}
	name := d.flow.Catalog().Text(d.lang, "topic_erased", nil)
	if _, err := do(ctx, d.tg, "editForumTopic", d.tg.api.EditForumTopic, &tg.EditForumTopicParams{ChatID: staff, MessageThreadID: thread, Name: name}); err != nil && !isNotModified(err) {
		d.logger.Warn("bot: renaming an erased case's topic", "err", err)
	}
	if _, err := do(ctx, d.tg, "closeForumTopic", d.tg.api.CloseForumTopic, &tg.CloseForumTopicParams{ChatID: staff, MessageThreadID: thread}); err != nil && !isNotModified(err) {
		d.logger.Warn("bot: closing an erased case's topic", "err", err)
	}
	if !found {
		left = -1
	}
	return left, d.updatePosted(ctx, thread, func(r *postedRec) { r.Emptied, r.Left = true, left })
}

// reportLeft tells the staff, in the General topic (the case's topic is
// closed), that messages of an erased case stay in its topic (left of
// them, or an unknown number when left is -1), and the applicant who asked
// for the erasure (lang set) that they could not all be removed.
func (d *desk) reportLeft(ctx context.Context, chat, staff int64, thread, left int, lang string) error {
	cat := d.flow.Catalog()
	rec, _, err := d.postedIn(ctx, thread)
	if err != nil {
		return err
	}
	text := func(lang, id string, data map[string]any) string {
		if left < 0 {
			return cat.Text(lang, id+"_unknown", data)
		}
		return cat.Plural(lang, id, left, data)
	}
	if !rec.Noted {
		d.logger.Warn("bot: messages of an erased case stay in its staff topic; staff were asked to delete them", "left", left)
		note := text(d.lang, "staff_erase_left", map[string]any{"Link": topicLink(staff, thread)})
		if _, err := d.sendText(ctx, staff, 0, note, nil); err != nil {
			if !refusesForGood(err) {
				return err
			}
			d.logger.Warn("bot: telling the staff about an erased case's messages", "err", err)
		}
		if err := d.updatePosted(ctx, thread, func(r *postedRec) { r.Noted = true }); err != nil {
			return err
		}
	}
	if lang == "" {
		return nil
	}
	if err := d.pace.chat(chat); err != nil {
		return err
	}
	if _, err := do(ctx, d.tg, "sendMessage", d.tg.api.SendMessage, &tg.SendMessageParams{ChatID: chat, Text: text(lang, "forget_left", nil)}); err != nil {
		if !refusesForGood(err) {
			return fmt.Errorf("bot: tell the applicant what stays in the staff group: %w", err)
		}
		d.logger.Warn("bot: telling the applicant what stays in the staff group", "err", err)
	}
	return nil
}
