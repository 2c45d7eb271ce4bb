package flows

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/aimabot/aimabot/rules"
)

// --- documents ---

// pruneDocs drops documents the current request no longer asks for.
func (t *turn) pruneDocs() {
	req := t.requiredDocs()
	keep := t.s.Docs[:0:0]
	for _, d := range t.s.Docs {
		for _, r := range req {
			if r.ID == d.ID {
				keep = append(keep, d)
				break
			}
		}
	}
	t.s.Docs = keep
}

func (t *turn) requiredDocs() []rules.Document {
	docs, err := rules.Documents(t.s.Kind, t.s.Reason)
	if err != nil {
		return nil
	}
	return docs
}

// currentDoc is the first document neither sent nor skipped.
func (t *turn) currentDoc() *rules.Document {
	for _, d := range t.requiredDocs() {
		if _, ok := t.s.doc(d.ID); !ok && !t.s.skipped(d.ID) {
			return &d
		}
	}
	return nil
}

func (t *turn) requiredDone() bool {
	for _, d := range t.requiredDocs() {
		if _, ok := t.s.doc(d.ID); !ok && d.Mandatory {
			return false
		}
	}
	return len(t.requiredDocs()) > 0
}

func (t *turn) docTitle(id rules.DocID) string { return t.tr("doc_"+string(id), nil) }

// asked is the document the documents step asks for: the one being
// replaced or revisited, otherwise the first neither sent nor skipped; nil
// when every document is in.
func (t *turn) asked() *rules.Document {
	for _, id := range []rules.DocID{t.s.Replacing, t.s.Adding} {
		for _, d := range t.requiredDocs() {
			if id != "" && d.ID == id {
				return &d
			}
		}
	}
	return t.currentDoc()
}

// previousDoc is the checklist entry before the document asked for (the
// last entry when every document is in); false at the first.
func (t *turn) previousDoc() (rules.DocID, bool) {
	docs := t.requiredDocs()
	p := len(docs)
	if cur := t.asked(); cur != nil {
		for i, d := range docs {
			if d.ID == cur.ID {
				p = i
			}
		}
	}
	if p == 0 {
		return "", false
	}
	return docs[p-1].ID, true
}

// revisit asks for document id again: a skipped one is skipped no longer,
// and one that is not the first missing (a sent one, say) is asked for by
// name, as a replacement.
func (t *turn) revisit(id rules.DocID) {
	t.s.Skipped = slices.DeleteFunc(t.s.Skipped, func(s rules.DocID) bool { return s == id })
	t.s.Replacing = ""
	if cur := t.currentDoc(); cur == nil || cur.ID != id {
		t.s.Replacing = id
	}
}

// addButtons offer every skipped document, so that it can be sent after all.
func (t *turn) addButtons() [][]ButtonSpec {
	var rows [][]ButtonSpec
	for _, d := range t.requiredDocs() {
		if t.s.skipped(d.ID) {
			rows = append(rows, t.button("btn_add_doc", map[string]any{"Title": t.docTitle(d.ID)}, actAddDoc, string(d.ID)))
		}
	}
	return rows
}

func (t *turn) askDocument() {
	if _, sent := t.s.doc(t.s.Replacing); sent {
		t.say("document_replace_prompt", map[string]any{"Title": t.docTitle(t.s.Replacing),
			"What": t.tr("doc_"+string(t.s.Replacing)+"_what", nil)})
		t.send(t.button("btn_keep_doc", nil, actKeepDoc), t.button("btn_back", nil, actBack))
		return
	}
	if t.s.Adding != "" {
		t.askPage()
		return
	}
	cur := t.asked()
	if cur == nil {
		t.say("documents_complete", nil)
		t.checklist()
		rows := [][]ButtonSpec{t.button("btn_continue", nil, actContinue), t.button("btn_replace", nil, actReplace)}
		t.send(append(append(rows, t.addButtons()...), t.receiptButtons()...)...)
		return
	}
	docs := t.requiredDocs()
	n := 1
	for i, d := range docs {
		if d.ID == cur.ID {
			n = i + 1
		}
	}
	switch {
	case len(t.s.Docs) == 0 && len(t.s.Skipped) == 0 && n == 1:
		t.say("documents_intro", nil)
	case !t.listed: // not twice in one turn (/status just showed it)
		t.checklist()
	}
	t.say("document_prompt", map[string]any{"N": n, "Total": len(docs), "Title": t.docTitle(cur.ID),
		"What": t.tr("doc_"+string(cur.ID)+"_what", nil), "Optional": !cur.Mandatory})
	if twoSided(cur.ID) {
		t.say("document_sides_hint", nil)
	}
	var rows [][]ButtonSpec
	if !cur.Mandatory {
		rows = append(rows, t.button("btn_skip", nil, actSkip))
	}
	rows = append(rows, t.addButtons()...)
	if len(t.s.Docs) > 0 {
		rows = append(rows, t.button("btn_replace", nil, actReplace))
	}
	// The receipt's buttons come last, so that the step's own keep their
	// places (and numbers, in the console) with or without them.
	t.send(append(append(rows, t.button("btn_back", nil, actBack)), t.receiptButtons()...)...)
}

