package flows

import (
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// A short typed answer that names one button chooses it: a word of its
// label, in any of the three languages, with a small typo; an answer that
// names several, or is a question, chooses nothing.
func TestLooseAnswers(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
	at := func(inputs ...Input) Session {
		s := Session{}
		for _, in := range append([]Input{ParseText("/start", "en")}, inputs...) {
			s, _, _ = f.Step(s, in, now)
		}
		return s
	}
	language := at()
	situation := at(Input{Kind: Button, Data: "0:lang:en"})
	reason := at(Input{Kind: Button, Data: "0:lang:en"}, Input{Kind: Button, Data: "1:sit:duplicate"})
	for _, tt := range []struct {
		name   string
		s      Session
		typed  string
		check  func(Session) bool
		wanted string
	}{
		{"english pls", language, "english pls", func(s Session) bool { return s.Lang == "en" && s.State == StateSituation }, "English"},
		{"francais, no accent", language, "francais", func(s Session) bool { return s.Lang == "fr" }, "French"},
		{"lost or stolen", situation, "lost or stolen", func(s Session) bool { return s.Kind == rules.Duplicate }, "a second copy"},
		{"Portuguese word in English", situation, "perdi o cartao", func(s Session) bool { return s.Kind == rules.Duplicate }, "a second copy"},
		{"a word of the label", reason, "stolen", func(s Session) bool { return s.Reason == rules.Stolen }, "stolen"},
		{"a typo", reason, "stollen", func(s Session) bool { return s.Reason == rules.Stolen }, "stolen"},
		{"French", reason, "volée", func(s Session) bool { return s.Reason == rules.Stolen }, "stolen"},
		{"two buttons named", reason, "lost or stolen", func(s Session) bool { return s.Reason == "" }, "nothing chosen"},
		{"a question", reason, "stolen?", func(s Session) bool { return s.Reason == "" }, "nothing chosen"},
		{"a sentence", reason, "it was stolen on the bus with my wallet and keys", func(s Session) bool { return s.Reason == "" }, "nothing chosen"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			next, _, err := f.Step(tt.s, ParseText(tt.typed, "en"), now)
			if err != nil || !tt.check(next) {
				t.Errorf("Step(%s, %q) = state %s, lang %q, kind %q, reason %q, %v; want %s", tt.s.State, tt.typed,
					next.State, next.Lang, next.Kind, next.Reason, err, tt.wanted)
			}
		})
	}
}

func TestOneEdit(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"stolen", "stolen", true}, {"stollen", "stolen", true}, {"stoen", "stolen", true}, {"stalen", "stolen", true},
		{"stlon", "stolen", false}, {"damaged", "stolen", false}, {"", "a", true}, {"ab", "ba", false},
	} {
		if got := oneEdit(tt.a, tt.b); got != tt.want {
			t.Errorf("oneEdit(%q, %q) = %v; want %v", tt.a, tt.b, got, tt.want)
		}
	}
}
