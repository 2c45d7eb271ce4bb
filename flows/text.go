package flows

import (
	"strings"
	"unicode"

	"github.com/aimabot/aimabot/flows/faq"
)

func cutSpace(s string) (before, after string, found bool) {
	i := strings.IndexFunc(s, unicode.IsSpace)
	if i < 0 {
		return s, "", false
	}
	return s[:i], strings.TrimSpace(s[i:]), true
}

// isCommandName follows Telegram: letters, digits and underscores, at most 32.
func isCommandName(s string) bool {
	if len(s) > 32 {
		return false
	}
	for _, r := range s {
		if r != '_' && !(r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r))) {
			return false
		}
	}
	return true
}

// fold reduces typed text to what matters for matching a button label:
// lower case, no accents, no emoji or punctuation, single spaces; the same
// folding the knowledge base matches questions with.
func fold(s string) string { return strings.Join(faq.Words(s), " ") }
