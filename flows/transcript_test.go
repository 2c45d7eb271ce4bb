package flows

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/tools/txtar"

	"github.com/aimabot/aimabot/rules"
)

var update = flag.Bool("update", false, "rewrite the golden transcripts from the current behaviour")

// TestTranscripts replays every conversation in testdata/transcripts and
// compares what the assistant says with the recorded transcript. A transcript
// is a txtar archive: its comment sets the client language ("client: pt") and
// the clock ("now: 2026-11-25T10:00:00Z"); its "transcript" file holds the
// applicant's inputs on lines starting with "> " and the replies below them.
//
// Inputs: plain text; "/command args"; "[Label]" presses the button with that
// label in the last replies; "photo SIZE", "pdf SIZE", "zip SIZE" send a
// file of that type and size; "fakepdf SIZE" and "fakejpg SIZE" a file sent
// as a PDF or a JPEG whose content is not one; "album N" sends N photos at once; "sticker";
// "stale [Label]" presses a button of any earlier reply; "@2027-01-01T10:00:00Z"
// moves the clock; "wake" wakes the assistant (what is due happens);
// "packed", "packed unreadable" and "packed failed" answer the last package
// asked for (see packResult). "staff: ..." is the same from a member of the support
// team in the applicant's topic ("staff: [✋ Take over]" presses a button of
// the case card).
//
// Replies: "< " to the applicant, "staff< " to the support team's topic,
// "general< " to the staff group's General topic,
// and "card< " the case card as it is after the input, when the input
// changed the case. The comment's "staff: off" runs without a support team;
// otherwise the team reads "staff: LANG" (English by default). "buttons:
// lenient" (for tests that replay a conversation under another
// configuration) lets a missing button pass.
//
// Run with -update to rewrite the files after an intended change, then read
// the diff.
func TestTranscripts(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txt"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var want []byte
			for _, f := range ar.Files {
				if f.Name == "transcript" {
					want = f.Data
				}
			}
			got := replay(t, string(ar.Comment), string(want))
			if *update {
				for i := range ar.Files {
					if ar.Files[i].Name == "transcript" {
						ar.Files[i].Data = []byte(got)
					}
				}
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(want) {
				t.Errorf("transcript differs (run go test ./flows -run TestTranscripts -update, then read the diff):\n%s", diffLines(string(want), got))
			}
		})
	}
}

