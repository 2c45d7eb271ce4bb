package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
)

// Simulated applicants for aimabot-load and the scale-out test. A
// script lists what an applicant (or the staff member helping them) does;
// it holds no replies. The replies are recorded in a run without load (the
// reference) and every loaded conversation must end with the same ones.

// act is one thing done in a conversation.
type act struct {
	kind string // see the act kinds below
	arg  string
}

// Act kinds.
const (
	actText  = "text"  // the applicant types arg
	actPress = "press" // the applicant presses the button labelled arg
	actPhoto = "photo" // the applicant sends a photo
	actPDF   = "pdf"   // the applicant sends a PDF named arg
	actAlbum = "album" // the applicant sends an album of strconv.Atoi(arg) photos
	actTake  = "take"  // the staff member takes the case over from its card
	actStaff = "staff" // the staff member writes arg in the case's topic
	actSeen  = "seen"  // the staff member waits until arg shows in the case's topic (no update)
)

// script is one kind of conversation.
type script struct {
	name string
	acts []act
}

func say(s string) act { return act{actText, s} }
func tap(s string) act { return act{actPress, s} }

// loadScripts are the conversations of the load: English, Portuguese and
// French; buttons, typed dates, photos, a PDF, an album, questions for the
// knowledge base, and a takeover by the staff.
func loadScripts() []script {
	return []script{
		{"lost_card_en", []act{
			say("/start"), tap("English"), tap("My card was lost, stolen or damaged"), tap("I lost it"),
			say("26/07/2030"), tap("Continue"), {actPhoto, ""}, tap("Skip (I don't have it)"), {actPhoto, ""},
			tap("Everything is correct"),
		}},
		{"address_change_pt", []act{
			say("olá"), tap("Os meus dados pessoais mudaram"), tap("A minha morada"),
			say("26 de julho de 2030"), tap("Continuar"), {actPhoto, ""}, say("quanto custa o pedido?"),
			{actPDF, "cartao.pdf"}, {actAlbum, "2"}, tap("Saltar (não o tenho)"), tap("Está tudo certo"),
		}},
		{"takeover_en", []act{
			say("/start"), tap("English"), say("how long does AIMA take to answer?"), say("/human"),
			{actTake, ""}, {actStaff, "Hello! Tell me what happened to your card."}, say("I lost it in the metro"),
			{actSeen, "I lost it in the metro"}, {actStaff, "/release"}, tap("My card was lost, stolen or damaged"), tap("I lost it"),
			say("26/07/2030"), tap("Continue"), {actPhoto, ""}, tap("Skip (I don't have it)"), {actPhoto, ""},
			tap("Everything is correct"), {actStaff, "/close"},
		}},
		{"stolen_card_fr", []act{
			say("/start"), tap("Français"), say("😀😀😀"), tap("Carte perdue, volée ou abîmée"),
			tap("On me l'a volée"), say("le 26 juillet 2030"), tap("Continuer"), {actPDF, "passeport.pdf"},
			tap("Passer (je ne l'ai pas)"), {actPhoto, ""}, tap("Tout est correct"),
		}},
	}
}

// updates is how many Telegram updates the act makes.
func (a act) updates() int {
	switch a.kind {
	case actAlbum:
		n, _ := strconv.Atoi(a.arg)
		return n
	case actSeen:
		return 0
	}
	return 1
}

// Staff of the load's staff group.
const (
	loadStaffChat = int64(-1_008_000_000_001)
	loadStaffUser = int64(8001)
	loadStaffName = "Ana"
)

// applicantName is the first name of the applicant in chat: unique, so
// that the case's topic can be found by it.
func applicantName(chat int64) string { return "Applicant" + strconv.FormatInt(chat, 36) }

var (
	errLost = errors.New("no reply came")
)

// world is the fake Telegram the applicants talk through, with a way to
// hear at once when the bot writes to a chat.
type world struct {
	srv   *fakeapi.Server
	photo []byte
	pdf   []byte

	mu    sync.Mutex
	chats map[int64]chan time.Time // chats a conversation is listening to
}

// newWorld starts a fake Bot API server with the staff group, and no
// flood limits: the load test lifts them for its measurement.
func newWorld(logf func(string, ...any)) *world {
	w := &world{chats: map[int64]chan time.Time{}}
	w.srv = fakeapi.New(fakeapi.Options{Logf: logf, OnCall: w.onCall})
	w.srv.NewForum(loadStaffChat, "Support")
	w.srv.SetUserName(loadStaffUser, loadStaffName)
	var buf bytes.Buffer
	_ = jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 64, 48)), nil)
	w.photo = buf.Bytes()
	w.pdf = []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n")
	return w
}

