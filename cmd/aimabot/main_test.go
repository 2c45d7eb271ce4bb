package main

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aimabot/aimabot/pack"
)

// aimabot runs the program as a user would, with no environment but env.
func aimabot(t *testing.T, env map[string]string, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errw bytes.Buffer
	err := run(context.Background(), args, func(k string) string { return env[k] }, strings.NewReader(stdin), &out, &errw)
	code = exitCode(err, &errw)
	return out.String(), errw.String(), code
}

func TestEligibility(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code int    // exit code
		want string // in stdout, or in stderr when code != 0
	}{
		{"the issue's eligible example", []string{"eligibility", "--expiry", "2027-02-23", "--today", "2026-11-25", "--json"}, 0,
			`"verdict": "eligible"`},
		{"one day later is too late", []string{"eligibility", "--expiry", "2027-02-22", "--today", "2026-11-25", "--json"}, 0,
			`"verdict": "too_late"`},
		{"expired", []string{"eligibility", "--expiry", "2026-11-24", "--today", "2026-11-25"}, 0, "verdict:   expired"},
		{"dates as people type them", []string{"eligibility", "--expiry", "23/02/2027", "--today", "25 Nov 2026"}, 0, "last_day:  2026-11-25"},
		{"impossible date", []string{"eligibility", "--expiry", "2027-02-30"}, 2, "--expiry"},
		{"missing expiry", []string{"eligibility"}, 2, "--expiry is required"},
		{"unknown flag", []string{"eligibility", "--expiry", "2027-01-01", "--bogus"}, 2, "bogus"},
		{"bad today", []string{"eligibility", "--expiry", "2027-01-01", "--today", "tomorrow"}, 2, "--today"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := aimabot(t, nil, "", tt.args...)
			if code != tt.code {
				t.Fatalf("aimabot %v exit = %d; want %d (stderr %q)", tt.args, code, tt.code, errOut)
			}
			where := out
			if code != 0 {
				where = errOut
				if n := strings.Count(strings.TrimRight(errOut, "\n"), "\n"); n != 0 {
					t.Errorf("aimabot %v stderr has %d lines; want one: %q", tt.args, n+1, errOut)
				}
			}
			if !strings.Contains(where, tt.want) {
				t.Errorf("aimabot %v = %q; want it to contain %q", tt.args, where, tt.want)
			}
		})
	}
	out, _, _ := aimabot(t, nil, "", "eligibility", "--expiry", "2027-02-23", "--today", "2026-11-25", "--json")
	var got map[string]any
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"verdict": "eligible", "last_day": "2026-11-25", "days_left": 90.0, "caution": true, "portal": nil}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("eligibility JSON %s = %v; want %v", k, got[k], v)
		}
	}
	// Renewal: whether the Portal is known to take the card.
	for expiry, portal := range map[string]string{"2026-09-30": "covered", "2027-01-20": "unknown", "2025-03-01": "unknown"} {
		out, _, _ := aimabot(t, nil, "", "eligibility", "--expiry", expiry, "--today", "2026-12-04", "--json")
		var got map[string]any
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatal(err)
		}
		if got["portal"] != portal {
			t.Errorf("eligibility --expiry %s: portal = %v; want %s", expiry, got["portal"], portal)
		}
	}
}

func TestDocuments(t *testing.T) {
	out, errOut, code := aimabot(t, nil, "", "documents", "--kind", "duplicate", "--reason", "lost", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var docs []struct {
		ID        string `json:"id"`
		Mandatory bool   `json:"mandatory"`
		Title     string `json:"title"`
	}
	if err := json.Unmarshal([]byte(out), &docs); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id        string
		mandatory bool
		title     string
	}{{"passport", true, "Passport copy"}, {"residence_card", false, "Residence card copy"}, {"police_report", true, "Police report"}}
	if len(docs) != len(want) {
		t.Fatalf("documents = %+v; want %d documents", docs, len(want))
	}
	for i, w := range want {
		if docs[i].ID != w.id || docs[i].Mandatory != w.mandatory || docs[i].Title != w.title {
			t.Errorf("documents[%d] = %+v; want %+v", i, docs[i], w)
		}
	}
	out, _, _ = aimabot(t, nil, "", "documents", "--kind", "data_change", "--reason", "address", "--lang", "pt")
	if !strings.Contains(out, "honour_declaration") || !strings.Contains(out, "optional") {
		t.Errorf("documents address pt = %q; want the declaration and an optional document", out)
	}
	for _, args := range [][]string{
		{"documents", "--kind", "renewal", "--reason", "lost"},
		{"documents", "--kind", "data_change", "--reason", "lost"},
		{"documents", "--kind", "duplicate", "--reason", "lost", "--lang", "de"},
	} {
		if _, errOut, code := aimabot(t, nil, "", args...); code != 2 || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("aimabot %v = exit %d, %q; want exit 2 with one line", args, code, errOut)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	if _, _, code := aimabot(t, nil, "", "frobnicate"); code != 2 {
		t.Errorf("aimabot frobnicate exit = %d; want 2", code)
	}
	if _, _, code := aimabot(t, nil, ""); code != 2 {
		t.Errorf("aimabot exit = %d; want 2", code)
	}
}

// realFiles writes a real JPEG, a real PDF, a ZIP named .pdf and a 25 MB PDF.
func realFiles(t *testing.T) (jpg, pdf, fakePDF, huge string) {
	t.Helper()
	dir := t.TempDir()
	jpg = filepath.Join(dir, "passport.jpg")
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 64, 48)), nil); err != nil {
		t.Fatal(err)
	}
	write(t, jpg, buf.Bytes())
	pdf = filepath.Join(dir, "police report.pdf")
	write(t, pdf, []byte("%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"))
	fakePDF = filepath.Join(dir, "report.pdf")
	buf.Reset()
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("x.txt")
	w.Write([]byte("not a pdf"))
	zw.Close()
	write(t, fakePDF, buf.Bytes())
	huge = filepath.Join(dir, "scan.pdf")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("%PDF-1.7\n"))
	if err := f.Truncate(25 << 20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return jpg, pdf, fakePDF, huge
}

