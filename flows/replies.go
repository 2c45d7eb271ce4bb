package flows

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"
)

// SavedReply is an answer the support team sends often, in every language:
// /reply KEY in a case's topic sends the applicant the text in theirs.
type SavedReply struct {
	Key  string            `json:"key"`
	Text map[string]string `json:"text"` // by language: en, pt, fr
}

// maxReply bounds a saved reply's text in one language: one phone screen.
const maxReply = 1000

var replyKey = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,39}$`)

// ReplyError says what is wrong with a saved reply: Code is one of the
// Reply* problems, with the key and the languages concerned.
type ReplyError struct {
	Code  string
	Key   string
	Langs []string
}

// The problems a saved reply can have.
const (
	ReplyNoKey   = "no_key"
	ReplyBadKey  = "bad_key"
	ReplyMissing = "missing"  // no text in Langs
	ReplyTooLong = "too_long" // longer than maxReply in Langs
)

func (e *ReplyError) Error() string {
	return fmt.Sprintf("saved reply %q: %s %s", e.Key, e.Code, strings.Join(e.Langs, ", "))
}

// Text says the problem to the support team, in lang.
func (e *ReplyError) Text(cat *Catalog, lang string) string {
	return cat.Text(lang, "savereply_"+e.Code, map[string]any{"Key": e.Key, "Langs": strings.Join(e.Langs, ", "), "Max": maxReply})
}

// Check says what is wrong with a saved reply, if anything: its key, or a
// language missing or too long (a *ReplyError).
func (r SavedReply) Check() error {
	switch {
	case r.Key == "":
		return &ReplyError{Code: ReplyNoKey}
	case !replyKey.MatchString(r.Key):
		return &ReplyError{Code: ReplyBadKey, Key: r.Key}
	}
	var missing, long []string
	for _, l := range Languages() {
		t := strings.TrimSpace(r.Text[l])
		switch {
		case t == "":
			missing = append(missing, l)
		case len([]rune(t)) > maxReply:
			long = append(long, l)
		}
	}
	if len(missing) > 0 {
		return &ReplyError{Code: ReplyMissing, Key: r.Key, Langs: missing}
	}
	if len(long) > 0 {
		return &ReplyError{Code: ReplyTooLong, Key: r.Key, Langs: long}
	}
	return nil
}

// loadReplies reads the shipped saved replies (locales/replies.toml).
func loadReplies() (map[string]SavedReply, error) {
	raw, err := localeFiles.ReadFile("locales/replies.toml")
	if err != nil {
		return nil, fmt.Errorf("flows: saved replies: %w", err)
	}
	var file map[string]map[string]string
	md, err := toml.Decode(string(raw), &file)
	if err != nil {
		return nil, fmt.Errorf("flows: locales/replies.toml: %w", err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return nil, fmt.Errorf("flows: locales/replies.toml: unknown key %q", und[0].String())
	}
	out := map[string]SavedReply{}
	for key, text := range file {
		r := SavedReply{Key: key, Text: text}
		for l := range text {
			if !validLang(l) {
				return nil, fmt.Errorf("flows: locales/replies.toml: [%s]: unknown language %q", key, l)
			}
		}
		if err := r.Check(); err != nil {
			return nil, fmt.Errorf("flows: locales/replies.toml: %w", err)
		}
		out[key] = r
	}
	return out, nil
}

// SavedReplies are the shipped saved replies, by key.
func (f *Flow) SavedReplies() map[string]SavedReply { return f.replies }

// ParseSavedReply reads what follows /savereply: the key, then a line per
// language, "en: …", "pt: …", "fr: …" (a language's text may go on over
// the next lines).
func ParseSavedReply(args string) (SavedReply, error) {
	key, rest, _ := strings.Cut(strings.TrimSpace(args), "\n")
	key = strings.ToLower(strings.TrimSpace(key))
	r := SavedReply{Key: key, Text: map[string]string{}}
	lang := ""
	for _, line := range strings.Split(rest, "\n") {
		if l, text, ok := strings.Cut(line, ":"); ok && validLang(strings.ToLower(strings.TrimSpace(l))) {
			lang = strings.ToLower(strings.TrimSpace(l))
			r.Text[lang] = strings.TrimSpace(text)
			continue
		}
		if lang != "" {
			r.Text[lang] = strings.TrimSpace(r.Text[lang] + "\n" + line)
		}
	}
	return r, r.Check()
}

// replyKeys lists keys in order.
func replyKeys(m map[string]SavedReply) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
