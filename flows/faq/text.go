package faq

import (
	"strings"
	"unicode"
	"unicode/utf8"

	snowball "github.com/blevesearch/snowballstem"
	"github.com/blevesearch/snowballstem/english"
	"github.com/blevesearch/snowballstem/french"
	"github.com/blevesearch/snowballstem/portuguese"
	"golang.org/x/text/unicode/norm"
)

// maxInput bounds how much of a message is read: questions are short, and a
// 10,000-character paste must not cost more than a question.
const maxInput = 1000

// Words folds text to lower-case words without accents or punctuation:
// "Cartão de Residência!" -> [cartao de residencia].
func Words(text string) []string {
	if len(text) > maxInput {
		text = text[:maxInput]
	}
	return strings.FieldsFunc(fold(text), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	})
}

// fold lowers text and takes the accents off its letters (compatibility
// decomposition, marks removed, recomposed). ASCII is copied as it is, and
// every other character decomposed on its own, so a message costs one
// buffer. Bytes that are not UTF-8 separate words: they decode as U+FFFD.
func fold(text string) string {
	b := make([]byte, 0, len(text))
	ascii := true
	var scratch [32]byte
	for _, r := range text {
		if r < utf8.RuneSelf {
			if 'A' <= r && r <= 'Z' {
				r += 'a' - 'A'
			}
			b = append(b, byte(r))
			continue
		}
		var one [utf8.UTFMax]byte
		n := utf8.EncodeRune(one[:], r)
		// Lower case after the decomposition: "™" and "№" decompose into
		// capitals.
		for _, d := range string(norm.NFKD.Append(scratch[:0], one[:n]...)) {
			if unicode.Is(unicode.Mn, d) {
				continue
			}
			d = unicode.ToLower(d)
			ascii = ascii && d < utf8.RuneSelf
			b = utf8.AppendRune(b, d)
		}
	}
	if ascii {
		return string(b)
	}
	return norm.NFC.String(string(b))
}

// stems returns a word's stems in English, Portuguese and French, since a
// message may mix them ("perdi my cartão"); duplicates are dropped.
func stems(w string) []string {
	out := make([]string, 0, 3)
	for _, stem := range []func(*snowball.Env) bool{english.Stem, portuguese.Stem, french.Stem} {
		env := snowball.NewEnv(w)
		stem(env)
		s := env.Current()
		if len(s) < 2 {
			s = w
		}
		dup := false
		for _, o := range out {
			dup = dup || o == s
		}
		if !dup {
			out = append(out, s)
		}
	}
	return out
}

// stopwords carry no meaning for matching, in any of the three languages
// (accents folded).
func stopwords() map[string]bool {
	list := `a an the is are am be been was were to of in on at by for with from and or but if so as it its
this that these those i me my mine you your we our they them he she his her do does did can could would should
will shall have has had yes please pls there here what which who whom whose
o os as um uma uns umas de do da dos das no na nos nas em e ou que se por para com sem ao aos eu me meu minha
meus minhas voce vc te tu seu sua isso isto esse essa este esta ja la ai
ser sou foi estou esta estao tenho tem ter mais muito
can could get got need want know anyone somebody someone help please guys tell
porque pq posso pode preciso quero sei alguem saber ajuda tirar obter fazer sim
pourquoi peux peut puis dois faut besoin veux sais quelqu aide obtenir faire
le la les un une des du au aux et ou je j tu il elle on nous vous ils elles mon ma mes ton ta tes son sa ses
notre votre leur ce cet cette ces qui quoi dont est suis sont etre avoir ai as avons avez ont ne n l d qu
c s m y en sur dans par pour avec svp stp oui non tres`
	m := map[string]bool{}
	for _, w := range strings.Fields(list) {
		m[w] = true
	}
	return m
}

// markers are words that tell the language a message is written in.
func markers() map[string]map[string]float64 {
	raw := map[string]string{
		"en": `the is my i do how what can card to of and for with have it when where you does will need lost
get much should after long my new permit residence stolen expired expire renew change address name documents
report police payment pay appointment travel while still valid submit button form duplicate copy second which
why who am are was were there this that`,
		"pt": `o os um uma do da dos das no na nao meu minha como tenho posso quanto cartao perdi onde quando
preciso esta ja vou foi fazer pedido isso mas voce vc tambem tb porque pq ate agora fiz consigo pagar morada
residencia titulo roubado roubaram validade renovacao alteracao dados segunda via documentos policia marcacao
ainda obrigado obrigada ola boa bom dia ao aos pela pelo nas nos em`,
		"fr": `le la les un une des du je j est mon ma mes comment pour avec ai pas carte perdu quand faut dois
puis combien titre sejour vous il elle ce c qu n d l votre rendez merci bonjour ou etait suis avoir faire
demande perdue volee changement adresse police paiement payer voyager toujours valide bouton formulaire
duplicata deuxieme pourquoi quel quelle aussi deja sur dans au aux`,
	}
	m := map[string]map[string]float64{}
	for lang, list := range raw {
		m[lang] = map[string]float64{}
		for _, w := range strings.Fields(list) {
			m[lang][w] = 1
		}
	}
	return m
}

// detect guesses the language of a message from marker words and letters
// only one of the languages uses; hint (the applicant's language) breaks
// ties.
func detect(raw string, ws []string, mk map[string]map[string]float64, hint string) string {
	score := map[string]float64{}
	for _, w := range ws {
		for lang, m := range mk {
			score[lang] += m[w]
		}
	}
	for _, r := range strings.ToLower(raw) {
		switch r {
		case 'ã', 'õ':
			score["pt"] += 1.5
		case 'è', 'ù', 'û', 'î', 'ë', 'ï', 'œ':
			score["fr"] += 1.5
		case 'ç', 'ê', 'â', 'ô':
			score["pt"] += 0.3
			score["fr"] += 0.3
		}
	}
	best, bestScore := hint, -1.0
	if _, ok := score[hint]; !ok || best == "" {
		best = "en"
	}
	bestScore = score[best]
	for _, lang := range Languages() {
		if score[lang] > bestScore {
			best, bestScore = lang, score[lang]
		}
	}
	return best
}
