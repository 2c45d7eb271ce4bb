package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aimabot/aimabot/flows"
)

// repliesSpace holds the saved replies the team wrote with /savereply, one
// record per staff chat: a map of key to SavedReply. They are the team's
// words, not an applicant's data, so they are kept [repliesLife] after the
// last change.
const (
	repliesSpace = "replies"
	repliesLife  = 10 * 365 * 24 * time.Hour
)

// savedReplies returns the team's saved replies, by key.
func (d *desk) savedReplies(ctx context.Context) (map[string]flows.SavedReply, error) {
	raw, ok, err := d.st.GetRecord(ctx, repliesSpace, d.recKey())
	if err != nil {
		return nil, fmt.Errorf("bot: read the saved replies: %w", err)
	}
	out := map[string]flows.SavedReply{}
	if !ok {
		return out, nil
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		d.logger.Warn("the saved replies cannot be read; the shipped ones are used", "err", err)
		return map[string]flows.SavedReply{}, nil
	}
	return out, nil
}

// savedReply is the team's saved reply of a key, if they saved one: it
// takes precedence over the shipped one of the same key.
func (d *desk) savedReply(ctx context.Context, key string) (*flows.SavedReply, error) {
	all, err := d.savedReplies(ctx)
	if err != nil {
		return nil, err
	}
	if r, ok := all[strings.ToLower(strings.TrimSpace(key))]; ok {
		return &r, nil
	}
	return nil, nil
}

// allReplies are every saved reply by key: the shipped ones, and the team's,
// which take precedence.
func (d *desk) allReplies(ctx context.Context) (map[string]flows.SavedReply, error) {
	own, err := d.savedReplies(ctx)
	if err != nil {
		return nil, err
	}
	all := maps.Clone(d.flow.SavedReplies())
	maps.Copy(all, own)
	return all, nil
}

// replyKeys are the keys of every saved reply, in order.
func (d *desk) replyKeys(ctx context.Context) ([]string, error) {
	all, err := d.allReplies(ctx)
	if err != nil {
		return nil, err
	}
	return slices.Sorted(maps.Keys(all)), nil
}

// generalCommand answers a team member's command in the General topic:
// /queue shows the queue again, /replies lists the saved replies,
// /savereply saves one, /mine lists the member's cases. It reports whether
// the text was one of them.
func (d *desk) generalCommand(ctx context.Context, text string, member *flows.Agent) (bool, error) {
	in := flows.ParseText(text, "")
	if in.Kind != flows.Command {
		return false, nil
	}
	switch in.Command {
	case "mine":
		return true, d.mine(ctx, member, 0)
	case "stats":
		return true, d.stats(ctx)
	case "mute":
		return true, d.toggleMute(ctx, member)
	case "queue":
		d.poke()
		return true, nil
	case "replies":
		return true, d.listReplies(ctx)
	case "savereply":
		return true, d.saveReply(ctx, in.Text)
	}
	return false, nil
}

// listReplies posts every saved reply's key and its text in the team's
// language, the team's own first.
func (d *desk) listReplies(ctx context.Context) error {
	cat := d.flow.Catalog()
	all, err := d.allReplies(ctx)
	if err != nil {
		return err
	}
	if len(all) == 0 {
		return d.general(ctx, cat.Text(d.lang, "staff_replies_none", nil))
	}
	keys := slices.Sorted(maps.Keys(all))
	lines := []string{cat.Text(d.lang, "staff_replies_list", nil)}
	for _, k := range keys {
		text := []rune(all[k].Text[d.lang])
		if len(text) > 80 {
			text = append(text[:79], '…')
		}
		lines = append(lines, "• "+k+": "+strings.ReplaceAll(string(text), "\n", " "))
	}
	return d.general(ctx, strings.Join(lines, "\n"))
}