func header(comment, key string) string {
	for _, line := range strings.Split(comment, "\n") {
		if v, ok := strings.CutPrefix(line, key+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// replay runs the "> " inputs of a transcript and writes a new transcript.
func replay(t *testing.T, comment, transcript string) string {
	t.Helper()
	var f *Flow
	if lang := header(comment, "staff"); lang == "off" {
		f = flowWithout(t)
	} else {
		f = flowWith(t, lang)
	}
	client := header(comment, "client")
	now, err := time.Parse(time.RFC3339, header(comment, "now"))
	if err != nil {
		t.Fatalf("comment needs now: RFC3339: %v", err)
	}
	var s Session
	var last, all []Reply
	var lastCard map[string]bool // the lines of the card last shown
	var lastTitle, lastKeys string
	var b strings.Builder
	sc := bufio.NewScanner(strings.NewReader(transcript))
	files := 0
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "> ")
		if !ok {
			continue
		}
		fmt.Fprintf(&b, "> %s\n", line)
		if at, ok := strings.CutPrefix(line, "@"); ok {
			now, err = time.Parse(time.RFC3339, at)
			if err != nil {
				t.Fatalf("bad clock line %q: %v", line, err)
			}
			continue
		}
		if what, ok := strings.CutPrefix(line, "packed"); ok {
			// The transport's answer to the last package asked for: each
			// document sent as a PDF of one page per file, or ("packed
			// unreadable") its first file no longer to be had, or
			// ("packed failed") nothing made.
			in := Input{Kind: PackageDone, Packed: packResult(t, all, strings.TrimSpace(what))}
			var replies []Reply
			s, replies, err = f.Step(s, in, now)
			if err != nil {
				t.Fatalf("Step(%q) error: %v", line, err)
			}
			writeReplies(t, &b, replies)
			b.WriteString("\n")
			last, all = replies, append(all, replies...)
			continue
		}
		if line == "wake" {
			var replies []Reply
			s, replies = f.Wake(s, now)
			if len(replies) == 0 {
				b.WriteString("(nothing due)\n")
			} else {
				// What woke the assistant can be answered, like any reply.
				last, all = replies, append(all, replies...)
			}
			writeReplies(t, &b, replies)
			b.WriteString("\n")
			continue
		}
		from := last
		if stale, ok := strings.CutPrefix(line, "stale "); ok {
			line, from = stale, all
		}
		staff, isStaff := strings.CutPrefix(line, "staff: ")
		if isStaff {
			line, from = staff, []Reply{{Buttons: f.Card(s, now).Buttons}}
		}
		in, ok := parseInput(t, line, client, from, &files)
		if isStaff {
			in.From = &Agent{ID: 900, Name: "Ana"}
			in.ClientLang = ""
		}
		if !ok {
			if header(comment, "buttons") != "lenient" {
				t.Errorf("no button %s in the last replies; the transcript goes on without it", line)
			}
			b.WriteString("! no such button\n\n")
			continue
		}
		var replies []Reply
		s, replies, err = f.Step(s, in, now)
		if err != nil {
			t.Fatalf("Step(%q) error: %v", line, err)
		}
		card := writeReplies(t, &b, replies)
		if card {
			// The whole card the first time; then its title when it
			// changes, and the lines that are new, marked "+".
			c := f.Card(s, now)
			if lastCard == nil || c.Title != lastTitle {
				fmt.Fprintf(&b, "card< # %s\n", c.Title)
			}
			for _, l := range strings.Split(c.Text, "\n") {
				switch {
				case lastCard == nil:
					fmt.Fprintf(&b, "card< %s\n", l)
				case !lastCard[l]:
					fmt.Fprintf(&b, "card< + %s\n", l)
				}
			}
			var rows []string
			for _, row := range c.Buttons {
				var labels []string
				for _, bt := range row {
					labels = append(labels, "["+bt.Label+"]")
				}
				rows = append(rows, "  "+strings.Join(labels, " "))
			}
			if k := strings.Join(rows, "\n"); lastCard == nil || k != lastKeys {
				fmt.Fprintf(&b, "%s\n", k)
				lastKeys = k
			}
			lastTitle, lastCard = c.Title, map[string]bool{}
			for _, l := range strings.Split(c.Text, "\n") {
				lastCard[l] = true
			}
		}
		b.WriteString("\n")
		last = replies
		all = append(all, replies...)
	}
	return b.String()
}

// packResult is the transport's outcome of the last package in replies.
func packResult(t *testing.T, replies []Reply, what string) *PackResult {
	t.Helper()
	var p *Package
	for _, r := range replies {
		if r.Package != nil {
			p = r.Package
		}
	}
	if p == nil {
		t.Fatalf("packed: no package was asked for")
	}
	res := &PackResult{Limit: 5 << 20}
	switch what {
	case "failed":
		res.Failed = true
		return res
	case "unreadable":
		res.Unreadable = []string{p.Docs[0].Files[0].Ref}
	case "":
	default:
		t.Fatalf("packed %q: want nothing, unreadable or failed", what)
	}
	for i, d := range p.Docs {
		if i == 0 && what == "unreadable" {
			continue
		}
		res.Sent = append(res.Sent, Packed{Doc: d.Doc, Name: d.Name, Ref: "pdf-" + d.Name, Msg: 1000 + i,
			Size: int64(len(d.Files)) * 300_000, Pages: len(d.Files)})
	}
	return res
}

func parseInput(t *testing.T, line, client string, last []Reply, files *int) (Input, bool) {
	t.Helper()
	fields := strings.Fields(line)
	*files++
	msg := []Message{{ID: *files}}
	file := func(typ rules.FileType, photo bool, size string) File {
		n, err := strconv.ParseInt(size, 10, 64)
		if err != nil {
			t.Fatalf("bad size in %q", line)
		}
		*files++
		return File{Ref: fmt.Sprintf("file-%d", *files), Type: typ, Size: n, Photo: photo}
	}
	switch {
	case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
		label := line[1 : len(line)-1]
		for _, r := range last {
			for _, row := range r.Buttons {
				for _, b := range row {
					if b.Label == label {
						return Input{Kind: Button, Data: b.Data, Label: label, ClientLang: client}, true
					}
				}
			}
		}
		return Input{}, false
	case len(fields) == 2 && fields[0] == "photo":
		return Input{Kind: Files, Files: []File{file(rules.JPEG, true, fields[1])}, Msgs: msg, ClientLang: client}, true
	case len(fields) == 2 && fields[0] == "pdf":
		return Input{Kind: Files, Files: []File{file(rules.PDF, false, fields[1])}, Msgs: msg, ClientLang: client}, true
	case len(fields) == 2 && fields[0] == "zip":
		return Input{Kind: Files, Files: []File{file("", false, fields[1])}, Msgs: msg, ClientLang: client}, true
	case len(fields) == 2 && (fields[0] == "fakepdf" || fields[0] == "fakejpg"):
		f := file("", false, fields[1])
		f.Claimed = rules.PDF
		if fields[0] == "fakejpg" {
			f.Claimed = rules.JPEG
		}
		return Input{Kind: Files, Files: []File{f}, Msgs: msg, ClientLang: client}, true
	case len(fields) == 2 && fields[0] == "album":
		n, _ := strconv.Atoi(fields[1])
		in := Input{Kind: Files, ClientLang: client}
		for range n {
			in.Files = append(in.Files, file(rules.JPEG, true, "150000"))
			in.Msgs = append(in.Msgs, Message{ID: *files})
		}
		return in, true
	case line == "sticker":
		return Input{Kind: Unsupported, Msgs: msg, ClientLang: client}, true
	}
	in := ParseText(line, client)
	in.Msgs = msg
	return in, true
}

// diffLines shows the first lines where two transcripts part.
func diffLines(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			end := min(i+8, len(g))
			return fmt.Sprintf("line %d:\n got: %q\nwant: %q\ngot from there:\n%s", i+1, gl, wl, strings.Join(g[i:end], "\n"))
		}
	}
	return ""
}