func write(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// The console, driven by a script: a lost card from greeting to next steps,
// with real files checked by content.
func TestConsoleScript(t *testing.T) {
	jpg, pdf, fakePDF, huge := realFiles(t)
	data := t.TempDir()
	script := strings.Join([]string{
		"1",          // lost, stolen or damaged: --lang (en by default) is the language, not asked
		"I lost it",  // a label typed instead of its number
		"26/07/2028", // expiry
		"Continue",
		"/file " + fakePDF, // a ZIP named .pdf
		"/file " + huge,    // 25 MB
		"/file /nonexistent/passport.pdf",
		"/file " + jpg, // passport
		"1",            // skip the card copy
		"/file " + pdf, // police report
		"1",            // everything is correct
	}, "\n")
	out, errOut, code := aimabot(t, nil, script, "console", "--today", "2026-11-25", "--data", data)
	if code != 0 {
		t.Fatalf("console exit = %d; stderr %q\n%s", code, errOut, out)
	}
	for _, want := range []string{
		"I'll write in English. Português? Français? Tap /language.",
		"> 26/07/2028",
		"I read your card's expiry date as Wednesday, 26 July 2028.",
		"your last day to submit is Thursday, 27 April 2028",
		"This file is marked as a PDF, but what is inside is not a PDF",
		"That file is 25.0 MB, and the limit is 20 MB.",
		"I can't open that file.",
		"Received: Passport copy ✅",
		"Received: Police report ✅",
		"https://contactenos.aima.gov.pt/contact-form",
		"a second copy does not change your card's expiry date",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("console output lacks %q:\n%s", want, out)
		}
	}
	for _, line := range strings.Split(out+errOut, "\n") {
		if strings.Contains(line, jpg) && !strings.HasPrefix(line, "> ") {
			t.Errorf("console output shows the file's path outside the echoed input: %q", line)
		}
	}

	// The conversation is stored: a second run resumes at the next steps.
	out, _, code = aimabot(t, nil, "/status\n", "console", "--today", "2026-11-25", "--data", data)
	if code != 0 || !strings.Contains(out, "You are at: the next steps.") {
		t.Errorf("resumed console = exit %d:\n%s\nwant the status at the next steps", code, out)
	}

	// /package DIR writes one PDF per form field there, each one that
	// parses back, and says so; the police report (a PDF with no page)
	// is named and asked for again.
	dir := filepath.Join(t.TempDir(), "for aima")
	out, errOut, code = aimabot(t, nil, "/package "+dir+"\n", "console", "--today", "2026-11-25", "--data", data)
	if code != 0 || !strings.Contains(out, "Your files for AIMA's form are in "+dir) {
		t.Fatalf("console /package = exit %d, %q:\n%s\nwant the files written to %s", code, errOut, out, dir)
	}
	if testing.Verbose() {
		t.Log(out)
	}
	if !strings.Contains(out, "These files can't be opened as a photo or a PDF: Police report.") ||
		!strings.Contains(out, "Document 3 of 3: Police report") {
		t.Errorf("console /package with a PDF of no page: want it named and asked for again:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "participacao-policial.pdf")); err == nil {
		t.Errorf("a PDF was written for the police report, which has no page")
	}
	for _, name := range []string{"passaporte.pdf"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("console /package: %v", err)
			continue
		}
		if n, err := pack.PageCount(data); err != nil || n != 1 {
			t.Errorf("%s: %d pages, %v; want one page that parses", name, n, err)
		}
	}
}

func TestConsolePortuguese(t *testing.T) {
	out, errOut, code := aimabot(t, nil, "2\n1\n26 de julho de 2027\n", "console", "--lang", "pt", "--today", "2026-11-25", "--data", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "Vou escrever em português") || !strings.Contains(out, "a sua morada") && !strings.Contains(out, "26 de julho de 2027") ||
		strings.Contains(out, "Qual é a sua língua?") {
		t.Errorf("Portuguese console output:\n%s", out)
	}
}