// saveReply stores a saved reply written as /savereply KEY and a line per
// language, or says what is missing.
func (d *desk) saveReply(ctx context.Context, args string) error {
	cat := d.flow.Catalog()
	r, err := flows.ParseSavedReply(args)
	if err != nil {
		problem := err.Error()
		var re *flows.ReplyError
		if errors.As(err, &re) {
			problem = re.Text(cat, d.lang)
		}
		return d.general(ctx, cat.Text(d.lang, "staff_savereply_usage", map[string]any{"Problem": problem}))
	}
	err = updateRecordJSON(ctx, d.st, repliesSpace, d.recKey(), repliesLife, func(all *map[string]flows.SavedReply) {
		if *all == nil {
			*all = map[string]flows.SavedReply{}
		}
		(*all)[r.Key] = r
	})
	if err != nil {
		return fmt.Errorf("bot: save a reply: %w", err)
	}
	return d.general(ctx, cat.Text(d.lang, "staff_savereply_done", map[string]any{"Key": r.Key}))
}

// general posts a text in the staff group's General topic.
func (d *desk) general(ctx context.Context, text string) error {
	staff, err := d.current(ctx)
	if err != nil {
		return err
	}
	_, err = d.sendText(ctx, staff, 0, text, nil)
	return err
}

// mine lists the cases a staff member has taken over, the one due first at
// the top, in the topic the command was typed in, by request and link.
func (d *desk) mine(ctx context.Context, member *flows.Agent, thread int) error {
	rec, err := d.load(ctx)
	if err != nil {
		return err
	}
	var cases []flows.Waiting
	for _, c := range rec.Cases {
		if member != nil && c.Agent == member.ID && c.Status == flows.CaseTaken {
			// Without the applicant's name: the answer stays in the
			// group after their case is erased; the link leads to it.
			_, title, _ := strings.Cut(c.Title, " · ")
			cases = append(cases, flows.Waiting{Title: title, Since: c.Since, Due: c.Due, Link: topicLink(rec.Chat, c.Topic)})
		}
	}
	name := ""
	if member != nil {
		name = member.Name
	}
	_, err = d.sendText(ctx, rec.Chat, thread, clipText(d.flow.Mine(name, cases)), nil)
	return err
}

// statsSpace keeps the facts of the cases opened in the last 30 days, for
// the team's figures: times and outcomes only (flows.CaseFact), keyed by the
// case's topic and opening, so that writing a case's fact again replaces it.
const statsSpace = "stats"

// noteFact records a case's fact for the figures and drops the facts too old
// to count.
func (d *desk) noteFact(ctx context.Context, topic int, s flows.Session) error {
	fact, ok := d.flow.Fact(s)
	if !ok || topic == 0 {
		return nil
	}
	key := fmt.Sprintf("%d:%d", topic, fact.Opened.UnixMilli())
	// Most changes of a case (a message, a document) leave its fact as it
	// was: written once here, it is not written again.
	d.cacheMu.Lock()
	same := d.facts[key] == fact
	d.cacheMu.Unlock()
	if same {
		return nil
	}
	kept := flows.StatsKept()
	now := d.now()
	err := updateRecordJSON(ctx, d.st, statsSpace, d.recKey(), kept, func(all *map[string]flows.CaseFact) {
		if *all == nil {
			*all = map[string]flows.CaseFact{}
		}
		for k, f := range *all {
			if now.Sub(f.Opened) > kept {
				delete(*all, k)
			}
		}
		(*all)[key] = fact
	})
	if err != nil {
		return fmt.Errorf("bot: record a case for the figures: %w", err)
	}
	d.cacheMu.Lock()
	if d.facts == nil || len(d.facts) > maxFactsCached {
		d.facts = map[string]flows.CaseFact{}
	}
	d.facts[key] = fact
	d.cacheMu.Unlock()
	return nil
}

// maxFactsCached bounds the facts a replica remembers as written.
const maxFactsCached = 10000

// caseFacts are the facts of the cases kept for the figures.
func (d *desk) caseFacts(ctx context.Context) ([]flows.CaseFact, error) {
	raw, ok, err := d.st.GetRecord(ctx, statsSpace, d.recKey())
	if err != nil {
		return nil, fmt.Errorf("bot: read the figures: %w", err)
	}
	var all map[string]flows.CaseFact
	if ok && json.Unmarshal(raw, &all) != nil {
		all = nil
	}
	facts := make([]flows.CaseFact, 0, len(all))
	for _, f := range all {
		facts = append(facts, f)
	}
	return facts, nil
}