func flowWith(t *testing.T, staffLang string) *Flow {
	t.Helper()
	return sharedFlow(t, true, staffLang)
}

func flowWithout(t *testing.T) *Flow {
	t.Helper()
	return sharedFlow(t, false, "")
}

// writeReplies writes replies as transcript lines and reports whether one
// of them asked for the case card to be shown.
func writeReplies(t *testing.T, b *strings.Builder, replies []Reply) (card bool) {
	for _, r := range replies {
		prefix := "< "
		if r.Staff {
			prefix = "staff< "
			if r.General {
				prefix = "general< "
			}
		}
		switch {
		case r.Card:
			card = true
			continue
		case r.Package != nil:
			for _, d := range r.Package.Docs {
				fmt.Fprintf(b, "package< %s: %d file(s), %q\n", d.Name, len(d.Files), d.Caption)
			}
			continue
		case r.Forget:
			fmt.Fprintf(b, "event< %s: everything stored is erased\n", r.Event)
			continue
		case r.DropCase:
			fmt.Fprintf(b, "staff< (case erased, with the %d staff message(s) in it)\n", len(r.CaseMsgs))
			continue
		case r.Event != "":
			fmt.Fprintf(b, "event< %s\n", r.Event)
			continue
		case len(r.Copy) > 0:
			fmt.Fprintf(b, "%s(copy of %d message(s))\n", prefix, len(r.Copy))
			continue
		}
		if n := utf8.RuneCountInString(r.Text); n > maxPhoneText && !isFinalSteps(t, r.Text) {
			t.Errorf("a reply of %d characters; at most %d read on a phone without scrolling (only the final steps may be longer):\n%s", n, maxPhoneText, r.Text)
		}
		for _, l := range strings.Split(r.Text, "\n") {
			fmt.Fprintf(b, "%s%s\n", prefix, l)
		}
		from := 0
		for _, l := range r.Links {
			i := strings.Index(r.Text[from:], l.Text)
			if i < 0 {
				t.Errorf("link %q is not in the text after byte %d: %q", l.Text, from, r.Text)
				continue
			}
			from += i + len(l.Text)
			fmt.Fprintf(b, "  {%s -> %s}\n", l.Text, l.URL)
		}
		for _, row := range r.Buttons {
			var labels []string
			for _, bt := range row {
				labels = append(labels, "["+bt.Label+"]")
				if len(bt.Data) > maxButtonData {
					t.Errorf("button %q data %q is over %d bytes", bt.Label, bt.Data, maxButtonData)
				}
			}
			fmt.Fprintf(b, "  %s\n", strings.Join(labels, " "))
		}
	}
	return card
}

// maxPhoneText is the most a reply may hold, in characters, but for the
// final steps: about what a phone shows without scrolling.
const maxPhoneText = 1000

// isFinalSteps says a reply is the final step list, in any language.
func isFinalSteps(t *testing.T, text string) bool {
	t.Helper()
	cat := sharedFlow(t, false, "").cat
	for _, lang := range Languages() {
		if strings.HasPrefix(text, cat.Text(lang, "done_title", nil)) {
			return true
		}
	}
	return false
}