func TestConsoleFlags(t *testing.T) {
	for _, args := range [][]string{
		{"console", "--lang", "de"},
		{"console", "--today", "25/11/2026"},
		{"console", "extra"},
	} {
		if _, errOut, code := aimabot(t, nil, "", append(args, "--data", t.TempDir())...); code != 2 {
			t.Errorf("aimabot %v = exit %d, %q; want 2", args, code, errOut)
		}
	}
	if _, errOut, code := aimabot(t, map[string]string{"SESSION_TTL": "soon"}, "", "console", "--data", t.TempDir()); code != 2 || !strings.Contains(errOut, "SESSION_TTL") {
		t.Errorf("bad SESSION_TTL = exit %d, %q; want 2 naming the variable", code, errOut)
	}
}

func TestAsk(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		topic string // the topic in the JSON
		lang  string // the detected language
	}{
		{"English", []string{"ask", "--json", "where do I get the police report for my lost card?"}, "police_report_where", "en"},
		{"Portuguese without accents", []string{"ask", "--json", "quanto custa a segunda via do cartao de residencia"}, "fees", "pt"},
		{"French", []string{"ask", "--json", "est-ce que le duplicata change la date d'expiration de ma carte ?"}, "duplicate_does_not_renew", "fr"},
		{"out of scope", []string{"ask", "--json", "how do I exchange my driving licence?"}, "none", "en"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errOut, code := aimabot(t, nil, "", tt.args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var got struct {
				Topic  string  `json:"topic"`
				Score  float64 `json:"score"`
				Lang   string  `json:"lang"`
				Answer string  `json:"answer"`
			}
			if err := json.Unmarshal([]byte(out), &got); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if got.Topic != tt.topic || got.Lang != tt.lang || got.Answer == "" {
				t.Errorf("ask %q = topic %s, lang %s, answer %.40q; want %s, %s and an answer", tt.args[2], got.Topic, got.Lang, got.Answer, tt.topic, tt.lang)
			}
		})
	}
	out, _, code := aimabot(t, nil, "", "ask", "--lang", "pt", "how much is a second copy?")
	if code != 0 || !strings.Contains(out, "lang:  en") || !strings.Contains(out, "topic: fees") {
		t.Errorf("ask --lang pt = exit %d:\n%s\nwant topic fees, detected lang en, answer in Portuguese", code, out)
	}
	for _, args := range [][]string{{"ask", "--lang", "de", "hello"}, {"ask", "--bogus", "x"}} {
		if _, _, code := aimabot(t, nil, "", args...); code != 2 {
			t.Errorf("aimabot %v exit = %d; want 2", args, code)
		}
	}
}

// A whole set of questions is answered in one process: a line each, the
// fields before a question's (an evaluation set's labels) kept, small talk
// and a question the bot is unsure of told apart from an answer.
func TestAskMany(t *testing.T) {
	in := "# a comment\n" +
		"fees\tpt\tquanto custa a segunda via do cartao de residencia\n" +
		"\n" +
		"merci beaucoup, bonne journée\n" +
		"I want a human\n" +
		"passport\n" +
		"how do I exchange my driving licence?\n"
	out, errOut, code := aimabot(t, nil, in, "ask", "--json")
	if code != 0 {
		t.Fatalf("ask --json < questions = exit %d: %s", code, errOut)
	}
	type line struct {
		Fields     []string `json:"fields"`
		Question   string   `json:"question"`
		Topic      string   `json:"topic"`
		Confidence string   `json:"confidence"`
		Chat       string   `json:"chat"`
		Also       []string `json:"also"`
		Answer     string   `json:"answer"`
	}
	var got []line
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var l line
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		got = append(got, l)
	}
	want := []struct{ topic, confidence, chat string }{
		{"fees", "sure", ""},
		{"none", "", "thanks"},
		{"none", "", "human"},
		{"nationality_passport_change", "unsure", ""},
		{"none", "", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("ask --json < %d questions = %d lines:\n%s", len(want), len(got), out)
	}
	for i, w := range want {
		g := got[i]
		if g.Topic != w.topic || g.Confidence != w.confidence || g.Chat != w.chat {
			t.Errorf("line %d (%q) = topic %s, confidence %q, chat %q; want %s, %q, %q", i+1, g.Question, g.Topic, g.Confidence, g.Chat, w.topic, w.confidence, w.chat)
		}
	}
	if f := got[0].Fields; len(f) != 2 || f[0] != "fees" || f[1] != "pt" {
		t.Errorf("line 1 fields = %q; want [fees pt]", f)
	}
	if len(got[3].Also) != 2 || got[0].Answer == "" || got[4].Answer == "" {
		t.Errorf("one word offered %v, want two more topics; answers %.30q, %.30q want both", got[3].Also, got[0].Answer, got[4].Answer)
	}

	tsv, _, code := aimabot(t, nil, "fees\tpt\tquanto custa a segunda via?\n", "ask")
	rows := strings.Split(strings.TrimSpace(tsv), "\n")
	if code != 0 || len(rows) != 2 || !strings.HasPrefix(rows[1], "fees\tpt\tfees\tsure\t") {
		t.Errorf("ask < a labelled line = exit %d:\n%s\nwant a header and fees, pt, fees, sure, ...", code, tsv)
	}
}
