package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// A case's fact counts its times in office hours: asked on a Friday at
// 17:30 and answered on Monday at 09:30 is one office hour.
func TestFact(t *testing.T) {
	f, at := officeFlow(t, "mon-fri 09:00-18:00")
	s := Session{Kind: rules.Duplicate, Human: &Case{Status: CaseClosed, At: at("2026-12-11 17:30"),
		Answered: at("2026-12-14 09:30"), ClosedAt: at("2026-12-14 11:30"), Agent: &Agent{ID: 1, Name: "Ana"},
		Rating: &Rating{Score: RatedYes}}}
	got, ok := f.Fact(s)
	want := CaseFact{Opened: at("2026-12-11 17:30").UTC(), Answered: true, FirstReply: time.Hour, FirstMet: true,
		Closed: true, Resolution: 3 * time.Hour, Kind: "duplicate", Member: "Ana", Rating: RatedYes}
	if !ok || got != want {
		t.Errorf("Fact = %+v, %v; want %+v", got, ok, want)
	}
	if _, ok := f.Fact(Session{}); ok {
		t.Error("Fact(no case) = ok; want none")
	}
}

// The figures for the last 7 and 30 days: counts, median and 90th
// percentile, the target met, ratings, per member and per request; a case
// older than 30 days counts in neither.
func TestStats(t *testing.T) {
	f := sharedFlow(t, true, "en")
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	facts := []CaseFact{
		{Opened: now.Add(-1 * day), Answered: true, FirstReply: 30 * time.Minute, FirstMet: true, Closed: true,
			Resolution: 2 * time.Hour, Kind: "duplicate", Member: "Ana", Rating: RatedYes},
		{Opened: now.Add(-2 * day), Answered: true, FirstReply: 3 * time.Hour, Kind: "data_change", Member: "Bruno"},
		{Opened: now.Add(-3 * day), Kind: "duplicate"},
		{Opened: now.Add(-20 * day), Answered: true, FirstReply: 90 * time.Minute, FirstMet: true, Closed: true,
			Resolution: 5 * time.Hour, Kind: "duplicate", Member: "Ana", Rating: RatedNo},
		{Opened: now.Add(-40 * day), Answered: true, Closed: true, Member: "Old"},
	}
	got := f.Stats(facts, 1, now)
	for _, want := range []string{
		"Waiting now: 1",
		"Cases opened: 3 · 4",
		"Closed: 1 · 2",
		"First reply: 0h30 / 3h00 · 1h30 / 3h00",
		"Resolution: 2h00 / 2h00 · 2h00 / 5h00",
		"First-reply target met: 50% · 66%",
		"Ratings: 👍1 😐0 👎0 · 👍1 😐0 👎1",
		"• Ana: 2 cases, first reply 0h30 / 1h30, 👍1 😐0 👎1",
		"• Bruno: 1 case, first reply 3h00 / 3h00",
		"• 2nd copy: 3 cases",
		"• data change: 1 case,",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Stats lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "Old") {
		t.Errorf("Stats counts a case older than 30 days:\n%s", got)
	}
}
