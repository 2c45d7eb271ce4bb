package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/aimabot/aimabot/flows"
)

// runAsk matches a question against the knowledge base and prints the topic,
// its score, the detected language and the answer.
func runAsk(args []string, stdout io.Writer) error {
	fs := newFlags("ask")
	lang := fs.String("lang", "", "answer in this language (en, pt or fr) instead of the question's")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil {
		return usagef("ask: %v", err)
	}
	text := strings.TrimSpace(strings.Join(fs.Args(), " "))
	if text == "" {
		return usagef(`ask: give the question, e.g. aimabot ask "how much is a second copy?"`)
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
	kb := flow.KB()
	m := kb.Match(text, *lang)
	answerLang := m.Lang
	if *lang != "" {
		answerLang = *lang
	}
	answer := flow.Catalog().Text(answerLang, "faq_none", nil)
	if t, ok := kb.Topic(m.Topic); ok {
		answer = t.Text[answerLang].Answer
	}
	out := struct {
		Topic  string   `json:"topic"`
		Score  float64  `json:"score"`
		Lang   string   `json:"lang"`
		Answer string   `json:"answer"`
		Also   []string `json:"also,omitempty"`
	}{m.Topic, m.Score, m.Lang, answer, m.Also}
	if *asJSON {
		return writeJSON(stdout, out)
	}
	also := ""
	if len(out.Also) > 0 {
		also = " (also close: " + strings.Join(out.Also, ", ") + ")"
	}
	_, err = fmt.Fprintf(stdout, "topic: %s%s\nscore: %.3f\nlang:  %s\n\n%s\n", out.Topic, also, out.Score, out.Lang, out.Answer)
	return err
}