func (w *world) close() { w.srv.Close() }

// onCall runs under the fake server's lock: it only passes the moment on.
func (w *world) onCall(_ string, chat int64, at time.Time) {
	w.mu.Lock()
	ch := w.chats[chat]
	w.mu.Unlock()
	if ch != nil {
		select {
		case ch <- at:
		default: // the listener re-reads the chat on its next wake-up anyway
		}
	}
}

func (w *world) listen(chat int64) chan time.Time {
	ch := make(chan time.Time, 64)
	w.mu.Lock()
	w.chats[chat] = ch
	w.mu.Unlock()
	return ch
}

func (w *world) forget(chat int64) {
	w.mu.Lock()
	delete(w.chats, chat)
	w.mu.Unlock()
}

// transcript is what the applicant saw: each message's kind and text, with
// their own name replaced, so that conversations in different chats
// compare equal.
func (w *world) transcript(chat int64) []string {
	name := applicantName(chat)
	var out []string
	for _, m := range w.srv.Messages(chat) {
		out = append(out, m.Kind+": "+strings.ReplaceAll(m.Text+m.Caption, name, "{name}"))
	}
	return out
}

// seen is how many messages the applicant has, a message repeated right
// after itself counted once: the repeat a crash can cause (see verdict)
// must not pass for the answer to the next act.
func (w *world) seen(chat int64) int {
	n, prev := 0, ""
	for i, m := range w.srv.Messages(chat) {
		t := m.Kind + ": " + unpressed(m.Text+m.Caption)
		if i == 0 || t != prev {
			n++
		}
		prev = t
	}
	return n
}

// do performs one act in chat.
func (w *world) do(ctx context.Context, chat int64, a act) error {
	switch a.kind {
	case actText:
		w.srv.UserText(chat, a.arg)
	case actPress:
		if _, err := w.srv.UserPressLabel(chat, a.arg); err != nil {
			return fmt.Errorf("pressing %q: %w", a.arg, err)
		}
	case actPhoto:
		w.srv.UserPhoto(chat, w.photo, "")
	case actPDF:
		w.srv.UserDocument(chat, a.arg, "application/pdf", w.pdf)
	case actAlbum:
		n, _ := strconv.Atoi(a.arg)
		w.srv.UserAlbum(chat, slices.Repeat([][]byte{w.photo}, n))
	case actTake:
		card, err := w.card(ctx, chat)
		if err != nil {
			return err
		}
		w.srv.GroupPress(loadStaffChat, loadStaffUser, card.ID, card.Buttons[0][0].Data)
	case actStaff:
		tp, err := w.topic(ctx, chat)
		if err != nil {
			return err
		}
		w.srv.UserTopicText(loadStaffChat, tp.ThreadID, loadStaffUser, a.arg)
	case actSeen:
		// Updates of different chats may be applied in any order: a staff
		// member answers what they have seen.
		for {
			tp, err := w.topic(ctx, chat)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(w.srv.TopicMessages(loadStaffChat, tp.ThreadID), func(m fakeapi.Message) bool {
				return strings.Contains(m.Text+m.Caption, a.arg)
			}) {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("waiting for %q in the case's topic: %w", a.arg, errLost)
			case <-time.After(staffPoll):
			}
		}
	default:
		return fmt.Errorf("unknown act %q", a.kind)
	}
	return nil
}

// staffPoll is how often a staff member looks at the group for a case.
const staffPoll = 10 * time.Millisecond

// topic waits for the staff topic of the applicant's case: the one with
// the case's card. A replica killed between opening a topic and recording
// it leaves an empty topic under the same name, and the case gets another.
func (w *world) topic(ctx context.Context, chat int64) (fakeapi.Topic, error) {
	tp, _, err := w.caseTopic(ctx, chat)
	return tp, err
}

// card waits for the case's card with its Take over button.
func (w *world) card(ctx context.Context, chat int64) (fakeapi.Message, error) {
	_, m, err := w.caseTopic(ctx, chat)
	return m, err
}

