package flows

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"
)

// promises are phrases that offer /human or a person who will help here:
// without a support team, no reply may contain one (lower case).
var promises = []string{
	"/human",
	"support team", "equipa de apoio", "équipe d'assistance",
	"talk to a person", "falar com uma pessoa", "parler à une personne",
	"ask a person", "ask for a person", "a person from",
	"pedir a uma pessoa", "pedir uma pessoa", "peça ajuda a uma pessoa", "uma pessoa da",
	"faire vérifier par une personne", "demander une personne", "demandez ici une personne", "une personne de",
	"will write to you", "vai escrever-lhe", "vous écrira",
}

// checkNoPromises fails for every reply line of a replayed transcript that
// promises a person.
func checkNoPromises(t *testing.T, name, out string) {
	t.Helper()
	for i, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "> ") {
			continue // the applicant's input
		}
		low := strings.ToLower(line)
		for _, p := range promises {
			if strings.Contains(low, p) {
				t.Errorf("%s line %d: without a support team a reply promises %q:\n%s", name, i+1, p, line)
			}
		}
	}
}

// TestNoStaffNoPromises replays every golden conversation, and a walk
// through every command and question in each language, without a support
// team: no reply, button or help text may mention /human or promise a
// person.
func TestNoStaffNoPromises(t *testing.T) {
	files, err := filepath.Glob("testdata/transcripts/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var comment []string
		for _, l := range strings.Split(string(ar.Comment), "\n") {
			if !strings.HasPrefix(l, "staff:") {
				comment = append(comment, l)
			}
		}
		comment = append(comment, "staff: off", "buttons: lenient")
		var inputs []string
		for _, f := range ar.Files {
			if f.Name != "transcript" {
				continue
			}
			for _, l := range strings.Split(string(f.Data), "\n") {
				if strings.HasPrefix(l, "> ") && !strings.HasPrefix(l, "> staff: ") {
					inputs = append(inputs, l)
				}
			}
		}
		out := replay(t, strings.Join(comment, "\n"), strings.Join(inputs, "\n"))
		checkNoPromises(t, filepath.Base(file), out)
	}

	f := flowWithout(t)
	for _, lang := range Languages() {
		label := func(id string) string { return "> [" + f.cat.Text(lang, id, nil) + "]" }
		in := []string{"> /start", "> /help", "> /privacy", "> /status", "> /human"}
		for _, tp := range f.kb.Topics() {
			in = append(in, "> /faq", "> ["+tp.Text[lang].Title+"]")
		}
		in = append(in,
			label("btn_sit_question"), "> What is the opening time of the Brazilian consulate in Lisbon?",
			"> blah", "> blah", "> blah", "> blah", "> blah", "> blah",
			"> Qual é o horário do consulado do Brasil em Lisboa?",
			"> Qual é o horário do consulado do Brasil em Lisboa?",
			"> Qual é o horário do consulado do Brasil em Lisboa?",
			label("btn_sit_duplicate"), label("btn_reason_lost"), "> 26/07/2028", label("btn_continue"),
			"> /status", "> photo 180000", label("btn_skip"), "> photo 240000", label("btn_all_correct"),
			"> /help", "> /status", "> /mydata", "> /forget", label("btn_forget_no"), "> /human", "> /forget",
			label("btn_forget_yes"))
		comment := fmt.Sprintf("client: %s\nnow: 2026-11-25T10:00:00Z\nstaff: off\n", lang)
		out := replay(t, comment, strings.Join(in, "\n"))
		if !strings.Contains(out, f.cat.Text(lang, "done_title", nil)) {
			t.Errorf("%s: the walk did not reach the end of a request:\n%s", lang, out)
		}
		checkNoPromises(t, "walk "+lang, out)
	}
}

// TestNoStaffHelp: /help lists /human only when a support team is there.
func TestNoStaffHelp(t *testing.T) {
	for _, lang := range Languages() {
		for _, staff := range []bool{false, true} {
			var f *Flow
			if staff {
				f = flowWith(t, "en")
			} else {
				f = flowWithout(t)
			}
			s := Session{Version: SchemaVersion, State: StateSituation, Lang: lang}
			_, replies, err := f.Step(s, Input{Kind: Command, Command: "help"}, time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.Contains(replies[0].Text, "/human"); got != staff {
				t.Errorf("%s, staff %v: /help mentions /human: %v\n%s", lang, staff, got, replies[0].Text)
			}
		}
	}
}
