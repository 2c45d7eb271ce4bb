package faq

import (
	"strings"
	"testing"
	"testing/fstest"
)

func defaultKB(t testing.TB) *KB {
	t.Helper()
	kb, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return kb
}

// The knowledge base has every topic the assistant promises, in every
// language, and every answer says when its facts were checked.
func TestTopics(t *testing.T) {
	kb := defaultKB(t)
	for _, id := range []string{"ninety_day_rule", "renewal_instead", "duplicate_docs", "police_report_where",
		"damaged_card", "duplicate_does_not_renew", "data_change_docs", "address_proof", "address_change",
		"name_change_docs", "nationality_passport_change", "permanent_residence_change", "fees", "wrong_fee_paid",
		"payment_how", "after_submission", "processing_time", "track_request", "appointment_change",
		"forgot_document", "submit_button_broken", "expired_card_validity", "card_not_received",
		"travel_while_waiting", "how_to_apply"} {
		tp, ok := kb.Topic(id)
		if !ok {
			t.Errorf("topic %q is missing", id)
			continue
		}
		for _, lang := range Languages() {
			if tp.Text[lang].Answer == "" || tp.Text[lang].Title == "" {
				t.Errorf("topic %s has no %s answer or title", id, lang)
			}
		}
		if tp.Checked == "" || len(tp.Sources) == 0 {
			t.Errorf("topic %s: checked %q, %d sources; want both", id, tp.Checked, len(tp.Sources))
		}
	}
}

// A malformed file fails the load, naming the file and the line.
func TestLoadErrors(t *testing.T) {
	good := `id = "fees"
kind = "official"
checked = 2026-08-20
sources = ["https://aima.gov.pt/"]
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
	none := `id = "none"
[en]
examples = ["driving licence"]
[pt]
examples = ["carta de condução"]
[fr]
examples = ["permis de conduire"]
`
	tests := []struct {
		name string
		file string // contents of kb/fees.toml
		want string // in the error
	}{
		{"bad TOML", strings.Replace(good, `kind = "official"`, `kind = "official`, 1), "kb/fees.toml:2:"},
		{"wrong id", strings.Replace(good, `id = "fees"`, `id = "fee"`, 1), `kb/fees.toml: id "fee"`},
		{"bad kind", strings.Replace(good, `"official"`, `"rumour"`, 1), "kb/fees.toml: kind"},
		{"no sources", strings.Replace(good, `sources = ["https://aima.gov.pt/"]`, `sources = []`, 1), "kb/fees.toml: sources"},
		{"missing language", good[:strings.Index(good, "[fr]")], "kb/fees.toml: the [fr] table is missing"},
		{"unknown key", strings.Replace(good, `[en]`, "colour = \"red\"\n[en]", 1), `kb/fees.toml: unknown key "colour"`},
		{"empty answer", strings.Replace(good, `answer = "Metade."`, `answer = ""`, 1), "kb/fees.toml: [pt] answer is empty"},
		{"no date", strings.Replace(good, "checked = 2026-08-20\n", "", 1), "kb/fees.toml: checked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(fstest.MapFS{"kb/fees.toml": {Data: []byte(tt.file)}, "kb/none.toml": {Data: []byte(none)}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New(%s) = %v; want an error containing %q", tt.name, err, tt.want)
			}
		})
	}
	kb, err := New(fstest.MapFS{"kb/fees.toml": {Data: []byte(good)}, "kb/none.toml": {Data: []byte(none)}})
	if err != nil {
		t.Fatalf("New(good) = %v", err)
	}
	if m := kb.Match("how much?", ""); m.Topic != "fees" {
		t.Errorf("Match(how much?) = %+v; want fees", m)
	}
}

func TestWordsAndSpelling(t *testing.T) {
	if got := strings.Join(Words("Cartão de RESIDÊNCIA!! l'AIMA 2ª"), " "); got != "cartao de residencia l aima 2a" {
		t.Errorf("words = %q", got)
	}
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"police", "polise", 1}, {"passport", "pasport", 1}, {"recieve", "receive", 1}, {"abc", "abc", 0}, {"renovacao", "renovaçao", 1}} {
		if got := distance(tt.a, tt.b); got != tt.d {
			t.Errorf("distance(%q, %q) = %d; want %d", tt.a, tt.b, got, tt.d)
		}
	}
}

// Hostile text never panics and never takes long: 10,000 characters, emoji
// only, zero-width and right-to-left characters.
func TestOddText(t *testing.T) {
	kb := defaultKB(t)
	for _, text := range []string{"", "   ", "😀😀😀", strings.Repeat("police report ", 800), "\u200b\u200b\u202e?", "?", "١٢٣"} {
		m := kb.Match(text, "pt")
		if m.Topic == "" || m.Lang == "" {
			t.Errorf("Match(%.20q) = %+v; want a topic (or none) and a language", text, m)
		}
	}
}

func FuzzMatch(f *testing.F) {
	kb := defaultKB(f)
	for _, s := range []string{"how much is the 2a via?", "perdi o cartão", "carte volée", "\x00\xff", "😀"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m := kb.Match(s, "en")
		if m.Score < 0 || m.Score > 1.0001 {
			t.Errorf("Match(%q) score %v out of 0..1", s, m.Score)
		}
	})
}

