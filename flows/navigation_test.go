package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// play runs transcript-style inputs ("[Label]", "photo 1000", "/start",
// text) from a new session, stopping the test at a button that is not in
// the last replies. It returns the session and the last replies.
func play(t *testing.T, f *Flow, now time.Time, lines ...string) (Session, []Reply) {
	t.Helper()
	return playFrom(t, f, now, "en", lines...)
}

// playFrom is play from an app in the client language.
func playFrom(t *testing.T, f *Flow, now time.Time, client string, lines ...string) (Session, []Reply) {
	t.Helper()
	var s Session
	var last []Reply
	files := 0
	for _, line := range lines {
		in, ok := parseInput(t, line, client, last, &files)
		if !ok {
			t.Fatalf("after %q: no button %s in %+v", lines, line, last)
		}
		var err error
		s, last, err = f.Step(s, in, now)
		if err != nil {
			t.Fatalf("Step(%s): %v", line, err)
		}
	}
	return s, last
}

func texts(replies []Reply) string {
	var out []string
	for _, r := range replies {
		out = append(out, r.Text)
	}
	return strings.Join(out, "\n")
}

var (
	tourNow     = time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	toDocuments = []string{"/start", "[My card was lost, stolen or damaged]", "[I lost it]", "26/07/2028", "[Continue]"}
)

func with(base []string, more ...string) []string {
	return append(append([]string(nil), base...), more...)
}

// /start and /restart erase nothing without asking once something was
// answered; at the beginning they just start.
func TestStartAsksMidConversation(t *testing.T) {
	f := newFlow(t)
	tests := []struct {
		name   string
		inputs []string
		ask    bool   // whether /start asks before erasing
		state  string // the state after /start
	}{
		{"greeting", []string{"/start", "/start"}, false, StateSituation},
		{"nothing answered", []string{"/start", "/start"}, false, StateSituation},
		{"a question typed", []string{"/start", "[I have a question]", "/restart"}, false, StateSituation},
		{"a request chosen", []string{"/start", "[My card was lost, stolen or damaged]", "/start"}, true, StateReason},
		{"a date given", with(toDocuments[:4], "/restart"), true, StateVerdict},
		{"a document sent", with(toDocuments, "photo 1000", "/start"), true, StateDocuments},
	}
	for _, tt := range tests {
		s, replies := play(t, f, tourNow, tt.inputs...)
		asked := strings.Contains(texts(replies), "start again from the beginning?")
		if asked != tt.ask || s.State != tt.state {
			t.Errorf("%s: /start asks = %v in state %s; want %v in state %s", tt.name, asked, s.State, tt.ask, tt.state)
		}
		if tt.ask && s.Confirming != "restart" {
			t.Errorf("%s: Confirming = %q; want %q", tt.name, s.Confirming, "restart")
		}
	}
}

// Continue keeps everything and asks the step's question again; Start
// again erases; the confirmation's buttons do nothing once it is over.
func TestStartConfirmation(t *testing.T) {
	f := newFlow(t)
	mid := with(toDocuments, "photo 1000", "/start")
	const erase = "[Start again (erases your answers and documents)]"
	tests := []struct {
		name   string
		inputs []string
		state  string
		docs   int    // documents kept
		kind   bool   // whether the request is kept
		say    string // in the last replies
	}{
		{"continue", with(mid, "[Continue]"), StateDocuments, 1, true, "Document 2 of 3"},
		{"start again", with(mid, erase), StateSituation, 0, false, "Let's start again."},
		{"typed continue", with(mid, "continue"), StateDocuments, 1, true, "Okay, nothing was cleared."},
		{"typed continue at the verdict", with(toDocuments[:4], "/start", "Continue"), StateVerdict, 0, true, "Okay, nothing was cleared."},
		{"typed no at /cancel", with(mid[:len(mid)-1], "/cancel", "no, keep going"), StateDocuments, 1, true, "Okay, nothing was cleared."},
		{"typed text dismisses it", with(mid, "hello", "stale "+erase), StateDocuments, 1, true, "Residence card copy"},
		{"a stale confirmation", with(mid, "[Continue]", "[Skip (I don't have it)]", "photo 1000", "stale "+erase), StateReview, 2, true, "earlier step"},
	}
	_, confirm := play(t, f, tourNow, mid...)
	for _, tt := range tests {
		var s Session
		var replies []Reply
		if i := len(tt.inputs) - 1; strings.HasPrefix(tt.inputs[i], "stale ") {
			// The confirmation's button, pressed later.
			in, _ := parseInput(t, strings.TrimPrefix(tt.inputs[i], "stale "), "en", confirm, new(int))
			s, _ = play(t, f, tourNow, tt.inputs[:i]...)
			var err error
			if s, replies, err = f.Step(s, in, tourNow); err != nil {
				t.Fatal(err)
			}
		} else {
			s, replies = play(t, f, tourNow, tt.inputs...)
		}
		if s.State != tt.state || len(s.Docs) != tt.docs || (s.Kind != "") != tt.kind || !strings.Contains(texts(replies), tt.say) {
			t.Errorf("%s: state, docs, kind = %s, %d, %q, saying %q; want %s, %d, kept %v, saying %q",
				tt.name, s.State, len(s.Docs), s.Kind, texts(replies), tt.state, tt.docs, tt.kind, tt.say)
		}
		if s.Confirming != "" {
			t.Errorf("%s: Confirming = %q; want none", tt.name, s.Confirming)
		}
	}
}

