package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/aimabot/aimabot/flows"
)

func TestSplit(t *testing.T) {
	para := strings.Repeat("word ", 500) // 2500 characters
	tests := []struct {
		name  string
		text  string
		limit int
		parts int // how many parts
	}{
		{"short text is one part", "hello", 4096, 1},
		{"exactly the limit", strings.Repeat("a", 4096), 4096, 1},
		{"one over the limit", strings.Repeat("a", 4097), 4096, 2},
		{"paragraphs", para + "\n\n" + para + "\n\n" + para, 4096, 3},
		{"emoji count double in UTF-16", strings.Repeat("😀", 2049), 4096, 2},
		{"10,000 characters", strings.Repeat("x", 10000), 4096, 3},
		{"empty", "   ", 4096, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			parts := split(tt.text, tt.limit)
			if len(parts) != tt.parts {
				t.Fatalf("split(%d chars) = %d parts; want %d", len(tt.text), len(parts), tt.parts)
			}
			for i, p := range parts {
				if n := utf16Len(p); n > tt.limit || n == 0 {
					t.Errorf("part %d has %d UTF-16 units; want 1..%d", i, n, tt.limit)
				}
			}
			squash := func(s string) string { return strings.Join(strings.Fields(s), "") }
			if got, want := squash(strings.Join(parts, "")), squash(tt.text); got != want {
				t.Errorf("split lost or changed text: %d characters; want %d", len(got), len(want))
			}
		})
	}
}

// The keyboard sent to Telegram has only the fields of a callback button:
// no empty copy_text, which Telegram rejects.
func TestKeyboardJSON(t *testing.T) {
	ops := render([]flows.Reply{{Text: "Q?", Buttons: [][]flows.ButtonSpec{{{Label: "Yes", Data: "1:y"}, {Label: "No", Data: "1:n"}}}}})
	if len(ops) != 1 {
		t.Fatalf("render = %d ops; want 1", len(ops))
	}
	b, err := json.Marshal(ops[0].keyboard())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"inline_keyboard":[[{"text":"Yes","callback_data":"1:y"},{"text":"No","callback_data":"1:n"}]]}`
	if string(b) != want {
		t.Errorf("keyboard JSON = %s; want %s", b, want)
	}
}

// A long reply is split and its buttons stay on the last part.
func TestRenderLongReply(t *testing.T) {
	ops := render([]flows.Reply{{Text: strings.Repeat("line\n", 2000), Buttons: [][]flows.ButtonSpec{{{Label: "OK", Data: "1:ok"}}}}})
	if len(ops) != 3 {
		t.Fatalf("render = %d ops; want 3", len(ops))
	}
	for i, o := range ops {
		if has := len(o.Buttons) > 0; has != (i == len(ops)-1) {
			t.Errorf("ops[%d] buttons = %v; want buttons only on the last part", i, o.Buttons)
		}
	}
}

// A link's address goes behind its words, at offsets counted in UTF-16
// code units as Telegram counts them (an emoji is two, an accent one), and
// a reply split in parts takes each link into the part that holds it.
func TestLinks(t *testing.T) {
	text := "Fontes: 🇵🇹 aima.gov.pt · dre.pt · aima.gov.pt (2) · verificado em 1 de agosto"
	links := []flows.Link{{Text: "aima.gov.pt", URL: "https://aima.gov.pt/a"}, {Text: "dre.pt", URL: "https://dre.pt/b"},
		{Text: "aima.gov.pt (2)", URL: "https://aima.gov.pt/c"}, {Text: "missing", URL: "https://x"}}
	got := entities(text, links)
	want := []struct {
		offset, length int
		url            string
	}{{13, 11, "https://aima.gov.pt/a"}, {27, 6, "https://dre.pt/b"}, {36, 15, "https://aima.gov.pt/c"}}
	if len(got) != len(want) {
		t.Fatalf("entities(%q) = %+v; want %d text links", text, got, len(want))
	}
	for i, w := range want {
		if g := got[i]; g.Type != "text_link" || g.Offset != w.offset || g.Length != w.length || g.URL != w.url {
			t.Errorf("entities[%d] = %s at %d+%d -> %s; want text_link at %d+%d -> %s", i, g.Type, g.Offset, g.Length, g.URL, w.offset, w.length, w.url)
		}
	}

	long := strings.Repeat("word ", 900) + "\n\nSources: aima.gov.pt"
	ops := render([]flows.Reply{{Text: "see aima.gov.pt\n\n" + long, Links: []flows.Link{{Text: "aima.gov.pt", URL: "https://one"}, {Text: "aima.gov.pt", URL: "https://two"}}}})
	if len(ops) != 2 || len(ops[0].Links) != 1 || ops[0].Links[0].URL != "https://one" || len(ops[1].Links) != 1 || ops[1].Links[0].URL != "https://two" {
		t.Errorf("render of a long reply with two links: %d parts, links %+v / %+v; want one link in each part", len(ops), ops[0].Links, ops[len(ops)-1].Links)
	}
}

// utf16Len counts as Telegram does, as encoding to UTF-16 would, with no
// allocation.
func TestUTF16Len(t *testing.T) {
	for _, s := range []string{"", "abc", "olá", "👍🏽 ok", "\xff\xfe broken", "\xed\xa0\x80 surrogate", "日本語"} {
		if got, want := utf16Len(s), len(utf16.Encode([]rune(s))); got != want {
			t.Errorf("utf16Len(%q) = %d; want %d", s, got, want)
		}
	}
	units := 0
	if n := testing.AllocsPerRun(10, func() { units += utf16Len("a reply of some length, with an emoji 👍") }); n != 0 || units == 0 {
		t.Errorf("utf16Len allocates %v times; want 0", n)
	}
}