// checklist writes every document's status: sent, missing, optional or skipped.
func (t *turn) checklist() {
	t.text = append(t.text, checklist(t.cat, t.s.Language(), t.s, "checklist_title"))
	t.listed = true
}

// checklist writes the session's documents under a title, each sent,
// missing, optional or skipped, in lang: for the applicant, and on the
// support team's card.
func checklist(cat *Catalog, lang string, s Session, title string) string {
	docs, _ := rules.Documents(s.Kind, s.Reason)
	lines := []string{cat.Text(lang, title, nil)}
	for _, d := range docs {
		id := "checklist_missing"
		if n := s.pages(d.ID); n > 1 {
			lines = append(lines, cat.Text(lang, "checklist_sent_pages", map[string]any{"Title": cat.Text(lang, "doc_"+string(d.ID), nil), "N": n}))
			continue
		} else if n == 1 {
			id = "checklist_sent"
		} else if s.skipped(d.ID) {
			id = "checklist_skipped"
		} else if !d.Mandatory {
			id = "checklist_optional"
		}
		lines = append(lines, cat.Text(lang, id, map[string]any{"Title": cat.Text(lang, "doc_"+string(d.ID), nil)}))
	}
	return strings.Join(lines, "\n")
}

// megabytes writes a size in MB with one decimal, with a decimal comma in
// Portuguese and French.
func megabytes(lang string, size int64) string {
	mb := fmt.Sprintf("%.1f", float64(size)/(1<<20))
	if lang != "en" {
		mb = strings.Replace(mb, ".", ",", 1)
	}
	return mb
}

func (t *turn) onDocuments(action, arg string) error {
	cur := t.asked()
	_, sent := t.s.doc(t.s.Replacing)
	switch {
	case action == actSkip && cur != nil && !sent:
		if cur.Mandatory {
			t.miss("document_required", map[string]any{"Title": t.docTitle(cur.ID)})
			return nil
		}
		if !t.s.skipped(cur.ID) {
			t.s.Skipped = append(t.s.Skipped, cur.ID)
		}
		t.s.Replacing = ""
		t.s.Step++
		return t.afterDocument()
	case action == actKeepDoc && sent:
		t.s.Replacing = ""
		t.s.Step++
		return t.afterDocument()
	case action == actAddDoc && t.s.skipped(rules.DocID(arg)):
		t.revisit(rules.DocID(arg))
		return t.move(evRevisit)
	case action == actReplace && len(t.s.Docs) > 0:
		return t.move(evPickReplacement)
	case action == actContinue && cur == nil && t.requiredDone():
		return t.move(evDocumentsDone)
	case t.in.Kind == Files:
		return t.receive()
	}
	title := ""
	if t.s.Replacing != "" {
		title = t.docTitle(t.s.Replacing)
	} else if cur != nil {
		title = t.docTitle(cur.ID)
	}
	t.miss("hint_document", map[string]any{"Title": title})
	return nil
}

// receive files one document each, in order: one file, or an album that fills
// the next missing documents.
func (t *turn) receive() error {
	var got []string
	var problems []string
	extra, unreadable := 0, 0
	for _, f := range t.in.Files {
		if f.Unreadable {
			if unreadable++; unreadable == 1 {
				problems = append(problems, t.tr("file_unreadable", nil))
			}
			continue
		}
		if err := rules.CheckFile(f.Type, f.Size); err != nil {
			problems = append(problems, t.fileProblem(err, f))
			continue
		}
		target, replace := t.s.Replacing, t.s.Replacing != ""
		if target == "" {
			target = t.s.Adding
		}
		if target == "" {
			cur := t.currentDoc()
			if cur == nil {
				extra++
				continue
			}
			target = cur.ID
		}
		got = append(got, t.file(f, target, replace))
		t.s.Replacing = ""
	}
	t.text = append(t.text, problems...)
	if len(got) > 0 {
		t.text = append(t.text, strings.Join(got, "\n"))
	}
	if extra > 0 {
		t.text = append(t.text, t.cat.Plural(t.s.Language(), "files_extra", extra, nil))
	}
	if len(got) == 0 {
		if unreadable < len(t.in.Files) {
			t.s.Misses++ // a file Telegram lost is not the applicant's miss
		}
		t.ask()
		return nil
	}
	t.s.Step++
	t.s.Misses = 0
	return t.afterDocument()
}

func (t *turn) fileProblem(err error, f File) string {
	var fe *rules.FileError
	if errors.As(err, &fe) {
		switch fe.Code {
		case rules.FileTooLarge:
			return t.tr("file_too_large", map[string]any{"MB": megabytes(t.s.Language(), f.Size)})
		case rules.FileEmpty:
			return t.tr("file_empty", nil)
		}
	}
	switch f.Claimed {
	case rules.JPEG, rules.PNG:
		return t.tr("file_fake_image", map[string]any{"Ext": f.Claimed.Ext()})
	case rules.PDF:
		return t.tr("file_fake_pdf", nil)
	}
	return t.tr("file_wrong_type", nil)
}

// afterDocument goes to the review once every document is in, otherwise asks
// for the next one.
func (t *turn) afterDocument() error {
	if t.s.Adding == "" && t.currentDoc() == nil && t.requiredDone() {
		return t.move(evDocumentsDone)
	}
	t.ask()
	return nil
}