// BenchmarkMatch is one question matched: go test ./flows/faq -bench Match
func BenchmarkMatch(b *testing.B) {
	kb := defaultKB(b)
	qs := []string{"i lost my recidence card what documents i need for 2nd copy??",
		"quanto custa a segunda via do cartao de residencia", "ma carte expire dans 2 mois, je peux changer mon adresse ?",
		"how do I renew my driving licence"}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		kb.Match(qs[i%len(qs)], "")
	}
}

// BenchmarkLoad is the knowledge base parsed and indexed at start.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := New(kbFiles); err != nil {
			b.Fatal(err)
		}
	}
}

// The kinds of message the matcher used to get confidently wrong (issue 15),
// each read as a person would: the situation against the question asked,
// negation, small talk and questions about the bot, one word, two questions
// in one message.
func TestReadingTheQuestion(t *testing.T) {
	kb := defaultKB(t)
	tests := []struct {
		name, text string
		topic      string // want
		confidence string // want ("" for none)
		chat       string
	}{
		{"the price, not the permanent card", "what's the price for changing data on a permanent card", "fees", Sure, ""},
		{"the situation decides the form", "AR runs out in 7 weeks and we just moved flat, which form?", "renewal_instead", Sure, ""},
		{"not lost: damaged", "não perdi, preciso mesmo de boletim de ocorrência?", "damaged_card", Sure, ""},
		{"not lost in French", "je n'ai pas perdu ma carte, elle est cassée, il faut une plainte ?", "damaged_card", Sure, ""},
		{"a language asked for", "english pls", None, "", "language"},
		{"a person asked for", "I want a human", None, "", "human"},
		{"thanks in French", "merci beaucoup, bonne journée", None, "", "thanks"},
		{"laughter", "kkkkk", None, "", "laugh"},
		{"a greeting", "bom dia", None, "", "greeting"},
		{"emoji only", "👍", None, "", "ack"},
		{"who are you", "who are you, are you from AIMA?", "what_is_this_bot", Sure, ""},
		{"what can you do", "what can you help me with", "what_is_this_bot", Sure, ""},
		{"one word is thin evidence", "passport", "nationality_passport_change", Unsure, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := kb.Match(tt.text, "")
			if m.Topic != tt.topic || m.Confidence != tt.confidence || m.Chat != tt.chat {
				t.Errorf("Match(%q) = topic %s, confidence %q, chat %q; want %s, %q, %q", tt.text, m.Topic, m.Confidence, m.Chat, tt.topic, tt.confidence, tt.chat)
			}
		})
	}
	if m := kb.Match("passport", ""); len(m.Also) != 2 {
		t.Errorf("Match(passport).Also = %v; want the two next likeliest topics", m.Also)
	}
	// "card" is in too many examples to tell a topic.
	for _, text := range []string{"what now with the card", "the card is weird"} {
		if m := kb.Match(text, ""); m.Confidence == Sure {
			t.Errorf("Match(%q) = %s, sure; want the likeliest topics offered", text, m.Topic)
		}
	}
}

// Two questions in one message: the first is answered, the other offered.
func TestSecondQuestion(t *testing.T) {
	kb := defaultKB(t)
	tests := []struct {
		text        string
		topic, next string
	}{
		{"how much is the 2nd copy and how long does it take?", "", ""},
		{"ma carte est volée, combien ça coûte et où faire la déclaration de police ?", "fees", "police_report_where"},
		{"I lost my card and I need a new one, which documents?", "duplicate_docs", ""},
	}
	for _, tt := range tests {
		m := kb.Match(tt.text, "")
		if tt.topic == "" {
			// Either question may be the main one; the other must follow.
			got := map[string]bool{m.Topic: true, m.Next: true}
			if !got["fees"] || !got["processing_time"] {
				t.Errorf("Match(%q) = topic %s, next %q; want fees and processing_time", tt.text, m.Topic, m.Next)
			}
			continue
		}
		if m.Topic != tt.topic || m.Next != tt.next {
			t.Errorf("Match(%q) = topic %s, next %q; want %s, %q", tt.text, m.Topic, m.Next, tt.topic, tt.next)
		}
	}
	if got := clauses("how much? and how long does it take. et combien"); len(got) != 3 {
		t.Errorf("clauses = %q; want 3", got)
	}
}

// The negation marks the word it bears on, in each language's order.
func TestNegated(t *testing.T) {
	kb := defaultKB(t)
	tests := []struct {
		text, lang, want string
	}{
		{"não perdi nem roubaram", "pt", "!perdi !roubaram"},
		{"not lost, just broken", "en", "!lost just broken"},
		{"je ne reçois pas le code", "fr", "recois code"},
		{"elle n'est pas perdue ni volée", "fr", "!perdue !volee"},
		{"no copy of my card", "en", "!copy card"},
		{"mudei-me no mês passado", "pt", "mudei passado"}, // "no" is "in the"
	}
	for _, tt := range tests {
		if got := strings.Join(kb.negated(Words(tt.text), tt.lang), " "); got != tt.want {
			t.Errorf("negated(%q, %s) = %q; want %q", tt.text, tt.lang, got, tt.want)
		}
	}
}
