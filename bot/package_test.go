package bot

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/pack"
	"github.com/aimabot/aimabot/rules"
	"github.com/aimabot/aimabot/store"
)

// pdfOfPhotos is a PDF of n pages, as an applicant's scanner makes.
func pdfOfPhotos(t *testing.T, n int) []byte {
	t.Helper()
	var parts []pack.Part
	for i := range n {
		parts = append(parts, pack.Part{Type: rules.JPEG, Data: jpegBytes(t, 300+10*i, 200)})
	}
	r, err := pack.Build(parts, pack.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r.PDF
}

// pageCount parses a PDF back, as a reader would.
func pageCount(t *testing.T, pdf []byte) int {
	t.Helper()
	n, err := pack.PageCount(pdf)
	if err != nil {
		t.Fatalf("the PDF sent does not parse: %v", err)
	}
	return n
}

// sentPDFs are the documents the bot sent to the chat: name -> bytes, in
// the order sent.
func sentPDFs(t *testing.T, h *harness, chat int64) (names []string, files map[string][]byte, captions map[string]string) {
	t.Helper()
	files, captions = map[string][]byte{}, map[string]string{}
	for _, m := range h.srv.Messages(chat) {
		if m.Kind != fakeapi.KindDocument {
			continue
		}
		name, data, ok := h.srv.File(m.FileID)
		if !ok {
			t.Fatalf("document %q: no such file on the server", m.FileID)
		}
		names = append(names, name)
		files[name], captions[name] = data, m.Caption
	}
	return names, files, captions
}

// Through Telegram, on both stores: the documents (a two-page PDF, an album
// of the card's two sides, a photo) come back as one PDF per form field,
// each a valid PDF with the right pages, under the limit, named after the
// form's field and captioned with it; /mydata lists them; a file Telegram
// no longer hands over is named and asked for again.
func TestPackage(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t), fakeapi.Options{})
		h.start(false)
		const chat = int64(9101)
		h.toExpiry(chat)
		h.srv.UserText(chat, "26/07/2030")
		h.expect(chat, "your last day to submit")
		h.press(chat, "Continue")
		h.expect(chat, "Document 1 of 3")
		h.srv.UserDocument(chat, "passport.pdf", "application/pdf", pdfOfPhotos(t, 2))
		h.expect(chat, "Document 2 of 3")
		h.srv.UserAlbum(chat, [][]byte{jpegBytes(t, 320, 200), jpegBytes(t, 330, 210)})
		h.expect(chat, "Document 3 of 3")
		h.srv.UserPhoto(chat, jpegBytes(t, 200, 300), "")
		h.expect(chat, "Please check everything")
		h.press(chat, "Everything is correct")
		h.expect(chat, "contactenos.aima.gov.pt")

		h.press(chat, "📦 My files as PDFs")
		h.expect(chat, "Here are your files for AIMA's form, each under 5.0 MB")
		names, files, captions := sentPDFs(t, h, chat)
		want := []struct {
			name, field string
			pages       int
		}{
			{"passaporte.pdf", "Passaporte", 2},
			{"titulo-de-residencia.pdf", "Cartão/Título de Residência", 2},
			{"participacao-policial.pdf", "Comprovativo de participação policial", 1},
		}
		if len(names) != len(want) {
			t.Fatalf("documents sent = %q; want %d%s", names, len(want), h.dump(chat))
		}
		for i, w := range want {
			if names[i] != w.name {
				t.Errorf("document %d = %q; want %q", i, names[i], w.name)
				continue
			}
			if got := pageCount(t, files[w.name]); got != w.pages {
				t.Errorf("%s has %d pages; want %d", w.name, got, w.pages)
			}
			if n := len(files[w.name]); n > DefaultPackageMaxBytes || n == 0 {
				t.Errorf("%s is %d bytes; want some, under %d", w.name, n, DefaultPackageMaxBytes)
			}
			if !strings.Contains(captions[w.name], w.field) {
				t.Errorf("%s's caption = %q; want the form's field %q", w.name, captions[w.name], w.field)
			}
		}
		s := h.session(chat)
		if len(s.Packed) != 3 || s.Packed[0].Ref == "" || s.Packed[0].Pages != 2 {
			t.Errorf("session's PDFs = %+v; want the three sent, with their file ids", s.Packed)
		}
		h.do(chat, func() { h.srv.UserText(chat, "/mydata") }, "")
		if !strings.Contains(h.dump(chat), "PDF sent to you: titulo-de-residencia.pdf") {
			t.Errorf("/mydata does not list the PDFs sent:%s", h.dump(chat))
		}

		// Telegram no longer hands over the passport: it is named and
		// asked for again, the others are sent.
		h.srv.Inject(fakeapi.Fault{Method: "getFile", Status: 400, Description: "Bad Request: wrong file_id or the file is temporarily unavailable"})
		h.press(chat, "📦 My files as PDFs")
		h.expect(chat, "Document 1 of 3: Passport copy")
		if d := h.dump(chat); !strings.Contains(d, "I can no longer get these files: Passport copy") {
			t.Errorf("the unreadable file was not named:%s", d)
		}
		if names, _, _ := sentPDFs(t, h, chat); len(names) != 5 {
			t.Errorf("documents sent in all = %q; want 3 and then the 2 still readable", names)
		}
		if s := h.session(chat); s.State != "documents" || len(s.Docs) != 3 {
			t.Errorf("after an unreadable passport: state %s, %d files; want the documents step without the passport", s.State, len(s.Docs))
		}
	})
}