// stats posts the team's figures in the General topic.
func (d *desk) stats(ctx context.Context) error {
	facts, err := d.caseFacts(ctx)
	if err != nil {
		return err
	}
	rec, err := d.load(ctx)
	if err != nil {
		return err
	}
	waiting := 0
	for _, c := range rec.Cases {
		if c.Status == flows.CaseWaiting {
			waiting++
		}
	}
	return d.general(ctx, clipText(d.flow.Stats(facts, waiting, d.now())))
}

// mutedSpace keeps the staff members who asked not to be mentioned.
const mutedSpace = "muted"

// muted returns the ids of the members who turned mentions off.
func (d *desk) muted(ctx context.Context) (map[int64]bool, error) {
	raw, ok, err := d.st.GetRecord(ctx, mutedSpace, d.recKey())
	if err != nil || !ok {
		return nil, err
	}
	var ids []int64
	if json.Unmarshal(raw, &ids) != nil {
		return nil, nil
	}
	out := map[int64]bool{}
	for _, id := range ids {
		out[id] = true
	}
	return out, nil
}

// unmuted drops the mentions of members who turned them off: their name
// stays, as plain text. When the list cannot be read, nobody is mentioned.
func (d *desk) unmuted(ctx context.Context, links []flows.Link) []flows.Link {
	var mentions bool
	for _, l := range links {
		mentions = mentions || strings.HasPrefix(l.URL, flows.MentionPrefix)
	}
	if !mentions {
		return links
	}
	muted, err := d.muted(ctx)
	out := make([]flows.Link, 0, len(links))
	for _, l := range links {
		if id, ok := strings.CutPrefix(l.URL, flows.MentionPrefix); ok {
			n, perr := strconv.ParseInt(id, 10, 64)
			if err != nil || perr != nil || muted[n] {
				continue
			}
		}
		out = append(out, l)
	}
	return out
}

// toggleMute turns a member's mentions off, or on again.
func (d *desk) toggleMute(ctx context.Context, member *flows.Agent) error {
	if member == nil {
		return nil
	}
	now := false
	err := updateRecordJSON(ctx, d.st, mutedSpace, d.recKey(), repliesLife, func(ids *[]int64) {
		if i := slices.Index(*ids, member.ID); i >= 0 {
			*ids = slices.Delete(*ids, i, i+1)
			return
		}
		*ids = append(*ids, member.ID)
		now = true
	})
	if err != nil {
		return fmt.Errorf("bot: mute mentions: %w", err)
	}
	key := "staff_unmuted"
	if now {
		key = "staff_muted"
	}
	return d.general(ctx, d.flow.Catalog().Text(d.lang, key, map[string]any{"Name": member.Name}))
}

// teamSpace keeps the staff members the desk has seen write in the group,
// by id, with the name they go by: whom /assign can name.
const teamSpace = "team"

// noteMember records a staff member who wrote in the group, once per name.
func (d *desk) noteMember(ctx context.Context, a *flows.Agent) error {
	if a == nil {
		return nil
	}
	d.cacheMu.Lock()
	known := d.members[a.ID] == a.Name
	d.cacheMu.Unlock()
	if known {
		return nil
	}
	err := updateRecordJSON(ctx, d.st, teamSpace, d.recKey(), repliesLife, func(m *map[int64]string) {
		if *m == nil {
			*m = map[int64]string{}
		}
		(*m)[a.ID] = a.Name
	})
	if err != nil {
		return fmt.Errorf("bot: remember a staff member: %w", err)
	}
	d.cacheMu.Lock()
	if d.members == nil {
		d.members = map[int64]string{}
	}
	d.members[a.ID] = a.Name
	d.cacheMu.Unlock()
	return nil
}

// team lists the staff members the desk has seen, by name.
func (d *desk) team(ctx context.Context) ([]flows.Agent, error) {
	raw, ok, err := d.st.GetRecord(ctx, teamSpace, d.recKey())
	if err != nil {
		return nil, fmt.Errorf("bot: read the team: %w", err)
	}
	var m map[int64]string
	if ok && json.Unmarshal(raw, &m) != nil {
		m = nil
	}
	out := make([]flows.Agent, 0, len(m))
	for id, name := range m {
		out = append(out, flows.Agent{ID: id, Name: name})
	}
	slices.SortFunc(out, func(a, b flows.Agent) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}
