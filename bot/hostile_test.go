package bot

import (
	"strings"
	"testing"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
)

// Hostile or odd input end to end: each gets a clear answer and loses
// nothing already given.
func TestHostileInput(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	h.start(false)
	chat := int64(9301)
	h.toAddressChange(chat)

	state := func() flows.Session { return h.session(chat) }
	tests := []struct {
		name string
		send func()
		want string // in the answer
	}{
		{"10,000 characters", func() { h.srv.UserText(chat, strings.Repeat("lorem ipsum ", 834)) }, "What is the expiry date"},
		{"zero-width and right-to-left characters", func() { h.srv.UserText(chat, "\u200b\u202e\u2066\u200f\u200d") }, "What is the expiry date"},
		{"emoji only", func() { h.srv.UserText(chat, "😀🎉🇵🇹👍🏽") }, "What is the expiry date"},
		{"a date hidden among zero-width characters", func() { h.srv.UserText(chat, "\u200b26/07/2030\u200f") }, "Friday, 26 July 2030"},
	}
	for _, tt := range tests[:3] {
		h.do(chat, tt.send, tt.want)
		if s := state(); s.State != flows.StateExpiry || s.Kind == "" || s.Reason == "" {
			t.Errorf("%s: session moved to %q (kind %q, reason %q); want still at the expiry date with the answers kept",
				tt.name, s.State, s.Kind, s.Reason)
		}
	}
	h.do(chat, tests[3].send, tests[3].want)
	h.press(chat, "Continue")
	h.expect(chat, "Document 1 of 5")

	// A file name that looks like a path is only a name: the file is
	// checked by its content.
	h.do(chat, func() { h.srv.UserDocument(chat, "../../../etc/passwd", "image/jpeg", jpegBytes(t, 30, 20)) }, "Document 2 of 5")
	// An album of ten photos fills the four documents left (the card's
	// front and back both) and says what was not used, in one reply.
	before := len(h.srv.Messages(chat))
	var album [][]byte
	for i := range 10 {
		album = append(album, jpegBytes(t, 10+i, 10))
	}
	h.srv.UserAlbum(chat, album)
	h.expect(chat, "were not used")
	if got := len(h.srv.Messages(chat)) - before; got != 1 { // the answer, with the review
		t.Errorf("replies to an album of ten = %d; want one:%s", got, h.dump(chat))
	}
	if s := state(); len(s.Docs) != 6 {
		t.Errorf("files kept = %d; want 6 (five documents, the card with two sides)", len(s.Docs))
	}
}
