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
