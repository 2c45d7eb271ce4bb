package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// remindingSession is a conversation at its end whose applicant
// asked for reminders, with expiry's last day to use the form.
func remindingSession(t *testing.T, f *Flow, now time.Time, expiry rules.Date) Session {
	t.Helper()
	s := Session{Version: SchemaVersion, State: StateDone, Step: 5, Lang: "en", Kind: rules.Duplicate,
		Reason: rules.Lost, Expiry: expiry, Created: now, Updated: now}
	next, out, err := f.Step(s, Input{Kind: Button, Data: "5:" + actRemind + ":on"}, now)
	if err != nil || next.Remind == nil {
		t.Fatalf("pressing Remind me = %+v, %v; want reminders on", out, err)
	}
	return next
}

// TestRemindersFireOnce wakes the assistant at each planned reminder, twice,
// and across a gap: each reminder is sent once, the latest of those due
// when several are, and none after "I've sent it".
func TestRemindersFireOnce(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := remindingSession(t, f, now, rules.Date{Year: 2027, Month: time.March, Day: 15}) // last day 15 Dec 2026
	sent := func(s Session, at time.Time) (Session, string) {
		t.Helper()
		next, out := f.Wake(s, at)
		var texts []string
		for _, r := range out {
			if r.Text != "" {
				texts = append(texts, r.Text)
			}
		}
		return next, strings.Join(texts, "\n")
	}
	if due := f.Due(s); !due.Equal(time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)) {
		t.Errorf("Due = %v; want the first reminder, 1 Dec 09:00 Lisbon", due)
	}
	at := f.Due(s)
	s, text := sent(s, at)
	if !strings.Contains(text, "14 days left") {
		t.Errorf("Wake(%v) = %q; want the 14-day reminder", at, text)
	}
	if _, again := sent(s, at); strings.Contains(again, "left") {
		t.Errorf("Wake(%v) a second time = %q; want no second reminder", at, again)
	}
	// Asleep until the last day: only the last day's reminder comes.
	day := time.Date(2026, 12, 15, 9, 30, 0, 0, time.UTC)
	s, text = sent(s, day)
	if !strings.Contains(text, "Today") || strings.Contains(text, "2 days") {
		t.Errorf("Wake(%v) = %q; want the last day's reminder alone", day, text)
	}
	if due := f.Due(s); !due.After(day) || due.Before(day.Add(24*time.Hour)) {
		t.Errorf("Due after the last reminder = %v; want nothing more about the deadline", due)
	}

	// "I've sent it" stops the reminders and plans the check-in.
	s = remindingSession(t, f, now, rules.Date{Year: 2027, Month: time.March, Day: 15})
	s, _, err := f.Step(s, Input{Kind: Button, Data: "6:" + actSubmitted}, now)
	if err != nil || s.Remind != nil || !s.CheckIn.Equal(now.Add(CheckInAfter)) {
		t.Fatalf("I've sent it = %+v, %v; want no reminders and a check-in in 10 days", s.Remind, err)
	}
	if _, text := sent(s, time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)); strings.Contains(text, "left") {
		t.Errorf("a reminder after I've sent it: %q", text)
	}
	s, text = sent(s, now.Add(CheckInAfter))
	if !strings.Contains(text, "Did AIMA email you?") {
		t.Errorf("Wake at the check-in = %q; want the check-in", text)
	}
	if _, again := sent(s, now.Add(CheckInAfter+time.Hour)); again != "" {
		t.Errorf("a second check-in: %q", again)
	}
}

// TestRemindersOutliveRetention: reminders months away keep the
// conversation (the assistant wakes to renew it before the store's expiry)
// until the last one, and /mydata says so.
func TestRemindersOutliveRetention(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := remindingSession(t, f, now, rules.Date{Year: 2027, Month: time.December, Day: 15}) // last day 16 Sep 2027
	first := time.Date(2027, 9, 2, 8, 0, 0, 0, time.UTC)
	for i := 0; ; i++ {
		due := f.Due(s)
		if due.IsZero() || i > 20 {
			t.Fatalf("Due = %v after %d wake-ups; want the first reminder", due, i)
		}
		if gap := due.Sub(s.Updated); s.Alive.IsZero() && gap > f.keep.Session {
			t.Fatalf("Due = %v, %v after the last activity; want a wake-up within the retention (%v)", due, gap, f.keep.Session)
		}
		if !s.Alive.IsZero() && due.Sub(s.Alive) > f.keep.Session {
			t.Fatalf("Due = %v, %v after the last wake-up; want one within the retention", due, due.Sub(s.Alive))
		}
		var out []Reply
		s, out = f.Wake(s, due)
		if s.State == "" {
			t.Fatalf("the conversation was erased at %v, before its reminders", due)
		}
		if due.Equal(first) {
			if len(out) == 0 || !strings.Contains(out[0].Text, "14 days left") {
				t.Fatalf("Wake at the first reminder = %+v; want it", out)
			}
			break
		}
		for _, r := range out {
			if r.Text != "" {
				t.Errorf("Wake(%v) said %q; want nothing but a keep-alive", due, r.Text)
			}
		}
	}
}

// A package that failed half way: the PDFs that were sent are recorded
// (the applicant has them; /mydata and /forget must know of them) and
// listed, and the applicant is told the rest could not be made.
func TestPartlyFailedPackage(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	s := remindingSession(t, f, now, rules.Date{Year: 2027, Month: time.March, Day: 15})
	res := &PackResult{Failed: true, Limit: 5 << 20,
		Sent: []Packed{{Doc: rules.DocPassport, Name: "passaporte.pdf", Ref: "pdf-1", Msg: 7, Size: 400_000, Pages: 2}}}
	next, out, err := f.Step(s, Input{Kind: PackageDone, Packed: res}, now)
	if err != nil {
		t.Fatal(err)
	}
	if len(next.Packed) != 1 || next.Packed[0].Ref != "pdf-1" {
		t.Errorf("Packed = %+v; want the PDF that was sent", next.Packed)
	}
	var text string
	for _, r := range out {
		text += r.Text
	}
	if !strings.Contains(text, "passaporte.pdf") || !strings.Contains(text, "couldn't finish your PDFs") {
		t.Errorf("replies = %q; want the PDF sent listed and the failure told", text)
	}
}
