package flows

import (
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/aimabot/aimabot/rules"
)

// Documents have pages and sides: the back of a card is asked for right
// after its front, any document takes another page on request, every
// receipt says what the file was filed as, and "That's not it" moves the
// last file to the right entry or removes it.
func TestPages(t *testing.T) {
	f := newFlow(t)
	name := []string{"/start", "[My personal data changed]", "[My name]", "26/07/2028", "[Continue]", "photo 1000"}
	const (
		card     = "Residence card copy"
		notCard  = "[That's not the " + card + "]"
		notCert  = "[That's not the Certificate of the name change]"
		allDone  = "[That's all for this document]"
		morePass = "[Another page of: Passport copy]"
	)
	tests := []struct {
		name   string
		inputs []string
		state  string
		asked  rules.DocID
		pages  map[rules.DocID]int
		say    string
	}{
		{"the card's front: its back is asked", with(name, "photo 1000"), StateDocuments, rules.DocResidenceCard,
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 1}, "Received: " + card + ", front ✅\n\nNow the back of the card"},
		{"the back", with(name, "photo 1000", "photo 1000"), StateDocuments, rules.DocNameChangeCertificate,
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 2}, "Received: " + card + ", back ✅"},
		{"both sides in one photo", with(name, "photo 1000", allDone), StateDocuments, rules.DocNameChangeCertificate,
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 1}, "Document 3 of 3"},
		{"the card as one PDF", with(name, "pdf 1000"), StateDocuments, rules.DocNameChangeCertificate,
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 1}, "Received: " + card + " ✅"},
		{"an album: front and back", with(name, "album 2"), StateDocuments, rules.DocNameChangeCertificate,
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 2}, "front ✅\nReceived: " + card + ", back ✅"},
		{"another page of the passport", with(name, morePass, "photo 1000"), StateDocuments, rules.DocResidenceCard,
			map[rules.DocID]int{rules.DocPassport: 2}, "Received: Passport copy, page 2 ✅"},
		{"the certificate sent as the back, moved", with(name, "photo 1000", "pdf 1000", notCard, "[Certificate of the name change]"), StateReview, "",
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 1, rules.DocNameChangeCertificate: 1}, "Moved: that file is now filed as Certificate of the name change."},
		{"a file removed", with(name, "photo 1000", "photo 1000", "photo 1000", notCert, "[None of these: remove it]"), StateDocuments, rules.DocNameChangeCertificate,
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 2}, "Removed: that file is no longer among your documents."},
		{"back from the card's back", with(name, "photo 1000", "/back"), StateDocuments, rules.DocNameChangeCertificate,
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 1}, "Document 3 of 3"},
		{"another page from the review", with(name, "pdf 1000", "pdf 1000", "[Another page of: Certificate of the name change]", "pdf 1000"), StateReview, "",
			map[rules.DocID]int{rules.DocPassport: 1, rules.DocResidenceCard: 1, rules.DocNameChangeCertificate: 2}, "✅ Certificate of the name change (2 files)"},
	}
	for _, tt := range tests {
		s, replies := play(t, f, tourNow, tt.inputs...)
		pages := map[rules.DocID]int{}
		for _, d := range s.Docs {
			pages[d.ID]++
		}
		if got := askedFor(f, s); s.State != tt.state || got != tt.asked || !maps.Equal(pages, tt.pages) || !strings.Contains(texts(replies), tt.say) {
			t.Errorf("%s: state %s, asked %q, pages %v, saying %q;\nwant %s, %q, %v, saying %q",
				tt.name, s.State, got, pages, texts(replies), tt.state, tt.asked, tt.pages, tt.say)
		}
	}
}

// "That's not it" offers every other entry of the checklist, and its
// buttons do nothing once the conversation moved on.
func TestRefileButtons(t *testing.T) {
	f := newFlow(t)
	_, replies := play(t, f, tourNow, "/start", "[My card was lost, stolen or damaged]", "[I lost it]", "26/07/2028", "[Continue]",
		"photo 1000", "[That's not the Passport copy]")
	var labels []string
	for _, r := range replies {
		for _, row := range r.Buttons {
			for _, b := range row {
				labels = append(labels, b.Label)
			}
		}
	}
	want := []string{"Residence card copy", "Police report", "None of these: remove it"}
	if !slices.Equal(labels, want) {
		t.Errorf("\"That's not it\" offers %q; want %q", labels, want)
	}
	s, _ := play(t, f, tourNow, "/start", "[My card was lost, stolen or damaged]", "[I lost it]", "26/07/2028", "[Continue]",
		"photo 1000", "[That's not the Passport copy]", "photo 1000")
	if len(s.Docs) != 2 || s.Docs[0].ID != rules.DocPassport {
		t.Errorf("a file sent instead of answering: docs %+v; want the passport kept and the new file filed", s.Docs)
	}
}

// The buttons a receipt adds come after the step's own, which keep their
// places (and the console's numbers) whether or not a file just came.
func TestReceiptButtonsComeLast(t *testing.T) {
	f := newFlow(t)
	labels := func(replies []Reply) []string {
		var out []string
		for _, r := range replies {
			for _, row := range r.Buttons {
				for _, b := range row {
					out = append(out, b.Label)
				}
			}
		}
		return out
	}
	for _, at := range [][]string{with(toDocuments, "photo 1000"), with(toDocuments, "photo 1000", "[Skip (I don't have it)]", "photo 1000")} {
		_, received := play(t, f, tourNow, at...)
		_, again := play(t, f, tourNow, with(at, "/status")...)
		got, want := labels(received), labels(again)
		if len(got) <= len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("after %q: buttons %q; want the step's own %q first, then the receipt's", at[len(toDocuments):], got, want)
		}
	}
}
