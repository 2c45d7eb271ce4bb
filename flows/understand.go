package flows

import (
	"slices"
	"strings"

	"github.com/aimabot/aimabot/flows/faq"
	"github.com/aimabot/aimabot/rules"
)

// What a typed message says about the request, read from its words: people
// open with their story ("Casei-me e mudei de apelido", "my card was stolen,
// it expires 26/07/2027") and answer in their own words, in any of the
// three languages. The reading is deliberately literal: cue words, not
// guesses, and when the cues disagree (two reasons of different requests)
// nothing is read; whatever is read is confirmed or acknowledged before the
// conversation relies on it.

// understanding is what one message says.
type understanding struct {
	lang    string // the language it is written in; "" when unclear
	askLang string // a language it asks for by name ("english pls")
	kind    rules.Kind
	reason  rules.Reason
	expiry  rules.Date // a date given as the card's expiry
	renew   bool       // about renewing an expiring or expired card
	words   int        // how many words it has
}

// any says the message tells something about the request.
func (u understanding) any() bool { return u.kind != "" || !u.expiry.IsZero() || u.renew }

// cue is a folded word or phrase ("estado civil"); a trailing "*" matches
// any word that starts with it.
type cues []string

func (c cues) in(text string, words []string) bool {
	for _, cue := range c {
		switch {
		case strings.Contains(cue, " "):
			if strings.Contains(text, " "+cue+" ") {
				return true
			}
		case strings.HasSuffix(cue, "*"):
			p := strings.TrimSuffix(cue, "*")
			if slices.ContainsFunc(words, func(w string) bool { return strings.HasPrefix(w, p) }) {
				return true
			}
		case slices.Contains(words, cue):
			return true
		}
	}
	return false
}

// reasonCues name each reason. weak cues count only next to a word of
// change ("my name is Ana" says nothing; "I changed my name" does).
var reasonCues = []struct {
	reason       rules.Reason
	strong, weak cues
}{
	{rules.Lost, cues{"lost", "lose", "losing", "misplaced", "cant find", "can t find", "cannot find",
		"perdi", "perdido", "perdida", "perdeu", "perdemos", "extraviado", "extraviada", "extraviei",
		"perdu", "perdue", "egare", "egaree"}, nil},
	{rules.Stolen, cues{"stolen", "stole", "robbed", "theft", "pickpocket*", "roubado", "roubada", "roubaram",
		"roubo", "furtado", "furtada", "furtaram", "furto", "assaltado", "assaltada", "assalto", "assaltaram",
		"vole", "volee", "volé", "cambriol*"}, nil},
	{rules.Damaged, cues{"damaged", "broken", "broke", "cracked", "torn", "ripped", "unreadable", "danificado",
		"danificada", "estragado", "estragada", "estragou", "partido", "partida", "rasgado", "rasgada", "rasgou",
		"abime", "abimee", "endommage", "endommagee", "casse", "cassee", "dechire", "dechiree"}, nil},
	{rules.Address, cues{"address", "moved", "relocated", "morada", "endereco", "mudei de casa", "mudamos de casa",
		"adresse", "demenag*"}, cues{"move"}},
	{rules.Name, cues{"surname", "maiden name", "last name", "family name", "apelido", "apelidos", "sobrenome",
		"nom de famille", "nom de jeune fille", "new name", "novo nome", "nouveau nom"}, cues{"name", "names", "nome", "nomes", "nom"}},
	{rules.CivilStatus, cues{"married", "marriage", "divorced", "divorce", "widowed", "civil status",
		"marital status", "casei", "casada", "casado", "casamento", "casamos", "divorciei", "divorciado",
		"divorciada", "divorcio", "viuvo", "viuva", "estado civil", "marie", "mariee", "mariage", "divorcee",
		"etat civil", "pacse", "pacsee"}, nil},
	{rules.Nationality, cues{"nationality", "citizenship", "naturalised", "naturalized", "nacionalidade",
		"cidadania", "naturalizado", "naturalizada", "nationalite", "citoyennete", "naturalise", "naturalisee",
		"new passport", "novo passaporte", "nouveau passeport"},
		cues{"passport", "passaporte", "passeport"}},
}

var (
	changeCues = cues{"change", "changed", "changing", "update", "updated", "mudei", "mudar", "mudou",
		"mudamos", "mudanca", "alterar", "alterei", "alterou", "alteracao", "changer", "modifier", "actualiser",
		"atualizar"}
	kindCues = map[rules.Kind]cues{
		rules.Duplicate: {"second copy", "new card", "replacement card", "segunda via", "2a via", "2 via",
			"duplicado", "duplicata", "nouvelle carte"},
		rules.DataChange: {"personal data", "personal details", "dados pessoais", "alteracao de dados",
			"donnees personnelles"},
	}
	renewCues  = cues{"renew", "renewal", "renewing", "renovar", "renovacao", "renovo", "renouveler", "renouvellement"}
	expiryCues = cues{"expire", "expires", "expired", "expiry", "expiring", "expiration", "valid", "validity", "until",
		"caduca", "caducou", "caducado", "caducidade", "expira", "expirou", "expirado", "validade", "valido",
		"valida", "ate", "expirent", "valable", "validite", "jusqu", "jusqu au", "fin"}
)

