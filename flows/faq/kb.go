package faq

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

//go:embed kb/*.toml
var kbFiles embed.FS

// None is the topic of a question the knowledge base does not cover.
const None = "none"

// Kinds of topic.
const (
	Official = "official" // the law or AIMA's own words
	Guidance = "guidance" // practical advice; the applicant is told so
	// Chat is small talk (thanks, greetings, asking for a person or a
	// language): examples only, since the conversation answers it from its
	// message catalog; its id starts with "chat_".
	Chat = "chat"
)

// chatPrefix starts the id of every small-talk topic.
const chatPrefix = "chat_"

// Languages of every answer.
func Languages() []string { return []string{"en", "pt", "fr"} }

// Topic is one entry of the knowledge base.
type Topic struct {
	ID      string
	Kind    string
	Checked string // YYYY-MM-DD
	Sources []string
	Related []string
	Text    map[string]Text // by language
}

// Text is a topic in one language.
type Text struct {
	Title  string
	Answer string
	// AnswerNoStaff, when set, replaces Answer where no support team is
	// configured: an answer that points to /human or a person has one.
	AnswerNoStaff string
	Examples      []string
}

type topicFile struct {
	ID      string    `toml:"id"`
	Kind    string    `toml:"kind"`
	Checked time.Time `toml:"checked"`
	Sources []string  `toml:"sources"`
	Related []string  `toml:"related"`
	EN      *textFile `toml:"en"`
	PT      *textFile `toml:"pt"`
	FR      *textFile `toml:"fr"`
}

type textFile struct {
	Title         string   `toml:"title"`
	Answer        string   `toml:"answer"`
	AnswerNoStaff string   `toml:"answer_no_staff"`
	Examples      []string `toml:"examples"`
}

// Limits on what a topic file holds, so every title fits a button and every
// answer a phone's screen (1,000 characters) with what follows it: the note
// that it is guidance, the applicant's own dates and the sources.
const (
	maxTitle  = 40
	maxAnswer = 800
)

// Load reads every kb/*.toml file of fsys. An error names the file, and the
// line when the file is not valid TOML.
func Load(fsys fs.FS) ([]Topic, error) {
	names, err := fs.Glob(fsys, "kb/*.toml")
	if err != nil {
		return nil, fmt.Errorf("faq: %w", err)
	}
	if len(names) == 0 {
		return nil, errors.New("faq: no kb/*.toml files")
	}
	var topics []Topic
	for _, name := range names {
		t, err := loadFile(fsys, name)
		if err != nil {
			return nil, err
		}
		topics = append(topics, t)
	}
	ids := map[string]bool{}
	for _, t := range topics {
		ids[t.ID] = true
	}
	for _, t := range topics {
		for _, r := range t.Related {
			if !ids[r] {
				return nil, fmt.Errorf("faq: %s: related topic %q does not exist", "kb/"+t.ID+".toml", r)
			}
		}
	}
	return topics, nil
}

func loadFile(fsys fs.FS, name string) (Topic, error) {
	buf, err := fs.ReadFile(fsys, name)
	if err != nil {
		return Topic{}, fmt.Errorf("faq: %s: %w", name, err)
	}
	var f topicFile
	md, err := toml.Decode(string(buf), &f)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return Topic{}, fmt.Errorf("faq: %s:%d: %s", name, pe.Position.Line, pe.Message)
		}
		return Topic{}, fmt.Errorf("faq: %s: %w", name, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return Topic{}, fmt.Errorf("faq: %s: unknown key %q", name, und[0].String())
	}
	bad := func(format string, args ...any) (Topic, error) {
		return Topic{}, fmt.Errorf("faq: %s: "+format, append([]any{name}, args...)...)
	}
	want := strings.TrimSuffix(path.Base(name), ".toml")
	if f.ID != want {
		return bad("id %q must be the file's name, %q", f.ID, want)
	}
	t := Topic{ID: f.ID, Kind: f.Kind, Sources: f.Sources, Related: f.Related, Text: map[string]Text{}}
	examplesOnly := f.ID == None || f.Kind == Chat
	if f.Kind == Chat && !strings.HasPrefix(f.ID, chatPrefix) {
		return bad("a %q topic's id must start with %q", Chat, chatPrefix)
	}
	if !examplesOnly {
		if f.Kind != Official && f.Kind != Guidance {
			return bad("kind must be %q or %q, not %q", Official, Guidance, f.Kind)
		}
		if f.Checked.IsZero() {
			return bad("checked (the date the facts were checked, like 2026-08-20) is missing")
		}
		t.Checked = f.Checked.Format(time.DateOnly)
		if len(f.Sources) == 0 {
			return bad("sources is empty: every answer keeps its sources")
		}
		for _, s := range f.Sources {
			if !strings.HasPrefix(s, "https://") && !strings.HasPrefix(s, "http://") {
				return bad("source %q is not a link", s)
			}
		}
	}
	for lang, tf := range map[string]*textFile{"en": f.EN, "pt": f.PT, "fr": f.FR} {
		if tf == nil {
			return bad("the [%s] table is missing", lang)
		}
		tx := Text{Title: strings.TrimSpace(tf.Title), Answer: strings.TrimSpace(tf.Answer),
			AnswerNoStaff: strings.TrimSpace(tf.AnswerNoStaff), Examples: tf.Examples}
		if !examplesOnly {
			switch {
			case tx.Title == "":
				return bad("[%s] title is empty", lang)
			case len([]rune(tx.Title)) > maxTitle:
				return bad("[%s] title is longer than %d characters", lang, maxTitle)
			case tx.Answer == "":
				return bad("[%s] answer is empty", lang)
			case len([]rune(tx.Answer)) > maxAnswer:
				return bad("[%s] answer is longer than %d characters", lang, maxAnswer)
			case len([]rune(tx.AnswerNoStaff)) > maxAnswer:
				return bad("[%s] answer_no_staff is longer than %d characters", lang, maxAnswer)
			}
		}
		if len(tx.Examples) == 0 {
			return bad("[%s] has no examples", lang)
		}
		if slices.Contains(tx.Examples, "") {
			return bad("[%s] has an empty example", lang)
		}
		t.Text[lang] = tx
	}
	return t, nil
}
