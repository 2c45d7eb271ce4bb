package flows

import (
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/rules"
)

// A refused file is explained: a file sent as a JPEG, PNG or PDF whose
// content is not one hears what it was marked as and what to send instead;
// any other file the general formats.
func TestFileProblemExplains(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, lang := range Languages() {
		s := Session{}
		for _, in := range []Input{ParseText("/start", lang), {Kind: Button, Data: "0:lang:" + lang},
			{Kind: Button, Data: "1:sit:data_change"}, {Kind: Button, Data: "2:reason:address"}, ParseText("26/07/2028", lang),
			{Kind: Button, Data: "4:continue"}} {
			s, _, _ = f.Step(s, in, now)
		}
		if s.State != StateDocuments {
			t.Fatalf("%s: state %s; want documents", lang, s.State)
		}
		for _, c := range []struct {
			claimed rules.FileType
			id      string
			has     string
		}{
			{rules.JPEG, "file_fake_image", ".jpg"},
			{rules.PNG, "file_fake_image", ".png"},
			{rules.PDF, "file_fake_pdf", "PDF"},
			{"", "file_wrong_type", "PDF"},
		} {
			in := Input{Kind: Files, Files: []File{{Ref: "x", Size: 4000, Claimed: c.claimed}}}
			after, replies, err := f.Step(s, in, now)
			if err != nil {
				t.Fatal(err)
			}
			want := f.cat.Text(lang, c.id, map[string]any{"Ext": c.claimed.Ext()})
			if len(replies) == 0 || !strings.HasPrefix(replies[0].Text, want) || !strings.Contains(want, c.has) {
				t.Errorf("%s, a file claimed as %q: reply %+v; want it to start with %q", lang, c.claimed, replies, want)
			}
			if len(after.Docs) != 0 {
				t.Errorf("%s, a file claimed as %q was taken: %+v", lang, c.claimed, after.Docs)
			}
			if n := len([]rune(want)); n > 600 {
				t.Errorf("%s %s is %d characters; keep it under 600", lang, c.id, n)
			}
		}
		// Too large and empty files keep their own reasons, whatever they claim.
		_, replies, _ := f.Step(s, Input{Kind: Files, Files: []File{{Ref: "x", Size: 0, Claimed: rules.PDF}}}, now)
		if len(replies) == 0 || !strings.HasPrefix(replies[0].Text, f.cat.Text(lang, "file_empty", nil)) {
			t.Errorf("%s: an empty file claimed as PDF: %+v; want file_empty", lang, replies)
		}
	}
}

// The last step says how to type the card number: as printed on the card
// or title, with the old paper titles' 6-digit numbers, and for a lost or
// stolen card where to find it.
func TestDoneNumberStep(t *testing.T) {
	f := newFlow(t)
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	for _, lang := range Languages() {
		for _, r := range []rules.Reason{rules.Lost, rules.Stolen, rules.Damaged, rules.Address} {
			k := rules.Duplicate
			if r == rules.Address {
				k = rules.DataChange
			}
			docs, _ := rules.Documents(k, r)
			var sent []Doc
			for _, d := range docs {
				sent = append(sent, Doc{ID: d.ID, Ref: "x", Type: rules.PDF, Size: 1, At: now})
			}
			s := Session{Version: SchemaVersion, State: StateReview, Step: 7, Lang: lang, Kind: k, Reason: r,
				Expiry: rules.Date{Year: 2028, Month: 7, Day: 26}, Docs: sent}
			_, replies, err := f.Step(s, Input{Kind: Button, Data: "7:" + actConfirm}, now)
			if err != nil {
				t.Fatal(err)
			}
			var all string
			for _, rp := range replies {
				all += rp.Text + "\n"
			}
			lost := r == rules.Lost || r == rules.Stolen
			want := f.cat.Text(lang, "done_number", map[string]any{"Lost": lost})
			if !strings.Contains(all, want) {
				t.Fatalf("%s %s: the last step lacks %q:\n%s", lang, r, want, all)
			}
			if !strings.Contains(want, "6") || !strings.Contains(want, "Número do Cartão/Título de Residência") {
				t.Errorf("%s: %q does not name the field or the paper titles' 6 digits", lang, want)
			}
			if hint := f.cat.Text(lang, "done_number", map[string]any{"Lost": true}); lost != (want == hint) {
				t.Errorf("%s %s: the lost-card hint is shown: %v; want %v", lang, r, want == hint, lost)
			}
		}
	}
}
