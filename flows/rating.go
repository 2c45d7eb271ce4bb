package flows

import "time"

// Rating is the applicant's answer, once a case closed, to whether they got
// what they needed, with an optional comment.
type Rating struct {
	Score   string    `json:"score"` // RatedYes, RatedPartly or RatedNo
	Comment string    `json:"comment,omitempty"`
	At      time.Time `json:"at"`
}

// The answers to "Did you get what you needed?".
const (
	RatedYes    = "yes"
	RatedPartly = "partly"
	RatedNo     = "no"
)

// confirmRateComment: Session.Confirming while the applicant writes their
// comment on the help.
const confirmRateComment = "rate_comment"

// maxComment bounds a rating's comment.
const maxComment = 500

// askRating asks the applicant, once per close, whether they got what they
// needed.
func (t *turn) askRating() {
	c := t.s.Human
	if !t.f.staff || c == nil {
		return
	}
	c.RateAsked, c.Rating = true, nil
	t.say("rate_ask", nil)
	var row []ButtonSpec
	for _, r := range []string{RatedYes, RatedPartly, RatedNo} {
		row = append(row, t.btn(t.tr("btn_rate_"+r, nil), actRate, r))
	}
	t.send(row)
}

// rate takes the applicant's rating, or their wish to add a comment. A
// rating is taken once; a press after it, or of a case that asked for none,
// only says so.
func (t *turn) rate(action, score string) error {
	c := t.s.Human
	if c == nil || !c.RateAsked {
		t.say("stale_button", nil)
		t.ask()
		return nil
	}
	if action == actRateComment {
		if c.Rating == nil {
			t.say("stale_button", nil)
			t.ask()
			return nil
		}
		t.s.Confirming = confirmRateComment
		t.say("rate_comment_prompt", nil)
		t.send()
		return nil
	}
	if c.Rating != nil {
		t.say("rate_already", nil)
		t.send()
		return nil
	}
	switch score {
	case RatedYes, RatedPartly, RatedNo:
	default:
		t.say("stale_button", nil)
		t.ask()
		return nil
	}
	c.Rating = &Rating{Score: score, At: t.now}
	t.out = append(t.out, Reply{Event: EventRated + "_" + score})
	t.staffSay("staff_rated", map[string]any{"Rating": t.staffText("rating_"+score, nil)})
	t.cardChanged()
	t.say("rate_thanks", nil)
	t.send(t.button("btn_rate_comment", nil, actRateComment))
	return nil
}

// rateComment takes the applicant's comment on the help.
func (t *turn) rateComment() {
	t.s.Confirming = ""
	if c := t.s.Human; c != nil && c.Rating != nil {
		c.Rating.Comment = clip(t.in.Text, maxComment)
		t.staffSay("staff_rate_comment", map[string]any{"Comment": quote(c.Rating.Comment)})
		t.cardChanged()
	}
	t.say("rate_comment_thanks", nil)
	t.send()
	t.ask()
}
