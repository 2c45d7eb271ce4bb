package faq

import (
	"io/fs"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"unicode"
	"unicode/utf8"
)

// Fuzz targets for the questions applicants type and for knowledge-base
// files. FuzzMatch (faq_test.go) checks the score only; FuzzMatchTopic checks
// the whole Match. Run one longer with, for example:
//
//	go test ./flows/faq -run '^$' -fuzz '^FuzzMatchTopic$' -fuzztime 5m

var oddTexts = []string{
	"Cartão de RESIDÊNCIA!! l'AIMA 2ª",
	"how much is the 2a via?",
	"perdi o cartão, o que faço?",
	"j'ai perdu ma carte de séjour",
	"I LOST MY CARD",
	"",
	"   ",
	"😀😀😀",
	"\u200b\u200b\u202e?",
	"١٢٣ police",
	"ǅ İstanbul ẞ",
	"\xff\xfe\x00",
	"e\u0301te\u0301",
	strings.Repeat("police report ", 800),
	strings.Repeat("é", 999) + "x",
	"iPhone™ № 5 ℌ",
}

// FuzzWords folds arbitrary text. Words are never empty and hold only
// letters and digits, with no accents and no upper case; folding the words
// again changes nothing; and only the first 1,000 bytes are read, so a
// 10,000-character paste costs no more than a question.
func FuzzWords(f *testing.F) {
	for _, s := range oddTexts {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		words := Words(text)
		if len(words) > maxInput {
			t.Fatalf("Words(%.40q): %d words from at most %d bytes", text, len(words), maxInput)
		}
		for _, w := range words {
			if w == "" {
				t.Fatalf("Words(%.40q) holds an empty word: %q", text, words)
			}
			for _, r := range w {
				if !unicode.IsLetter(r) && !unicode.IsDigit(r) {
					t.Fatalf("Words(%.40q) word %q holds %U, neither letter nor digit", text, w, r)
				}
				if unicode.Is(unicode.Mn, r) {
					t.Fatalf("Words(%.40q) word %q keeps the accent %U", text, w, r)
				}
			}
		}
		if len(text) > maxInput {
			if head := Words(text[:maxInput]); !reflect.DeepEqual(words, head) {
				t.Fatalf("Words of %d bytes = %q; its first %d bytes give %q: it reads past them", len(text), words, maxInput, head)
			}
		}
		for _, w := range words {
			if strings.ToLower(w) != w || strings.ContainsFunc(w, unicode.IsUpper) {
				t.Fatalf("Words(%.40q) word %q has upper-case letters", text, w)
			}
		}
		if joined := strings.Join(words, " "); len(joined) <= maxInput {
			if again := Words(joined); !slices.Equal(again, words) && !(len(again) == 0 && len(words) == 0) {
				t.Fatalf("Words(%.40q) = %q, but folding them again gives %q", text, words, again)
			}
		}
	})
}

// FuzzMatchTopic matches arbitrary text with an arbitrary language hint
// against the shipped knowledge base. The topic is None or a known topic;
// the score is in 0..1; the language is one of the three; other topics
// offered are known, distinct, not None and not the topic itself, and only
// come with a topic; the same text always gives the same match; and only
// the first 1,000 bytes decide the topic.
func FuzzMatchTopic(f *testing.F) {
	kb := defaultKB(f)
	for _, s := range oddTexts {
		f.Add(s, "pt")
	}
	f.Add("how much is a 2nd copy and how long does it take?", "en")
	f.Add("quanto custa", "")
	f.Add("combien ça coûte", "de")
	f.Fuzz(func(t *testing.T, text, hint string) {
		m := kb.Match(text, hint)
		if m.Topic != None {
			if _, ok := kb.Topic(m.Topic); !ok {
				t.Fatalf("Match(%.40q) topic %q is not in the knowledge base", text, m.Topic)
			}
		}
		if math.IsNaN(m.Score) || m.Score < 0 || m.Score > 1 {
			t.Fatalf("Match(%.40q) score %v out of 0..1", text, m.Score)
		}
		if !slices.Contains(Languages(), m.Lang) {
			t.Fatalf("Match(%.40q, %q) language %q is not one of %v", text, hint, m.Lang, Languages())
		}
		if m.Topic == None && len(m.Also) > 0 {
			t.Fatalf("Match(%.40q) offers %v with no topic", text, m.Also)
		}
		if len(m.Also) > 2 {
			t.Fatalf("Match(%.40q) offers %d other topics; at most 2", text, len(m.Also))
		}
		seen := map[string]bool{m.Topic: true}
		for _, id := range m.Also {
			if _, ok := kb.Topic(id); !ok || seen[id] {
				t.Fatalf("Match(%.40q) = %+v: other topic %q unknown, None or repeated", text, m, id)
			}
			seen[id] = true
		}
		if again := kb.Match(text, hint); !reflect.DeepEqual(again, m) {
			t.Fatalf("Match(%.40q) = %+v, then %+v", text, m, again)
		}
		if len(text) > maxInput {
			head := kb.Match(text[:maxInput], hint)
			if head.Topic != m.Topic || head.Score != m.Score || !slices.Equal(head.Also, m.Also) {
				t.Fatalf("Match of %d bytes = %+v; its first %d bytes give %+v", len(text), m, maxInput, head)
			}
		}
	})
}

// noneFile is a minimal out-of-scope topic, which every knowledge base needs.
const noneFile = `id = "none"
[en]
examples = ["driving licence"]
[pt]
examples = ["carta de condução"]
[fr]
examples = ["permis de conduire"]
`