// askedFor is the document a session in the documents step asks for.
func askedFor(f *Flow, s Session) rules.DocID {
	t := &turn{f: f, cat: f.cat, s: s}
	if d := t.asked(); d != nil && s.State == StateDocuments {
		return d.ID
	}
	return ""
}

// /back in the documents goes one checklist entry back, and only the
// first document's goes back to the verdict; a skipped document can
// always be added after all, from the documents step or the review.
func TestDocumentNavigation(t *testing.T) {
	f := newFlow(t)
	passport := with(toDocuments, "photo 1000")           // asks for the residence card copy (optional)
	skipped := with(passport, "[Skip (I don't have it)]") // asks for the police report
	review := with(skipped, "photo 1000")                 // the review, the residence card copy skipped
	const add = "[Add: Residence card copy]"
	tests := []struct {
		name    string
		inputs  []string
		state   string
		asked   rules.DocID // the document asked for next
		skipped int         // documents still skipped
	}{
		{"back on the first document", with(toDocuments, "/back"), StateVerdict, "", 0},
		{"back on the second document", with(passport, "/back"), StateDocuments, rules.DocPassport, 0},
		{"back button on the second document", with(passport, "[Back]"), StateDocuments, rules.DocPassport, 0},
		{"back to a skipped document", with(skipped, "/back"), StateDocuments, rules.DocResidenceCard, 0},
		{"back twice", with(skipped, "/back", "/back"), StateDocuments, rules.DocPassport, 0},
		{"back from the first again", with(skipped, "/back", "/back", "/back"), StateVerdict, "", 0},
		{"keep the one sent", with(passport, "/back", "[Keep the one I sent]"), StateDocuments, rules.DocResidenceCard, 0},
		{"send it again", with(passport, "/back", "photo 2000"), StateDocuments, rules.DocResidenceCard, 0},
		{"skip it again", with(skipped, "/back", "[Skip (I don't have it)]"), StateDocuments, rules.DocPoliceReport, 1},
		{"add from the documents step", with(skipped, add), StateDocuments, rules.DocResidenceCard, 0},
		{"add from the review", with(review, add), StateDocuments, rules.DocResidenceCard, 0},
		{"added, its front sent", with(review, add, "photo 1000"), StateDocuments, rules.DocResidenceCard, 0},
		{"added and sent", with(review, add, "photo 1000", "photo 1000"), StateReview, "", 0},
		{"added as one PDF", with(review, add, "pdf 1000"), StateReview, "", 0},
		{"added and skipped again", with(review, add, "[Skip (I don't have it)]"), StateReview, "", 1},
	}
	for _, tt := range tests {
		s, _ := play(t, f, tourNow, tt.inputs...)
		if got := askedFor(f, s); s.State != tt.state || got != tt.asked || len(s.Skipped) != tt.skipped {
			t.Errorf("%s: after %q, state, asked, skipped = %s, %q, %d; want %s, %q, %d",
				tt.name, tt.inputs[len(toDocuments):], s.State, got, len(s.Skipped), tt.state, tt.asked, tt.skipped)
		}
	}
}

// The add button is one of its step: pressed once the document is in, it
// is out of date and adds nothing.
func TestAddButtonStale(t *testing.T) {
	f := newFlow(t)
	inputs := with(toDocuments, "photo 1000", "[Skip (I don't have it)]", "photo 1000")
	s, review := play(t, f, tourNow, inputs...)
	in, _ := parseInput(t, "[Add: Residence card copy]", "en", review, new(int))
	s, _, _ = f.Step(s, in, tourNow)
	s, _, _ = f.Step(s, Input{Kind: Files, Files: []File{{Ref: "r", Type: rules.JPEG, Size: 10}}}, tourNow)
	before := s
	s, replies, err := f.Step(s, in, tourNow)
	if err != nil || s.State != before.State || len(s.Docs) != len(before.Docs) || !strings.Contains(texts(replies), "earlier step") {
		t.Errorf("stale add = state %s, %d docs, %q, %v; want %s, %d docs, the out-of-date notice",
			s.State, len(s.Docs), texts(replies), err, before.State, len(before.Docs))
	}
}