// Through Telegram, on both stores, with the clock injected: reminders
// asked for at the verdict come from whichever of two replicas wakes
// first, each once, across a restart; "I've sent it" stops them and the
// check-in comes ten days later, once; /mydata lists what is planned, and
// /forget erases the conversation.
func TestDeadlineReminders(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		clk := newClock(time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
		fast := func(c *Config) { c.Now, c.WakeEvery = clk.Now, 20*time.Millisecond }
		h := newHarness(t, open(t), fakeapi.Options{})
		h.start(false, fast)
		const chat = int64(9102)
		h.toExpiry(chat)
		h.srv.UserText(chat, "15/03/2027") // the last day is 15 December 2026
		h.expect(chat, "your last day to submit")
		h.do(chat, func() { h.press(chat, "🔔 Remind me before Tuesday, 15 December 2026") }, "I'll remind you on Tuesday, 1 December 2026; Sunday, 13 December 2026; Tuesday, 15 December 2026")
		h.start(false, fast)
		count := func(text string) int { return strings.Count(h.dump(chat), text) }

		clk.Advance(6*24*time.Hour + time.Hour) // 1 December, 11:00
		m := h.expect(chat, "14 days left")
		if !boldCovers(m, "Tuesday, 15 December 2026") {
			t.Errorf("the reminder's last day is not in bold: %q %+v", m.Text, m.Entities)
		}
		h.do(chat, func() { h.srv.UserText(chat, "/status") }, "")
		if n := count("14 days left"); n != 1 {
			t.Errorf("the 14-day reminder came %d times; want once", n)
		}

		// A replica restarts under its name; the next reminder comes once.
		h.stop(h.bots[0])
		h.start(false, fast, func(c *Config) { c.Owner = "replica-0" })
		clk.Advance(12 * 24 * time.Hour) // 13 December, 11:00
		h.expect(chat, "2 days left")
		h.do(chat, func() { h.press(chat, "✅ I've sent it") }, "I'll check in on Wednesday, 23 December 2026")
		h.do(chat, func() { h.srv.UserText(chat, "/mydata") }, "")
		if d := h.dump(chat); !strings.Contains(d, "Check-in planned on Wednesday, 23 December 2026") {
			t.Errorf("/mydata does not list the check-in:%s", d)
		}
		if n := count("2 days left"); n != 1 {
			t.Errorf("the 2-day reminder came %d times; want once", n)
		}

		clk.Advance(10 * 24 * time.Hour) // 23 December: past the last day, at the check-in
		h.expect(chat, "Did AIMA email you?")
		h.do(chat, func() { h.press(chat, "Not yet") }, "publishes no processing time")
		if n := count("is the last day"); n != 0 {
			t.Errorf("the last day's reminder came %d times after I've sent it; want none", n)
		}
		if n := count("Did AIMA email you?"); n != 1 {
			t.Errorf("the check-in came %d times; want once", n)
		}

		h.do(chat, func() { h.srv.UserText(chat, "/forget") }, "This cannot be undone")
		h.do(chat, func() { h.press(chat, "Yes, erase everything") }, "Done. I erased")
		ctx, cancel := wait(t)
		defer cancel()
		if err := eventually(ctx, func() bool {
			_, ok, err := h.st.Get(ctx, chat)
			return err == nil && !ok
		}); err != nil {
			t.Fatal("the session survived /forget")
		}
	})
}

// A replica makes one package at a time: a second waits for the first's
// slot, and gives up when its context ends.
func TestPackerOneAtATime(t *testing.T) {
	p := newPacker(slog.New(slog.DiscardHandler), 0)
	release, err := p.take(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	got := make(chan error, 1)
	go func() {
		r, err := p.take(ctx)
		if err == nil {
			r()
		}
		got <- err
	}()
	cancel()
	if err := <-got; err == nil {
		t.Errorf("a second take while the first holds the slot = nil; want it to wait, then give up with its context")
	}
	release()
	r, err := p.take(context.Background())
	if err != nil {
		t.Fatalf("take after the release = %v; want the slot", err)
	}
	r()
}

// boldCovers says a bold entity of m covers exactly piece, where it first
// appears.
func boldCovers(m fakeapi.Message, piece string) bool {
	i := strings.Index(m.Text, piece)
	if i < 0 {
		return false
	}
	start, length := utf16Len(m.Text[:i]), utf16Len(piece)
	for _, e := range m.Entities {
		if e.Type == models.MessageEntityTypeBold && e.Offset == start && e.Length == length {
			return true
		}
	}
	return false
}