// FuzzLoadKB loads a knowledge base holding one arbitrary kb/<name>.toml
// (beside a minimal none.toml, which it replaces when name is "none"). New
// either fails with an error naming the package, or returns a knowledge
// base whose topics keep every rule Load enforces and that answers every
// one of its own examples without failing.
func FuzzLoadKB(f *testing.F) {
	fees, err := fs.ReadFile(kbFiles, "kb/fees.toml")
	if err != nil {
		f.Fatal(err)
	}
	good := `id = "fees"
kind = "official"
checked = 2026-08-20
sources = ["https://aima.gov.pt/"]
related = ["none"]
[en]
title = "Fees"
answer = "Half the fee."
examples = ["how much"]
[pt]
title = "Taxas"
answer = "Metade."
examples = ["quanto custa"]
[fr]
title = "Frais"
answer = "La moitié."
examples = ["combien"]
`
	f.Add("fees", fees)
	f.Add("fees", []byte(good))
	f.Add("fee", []byte(good))
	f.Add("none", []byte(noneFile))
	f.Add("none", []byte(good))
	f.Add("fees", []byte(strings.Replace(good, "2026-08-20", "2026-08-20T10:00:00Z", 1)))
	f.Add("fees", []byte(strings.Replace(good, `related = ["none"]`, `related = ["nowhere"]`, 1)))
	f.Add("fees", []byte(strings.Replace(good, `"official"`, `"guidance"`, 1)))
	f.Add("fees", []byte(strings.Replace(good, `title = "Fees"`, `title = "`+strings.Repeat("F", 41)+`"`, 1)))
	f.Add("fees", []byte(strings.Replace(good, `examples = ["how much"]`, `examples = [""]`, 1)))
	f.Add("fees", []byte(strings.Replace(good, `kind = "official"`, `kind = "official`, 1)))
	f.Add("fees", []byte("id = 1\n[en]\n[[en]]\n"))
	f.Add("x", []byte{0xff, 0xfe, '=', '\n'})
	f.Fuzz(func(t *testing.T, name string, data []byte) {
		path := "kb/" + name + ".toml"
		if strings.Contains(name, "/") || !fs.ValidPath(path) {
			return // not a file of kb/
		}
		fsys := fstest.MapFS{"kb/none.toml": {Data: []byte(noneFile)}, path: {Data: data}}
		kb, err := New(fsys)
		if err != nil {
			if kb != nil {
				t.Fatalf("New(%s) = %v with an error %v", path, kb, err)
			}
			if !strings.HasPrefix(err.Error(), "faq: ") {
				t.Fatalf("New(%s) error %q does not say it is the knowledge base's", path, err)
			}
			return
		}
		if kb == nil {
			t.Fatalf("New(%s) = nil, nil", path)
		}
		if _, ok := kb.Topic(None); ok {
			t.Fatalf("New(%s): Topic(%q) is found; it is not a topic to answer with", path, None)
		}
		topics := kb.Topics()
		if name == None && len(topics) != 0 || name != None && (len(topics) != 1 || topics[0].ID != name) {
			t.Fatalf("New(%s) topics = %d; want the file's topic alone", path, len(topics))
		}
		for _, tp := range topics {
			if got, ok := kb.Topic(tp.ID); !ok || !reflect.DeepEqual(got, tp) {
				t.Fatalf("New(%s): Topic(%q) does not give the topic back", path, tp.ID)
			}
			if tp.Kind != Official && tp.Kind != Guidance {
				t.Fatalf("New(%s): kind %q", path, tp.Kind)
			}
			if tp.Checked == "" || len(tp.Sources) == 0 {
				t.Fatalf("New(%s): checked %q, %d sources", path, tp.Checked, len(tp.Sources))
			}
			for _, s := range tp.Sources {
				if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
					t.Fatalf("New(%s): source %q is not a link", path, s)
				}
			}
			for _, r := range tp.Related {
				if r != None && r != tp.ID {
					t.Fatalf("New(%s): related topic %q does not exist", path, r)
				}
			}
			for _, lang := range Languages() {
				tx, ok := tp.Text[lang]
				switch {
				case !ok:
					t.Fatalf("New(%s): no %s text", path, lang)
				case tx.Title == "" || utf8.RuneCountInString(tx.Title) > maxTitle:
					t.Fatalf("New(%s): [%s] title %q", path, lang, tx.Title)
				case tx.Answer == "" || utf8.RuneCountInString(tx.Answer) > maxAnswer:
					t.Fatalf("New(%s): [%s] answer of %d runes", path, lang, utf8.RuneCountInString(tx.Answer))
				case len(tx.Examples) == 0 || slices.Contains(tx.Examples, ""):
					t.Fatalf("New(%s): [%s] examples %q", path, lang, tx.Examples)
				}
			}
		}
		// The knowledge base answers its own examples without failing.
		ids, err := Load(fsys)
		if err != nil {
			t.Fatalf("New(%s) succeeded but Load fails: %v", path, err)
		}
		for _, tp := range ids {
			for _, lang := range Languages() {
				for _, ex := range append([]string{tp.Text[lang].Title}, tp.Text[lang].Examples...) {
					m := kb.Match(ex, lang)
					if _, ok := kb.Topic(m.Topic); m.Topic != None && !ok {
						t.Fatalf("New(%s): Match(%q) topic %q unknown", path, ex, m.Topic)
					}
					if math.IsNaN(m.Score) || m.Score < 0 || m.Score > 1 {
						t.Fatalf("New(%s): Match(%q) score %v", path, ex, m.Score)
					}
				}
			}
		}
	})
}