func (w *world) caseTopic(ctx context.Context, chat int64) (fakeapi.Topic, fakeapi.Message, error) {
	prefix := applicantName(chat) + " ·"
	for {
		for _, tp := range w.srv.Topics(loadStaffChat) {
			if !strings.HasPrefix(tp.Name, prefix) || tp.Deleted {
				continue
			}
			for _, m := range w.srv.TopicMessages(loadStaffChat, tp.ThreadID) {
				if strings.HasPrefix(m.Text, "📋") && len(m.Buttons) > 0 && len(m.Buttons[0]) > 0 {
					return tp, m, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return fakeapi.Topic{}, fakeapi.Message{}, fmt.Errorf("waiting for the case's card: %w", errLost)
		case <-time.After(staffPoll):
		}
	}
}

// reference is a script's conversation without load: how many messages the
// applicant has after each act, and the whole transcript at the end.
type reference struct {
	counts     []int
	transcript []string
}

// Quiet spells after which the reference takes a chat's replies as
// complete, counted from when the bot has committed them: an album is
// answered only after the bot's album wait.
const (
	settleQuiet = 300 * time.Millisecond
	albumQuiet  = 2 * time.Second
)

// record runs the script once in chat with nothing else going on, waiting
// after each act until the bot has committed its effects (every update
// delivered to the webhook, which answers once they are stored; an album
// answered), then until the bot has been quiet in the chat for a while.
// However slow the machine, the quiet spell only has to cover the sending
// of what is already committed.
func (w *world) record(ctx context.Context, chat int64, sc script) (reference, error) {
	w.srv.SetUserName(chat, applicantName(chat))
	ch := w.listen(chat)
	defer w.forget(chat)
	var ref reference
	for i, a := range sc.acts {
		before := w.seen(chat)
		if err := w.do(ctx, chat, a); err != nil {
			return ref, fmt.Errorf("%s act %d: %w", sc.name, i+1, err)
		}
		err := w.srv.WaitFor(ctx, func() bool {
			return w.srv.Pending() == 0 && (a.kind != actAlbum || w.seen(chat) > before)
		})
		if err != nil {
			return ref, fmt.Errorf("%s act %d: the bot did not take the act: %w", sc.name, i+1, err)
		}
		quiet := settleQuiet
		if a.kind == actAlbum {
			quiet = albumQuiet
		}
		t := time.NewTimer(quiet)
	settle:
		for {
			select {
			case <-ch:
				t.Reset(quiet)
			case <-t.C:
				break settle
			case <-ctx.Done():
				t.Stop()
				return ref, ctx.Err()
			}
		}
		ref.counts = append(ref.counts, w.seen(chat))
	}
	ref.transcript = w.transcript(chat)
	return ref, nil
}

// outcome is one conversation under load.
type outcome struct {
	updates   int
	latencies []time.Duration // one per act answered by a new message, albums aside
	err       error           // errLost when a reply never came
}

// converse runs the script in chat as a person would: each act once the
// replies to the one before are all there (as many messages as in the
// reference). stepTimeout bounds the wait for each act's replies.
func (w *world) converse(ctx context.Context, chat int64, sc script, ref reference, stepTimeout time.Duration) outcome {
	w.srv.SetUserName(chat, applicantName(chat))
	ch := w.listen(chat)
	defer w.forget(chat)
	var out outcome
	have := 0
	for i, a := range sc.acts {
		sctx, cancel := context.WithTimeout(ctx, stepTimeout)
		offered := time.Now()
		err := w.do(sctx, chat, a)
		out.updates += a.updates()
		if err != nil {
			cancel()
			out.err = fmt.Errorf("%s act %d: %w", sc.name, i+1, err)
			return out
		}
		want := ref.counts[i]
		var at time.Time
		for have < want {
			select {
			case at = <-ch:
				have = w.seen(chat)
			case <-sctx.Done():
				if have = w.seen(chat); have >= want {
					at = time.Now()
					continue
				}
				cancel()
				out.err = fmt.Errorf("%s act %d: %d of %d messages after %v: %w", sc.name, i+1, have, want, stepTimeout, errLost)
				return out
			}
		}
		cancel()
		if !at.IsZero() && a.kind != actAlbum {
			out.latencies = append(out.latencies, at.Sub(offered))
		}
	}
	return out
}

// verdict compares a finished conversation's transcript with the
// reference: "" when equal, "duplicated" when equal once messages
// repeated back to back are dropped (the repeats counted in dups), and
// "mismatch" otherwise.
func verdict(got, want []string) (kind string, dups int) {
	if slices.Equal(got, want) {
		return "", 0
	}
	var collapsed []string
	for i, m := range got {
		// The applicant may have pressed a button on either copy; the
		// pressed one shows the choice ("✓ …") under it.
		if i > 0 && unpressed(m) == unpressed(got[i-1]) {
			dups++
			if strings.Contains(m, "\n\n✓ ") {
				collapsed[len(collapsed)-1] = m
			}
			continue
		}
		collapsed = append(collapsed, m)
	}
	if dups > 0 && slices.Equal(collapsed, want) {
		return "duplicated", dups
	}
	return "mismatch", 0
}

// unpressed is a message's text without the choice shown under it.
func unpressed(text string) string {
	if i := strings.LastIndex(text, "\n\n✓ "); i >= 0 {
		return text[:i]
	}
	return text
}