// languageCues are words common in one language and rare in the other two.
var languageCues = map[string]cues{
	"en": {"the", "and", "i", "my", "is", "was", "have", "has", "need", "to", "our", "of", "it", "we", "can", "how",
		"what", "when", "does", "hello", "hi", "please", "lost", "stolen", "card", "changed", "address", "expires",
		"name", "married", "thanks", "thank", "you", "help", "renew", "permit", "residence", "want", "got", "will",
		"should", "am", "with", "for", "this", "that", "yes", "good", "morning"},
	"pt": {"o", "os", "as", "do", "da", "dos", "das", "meu", "minha", "eu", "foi", "tenho", "preciso", "cartao",
		"morada", "perdi", "roubaram", "roubado", "ola", "bom", "dia", "obrigado", "obrigada", "casei", "mudei",
		"nome", "apelido", "nao", "com", "quero", "residencia", "como", "quando", "qual", "fiz", "estou", "sou",
		"mudar", "alterar", "boa", "tarde", "titulo", "autorizacao", "caduca", "validade", "uma", "um", "sim",
		"isso", "esta", "ja", "tambem", "voces", "marcacao"},
	"fr": {"le", "la", "les", "du", "des", "et", "mon", "ma", "mes", "est", "je", "j", "ai", "carte", "perdu",
		"vole", "volee", "adresse", "bonjour", "merci", "rendez", "vous", "changer", "nom", "pas", "pour", "avec",
		"sejour", "comment", "quand", "quel", "quelle", "suis", "titre", "une", "un", "nous", "notre", "bonsoir",
		"oui", "mais", "il", "elle", "ce", "c", "au", "aux", "votre", "puis", "dois"},
}

// languageNames are the words that name a language, for "english pls".
var languageNames = map[string]cues{
	"en": {"english", "ingles", "anglais", "inglese"},
	"pt": {"portuguese", "portugues", "portugais"},
	"fr": {"french", "frances", "francais"},
}

// understand reads a message; today bounds the dates read as an expiry.
func understand(text string, today rules.Date) understanding {
	words := faq.Words(text)
	joined := " " + strings.Join(words, " ") + " "
	u := understanding{words: len(words), lang: textLanguage(words)}
	if len(words) <= 4 {
		for lang, c := range languageNames {
			if c.in(joined, words) {
				u.askLang = lang
			}
		}
	}
	u.kind, u.reason = readReason(joined, words)
	if u.kind == "" && renewCues.in(joined, words) {
		u.renew = true
	}
	if d, err := rules.FindDate(text); err == nil && today.DaysUntil(d) <= farFutureDays &&
		(expiryCues.in(joined, words) || onlyRequestWords(text)) {
		u.expiry = d
	}
	return u
}

// onlyRequestWords says a text's words, besides a date, name the request
// and nothing else ("stolen 31/01/2028"): the date is then the card's.
func onlyRequestWords(text string) bool {
	for _, w := range contentWords(text) {
		named := false
		for _, rc := range reasonCues {
			named = named || rc.strong.in(" "+w+" ", []string{w})
		}
		if !named {
			return false
		}
	}
	return true
}

// readReason finds the request and its reason. A request whose reasons
// disagree gives its kind only; reasons of both requests give nothing.
func readReason(joined string, words []string) (rules.Kind, rules.Reason) {
	change := changeCues.in(joined, words)
	var found []rules.Reason
	for _, rc := range reasonCues {
		if rc.strong.in(joined, words) || change && rc.weak.in(joined, words) {
			found = append(found, rc.reason)
		}
	}
	// Married and a new surname is a change of name, proved by the
	// marriage certificate.
	if slices.Contains(found, rules.Name) {
		found = slices.DeleteFunc(found, func(r rules.Reason) bool { return r == rules.CivilStatus })
	}
	var kind rules.Kind
	for _, r := range found {
		if kind != "" && rules.KindOf(r) != kind {
			return "", ""
		}
		kind = rules.KindOf(r)
	}
	if kind == "" {
		for k, c := range kindCues {
			if c.in(joined, words) {
				if kind != "" {
					return "", ""
				}
				kind = k
			}
		}
	}
	if len(found) == 1 {
		return kind, found[0]
	}
	return kind, ""
}

// textLanguage is the language a message's words are in, when they say so
// clearly: more cue words of it than of the others, and by a margin.
func textLanguage(words []string) string {
	scores := map[string]int{}
	for lang, c := range languageCues {
		for _, w := range words {
			if slices.Contains(c, w) {
				scores[lang]++
			}
		}
	}
	best, top, second := "", 0, 0
	for _, lang := range Languages() {
		switch n := scores[lang]; {
		case n > top:
			best, top, second = lang, n, top
		case n > second:
			second = n
		}
	}
	switch {
	case top == 0, top <= 2 && second > 0, top < 2*second:
		return ""
	}
	return best
}
