package flows

import (
	"slices"

	"github.com/aimabot/aimabot/rules"
)

// Documents have pages and sides: a card has a front and a back, a
// passport or a certificate may take several files. A file is filed under
// one checklist entry and the receipt says which; the back of a card is
// asked for right after its front, any entry takes another page on request,
// and "That's not it" files the last file under another entry, so nothing
// is misfiled without the applicant seeing it.

// twoSided says a document is a card whose back is asked for after its
// front, when the front came as an image (a PDF scan usually holds both).
func twoSided(id rules.DocID) bool {
	return id == rules.DocResidenceCard || id == rules.DocDamagedCardPhotos
}

// file files f under document target as a new page, or as the only one
// when it replaces what was sent, and returns the receipt.
func (t *turn) file(f File, target rules.DocID, replace bool) string {
	if replace {
		t.s.Docs = slices.DeleteFunc(t.s.Docs, func(d Doc) bool { return d.ID == target })
	}
	t.s.Docs = append(t.s.Docs, Doc{ID: target, Ref: f.Ref, Type: f.Type, Size: f.Size, Photo: f.Photo, At: t.now})
	t.s.Last = f.Ref
	t.received = true
	n := t.s.pages(target)
	back := twoSided(target) && n == 2 && t.s.Adding == target
	t.s.Adding = ""
	msg := "document_received"
	switch {
	case twoSided(target) && n == 1 && f.Type != rules.PDF:
		t.s.Adding = target // the back next
		msg = "document_received_front"
		if replace {
			msg = "document_replaced_front"
		}
	case back:
		msg = "document_received_back"
	case replace:
		msg = "document_replaced"
	case n > 1:
		msg = "document_received_page"
	}
	return t.tr(msg, map[string]any{"Title": t.docTitle(target), "N": n})
}

// askPage asks for the back of a card, or the next page of a document.
func (t *turn) askPage() {
	id := t.s.Adding
	d := map[string]any{"Title": t.docTitle(id), "Done": t.tr("btn_pages_done", nil)}
	if twoSided(id) && t.s.pages(id) == 1 {
		t.say("document_back_prompt", d)
	} else {
		t.say("document_page_prompt", d)
	}
	rows := [][]ButtonSpec{t.button("btn_pages_done", nil, actPagesDone), t.button("btn_back", nil, actBack)}
	t.send(append(rows, t.receiptButtons()...)...)
}

// lastFile is the index in Docs of the file received last, or -1.
func (t *turn) lastFile() int {
	if t.s.Last == "" {
		return -1
	}
	return slices.IndexFunc(t.s.Docs, func(d Doc) bool { return d.Ref == t.s.Last })
}

// lastDoc is the document the last file is filed under.
func (t *turn) lastDoc() (rules.DocID, bool) {
	if i := t.lastFile(); i >= 0 {
		return t.s.Docs[i].ID, true
	}
	return "", false
}

// receiptButtons follow a receipt: another page of what was just filed
// (unless its back is being asked for), and "That's not it".
func (t *turn) receiptButtons() [][]ButtonSpec {
	id, ok := t.lastDoc()
	if !t.received || !ok {
		return nil
	}
	title := map[string]any{"Title": t.docTitle(id)}
	var rows [][]ButtonSpec
	if t.s.Adding != id && !(twoSided(id) && t.s.pages(id) >= 2) {
		rows = append(rows, t.button("btn_more_pages", title, actMorePages, string(id)))
	}
	return append(rows, t.button("btn_refile", title, actRefileAsk))
}

// onPages handles the buttons about pages, at the documents or the review:
// another page, no more pages, "That's not it" and its answer. It reports
// whether the action was one of them.
func (t *turn) onPages(action, arg, confirming string) (bool, error) {
	switch action {
	case actMorePages:
		id := rules.DocID(arg)
		if t.s.pages(id) == 0 {
			return false, nil
		}
		t.s.Adding, t.s.Replacing = id, ""
		return true, t.toDocuments()
	case actPagesDone:
		if t.s.Adding == "" {
			return false, nil
		}
		t.s.Adding = ""
		t.s.Step++
		return true, t.afterDocument()
	case actRefileAsk:
		if _, ok := t.lastDoc(); !ok {
			return false, nil
		}
		t.s.Confirming = confirmRefile
		t.say("refile_prompt", nil)
		t.send(t.confirmButtons()...)
		return true, nil
	case actRefile:
		if confirming != confirmRefile {
			return false, nil
		}
		return true, t.refile(arg)
	}
	return false, nil
}

// refileButtons offer every other entry of the checklist for the last
// file, and removing it.
func (t *turn) refileButtons() [][]ButtonSpec {
	from, _ := t.lastDoc()
	var rows [][]ButtonSpec
	for _, d := range t.requiredDocs() {
		if d.ID != from {
			rows = append(rows, []ButtonSpec{t.btn(t.docTitle(d.ID), actRefile, string(d.ID))})
		}
	}
	return append(rows, t.button("btn_refile_drop", nil, actRefile, refileDrop))
}

// refile moves the last file under document to (a page more of it), or
// removes it, then asks for what is missing.
func (t *turn) refile(to string) error {
	i := t.lastFile()
	valid := to == refileDrop || slices.ContainsFunc(t.requiredDocs(), func(d rules.Document) bool { return string(d.ID) == to })
	if i < 0 || !valid || to == string(t.s.Docs[i].ID) {
		t.hint("hint_buttons", nil)
		return nil
	}
	doc := t.s.Docs[i]
	t.s.Docs = slices.Delete(t.s.Docs, i, i+1)
	t.s.Last, t.s.Adding, t.s.Replacing = "", "", ""
	if to == refileDrop {
		t.say("refile_dropped", nil)
	} else {
		doc.ID = rules.DocID(to)
		t.s.Docs = append(t.s.Docs, doc)
		t.s.Skipped = slices.DeleteFunc(t.s.Skipped, func(s rules.DocID) bool { return s == doc.ID })
		t.say("refile_done", map[string]any{"Title": t.docTitle(doc.ID)})
	}
	t.s.Step++
	return t.toDocuments()
}

// toDocuments asks for what the documents step now wants, from the review
// too; with every document in, it is the review.
func (t *turn) toDocuments() error {
	if t.s.State == StateReview {
		return t.move(evRevisit)
	}
	return t.afterDocument()
}
