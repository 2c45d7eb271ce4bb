package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/flows/faq"
)

// maxAskLine bounds a line of `aimabot ask`'s standard input.
const maxAskLine = 64 * 1024

// runAsk matches a question against the knowledge base and prints the topic,
// how sure the match is, the detected language and the answer. Without a
// question it reads one per line from standard input and prints a line for
// each: tab-separated, or JSON with --json. A line with tabs
// ("topic<TAB>lang<TAB>question", as in an evaluation set) is matched on its
// last field and the fields before it are printed first, so a whole set is
// scored in one process.
func runAsk(args []string, stdin io.Reader, stdout io.Writer) error {
	fs := newFlags("ask")
	lang := fs.String("lang", "", "answer in this language (en, pt or fr) instead of the question's")
	asJSON := fs.Bool("json", false, "print JSON (one object per line when reading standard input)")
	if err := parseFlagsWithArgs(fs, args); err != nil {
		return err
	}
	if *lang != "" {
		if _, err := flagLang("ask", *lang); err != nil {
			return err
		}
	}
	flow, err := flows.New()
	if err != nil {
		return err
	}
	a := asker{kb: flow.KB(), cat: flow.Catalog(), lang: *lang}
	text := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if text != "" && text != "-" {
		out := a.ask(text)
		if *asJSON {
			return writeJSON(stdout, out)
		}
		return out.print(stdout)
	}
	return a.batch(stdin, stdout, *asJSON)
}

type asker struct {
	kb   *faq.KB
	cat  *flows.Catalog
	lang string
}

// answered is what `aimabot ask` prints for a question.
type answered struct {
	Fields     []string `json:"fields,omitempty"` // a line's fields before the question
	Question   string   `json:"question,omitempty"`
	Topic      string   `json:"topic"`
	Confidence string   `json:"confidence,omitempty"` // sure, close or unsure; empty for none
	Score      float64  `json:"score"`
	Lang       string   `json:"lang"`
	Also       []string `json:"also,omitempty"`
	Next       string   `json:"next,omitempty"` // a second question's topic, offered after the answer
	Chat       string   `json:"chat,omitempty"`
	Answer     string   `json:"answer"`
}

func (a asker) ask(text string) answered {
	m := a.kb.Match(text, a.lang)
	answerLang := m.Lang
	if a.lang != "" {
		answerLang = a.lang
	}
	out := answered{Topic: m.Topic, Confidence: m.Confidence, Score: m.Score, Lang: m.Lang, Also: m.Also, Next: m.Next,
		Chat: m.Chat}
	switch {
	case m.Chat != "":
		out.Answer = a.cat.Text(answerLang, "chat_"+m.Chat, nil)
		if m.Chat == "human" || m.Chat == "language" {
			out.Answer = ""
		}
	case m.Confidence == faq.Sure:
		t, _ := a.kb.Topic(m.Topic)
		out.Answer = t.Text[answerLang].Answer
	case m.Topic != faq.None:
		key := "faq_pick"
		if m.Confidence == faq.Unsure {
			key = "faq_unsure"
		}
		titles := []string{a.cat.Text(answerLang, key, nil)}
		for _, id := range append([]string{m.Topic}, m.Also...) {
			t, _ := a.kb.Topic(id)
			titles = append(titles, "["+t.Text[answerLang].Title+"]")
		}
		out.Answer = strings.Join(titles, "\n")
	default:
		out.Answer = a.cat.Text(answerLang, "faq_none", nil)
	}
	return out
}

func (o answered) print(w io.Writer) error {
	also := ""
	if len(o.Also) > 0 {
		also = " (also offered: " + strings.Join(o.Also, ", ") + ")"
	}
	topic := o.Topic
	if o.Next != "" {
		also = " (then offered: " + o.Next + ")"
	}
	if o.Chat != "" {
		topic += ", small talk: " + o.Chat
	}
	_, err := fmt.Fprintf(w, "topic: %s%s\nconfidence: %s\nscore: %.3f\nlang:  %s\n\n%s\n", topic, also,
		strings.TrimSpace(o.Confidence+" "), o.Score, o.Lang, o.Answer)
	return err
}

// batch answers every line of in, blank lines and "#" comments skipped.
func (a asker) batch(in io.Reader, out io.Writer, asJSON bool) error {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), maxAskLine)
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	if !asJSON {
		fmt.Fprintln(w, "topic\tconfidence\tscore\tlang\talso\tchat\tquestion")
	}
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Split(line, "\t")
		q := a.ask(fields[len(fields)-1])
		q.Fields, q.Question = fields[:len(fields)-1], fields[len(fields)-1]
		if asJSON {
			if err := enc.Encode(q); err != nil {
				return err
			}
			continue
		}
		cols := append(q.Fields, q.Topic, q.Confidence, fmt.Sprintf("%.3f", q.Score), q.Lang,
			strings.Join(q.Also, ","), q.Chat, q.Question)
		fmt.Fprintln(w, strings.Join(cols, "\t"))
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("ask: reading questions: %w", err)
	}
	return w.Flush()
}
