package faq

import (
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

// Tuning, measured on testdata/eval.tsv (go test ./flows/faq -run
// Evaluation -v prints the figures).
const (
	// minCosine is the similarity to the closest example of a topic below
	// which the topic is not close enough, however likely it is.
	minCosine = 0.25
	// minSure is the calibrated score from which a topic is answered
	// outright.
	minSure = 0.9
	// closeRatio: below minSure, a second topic scored at least this
	// fraction of the first is offered as the one alternative; otherwise
	// the three likeliest are.
	closeRatio = 0.7
	// alpha smooths the Naive Bayes counts.
	alpha = 0.1
	// minTellingIDF is the idf of a word in one example in twenty: a word
	// in more tells too little to count as evidence (see contentWords).
	minTellingIDF = 3.04
	// neighbours is how many of a topic's closest examples its knn score
	// averages.
	neighbours = 3
	// A topic's rank is its regression probability plus its knn score plus
	// nbWeight times its Naive Bayes posterior: the three disagree on
	// different questions, and together are right more often than any.
	nbWeight = 0.2
	// The regression's training: passes over the examples, learning rate
	// and L2 penalty.
	lrEpochs = 4
	lrRate   = 4.0
	lrL2     = 0
)

// calibration are the logistic coefficients of calInputs.
var calibration = [5]float64{-0.35, -0.74, 0.51, 5.34, 6.06}

// KB is the loaded knowledge base with its index. It is immutable and safe
// for concurrent use.
type KB struct {
	topics  []Topic
	byID    map[string]int
	stop    map[string]bool
	markers map[string]map[string]float64

	vocab    map[string][]int32 // folded word -> feature ids (its stems)
	features map[string]int32   // stem -> feature id
	isGram   []bool             // by feature id
	idf      []float64          // by feature id
	postings [][]posting        // by feature id: the examples holding it
	examples []example
	deletes  map[string][]string // spelling: a word with one letter deleted -> vocabulary words

	// Naive Bayes: log P(feature | topic) of a feature the topic never
	// had, by topic, and the gain over it of those it had, by feature.
	unseen []float64
	seen   [][]topicLogp
	lr     *lrModel
}

type example struct {
	topic int
	norm  float64
}

type posting struct {
	example int32
	weight  float64
}

// Match is what a message was found to ask.
type Match struct {
	Topic string  `json:"topic"` // None when nothing fits
	Score float64 `json:"score"` // the estimated probability that Topic is right, 0..1
	Lang  string  `json:"lang"`  // the language the message is written in
	// Confidence is Sure, Close or Unsure for a topic, empty for None.
	Confidence string `json:"confidence,omitempty"`
	// Also are the other topics to offer: the close second, or the two
	// likeliest after Topic when unsure.
	Also []string `json:"also,omitempty"`
	// Next, with a sure Topic, is the topic of a second question in the
	// message, to offer after the answer.
	Next string `json:"next,omitempty"`
	// Chat, with Topic None, is the small talk the message is: greeting,
	// thanks, bye, laugh, ack, human, language or complaint.
	Chat string `json:"chat,omitempty"`
}

// Default is the knowledge base shipped with the program, loaded the first
// time it is asked for: it is built into the binary and never changes, the
// KB is safe for concurrent use, and training it costs a sizeable fraction
// of a second (several seconds under the race detector), so every Flow of a
// process shares the one.
func Default() (*KB, error) { return loadDefault() }

var loadDefault = sync.OnceValues(func() (*KB, error) { return New(kbFiles) })

// New loads and indexes the knowledge base in fsys (kb/*.toml).
func New(fsys fs.FS) (*KB, error) {
	topics, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	kb := &KB{topics: topics, byID: map[string]int{}, stop: stopwords(), markers: markers(),
		vocab: map[string][]int32{}, features: map[string]int32{}, deletes: map[string][]string{}}
	var df []int // by feature: how many examples have it
	var docs [][]int32
	for i, t := range topics {
		kb.byID[t.ID] = i
		for _, lang := range Languages() {
			tx := t.Text[lang]
			phrases := tx.Examples
			if t.ID != None {
				phrases = append([]string{tx.Title}, phrases...)
			}
			for _, p := range phrases {
				feats := kb.learn(p, lang)
				if len(feats) == 0 {
					continue
				}
				for _, f := range feats {
					for int(f) >= len(df) {
						df = append(df, 0)
					}
					df[f]++
				}
				docs = append(docs, feats)
				kb.examples = append(kb.examples, example{topic: i})
			}
		}
	}
	if _, ok := kb.byID[None]; !ok {
		return nil, fmt.Errorf("faq: kb/%s.toml is missing: the out-of-scope examples", None)
	}
	n := float64(len(docs))
	kb.idf = make([]float64, len(kb.features))
	kb.isGram = make([]bool, len(kb.features))
	for s, f := range kb.features {
		kb.isGram[f] = s[0] == '#'
		kb.idf[f] = math.Log(1 + n/float64(1+df[f]))
	}
	// The regression is the longest part of the load: it trains on the
	// other core while the rest is indexed.
	lr := make(chan *lrModel, 1)
	go func() { lr <- kb.trainLR(docs, lrEpochs, lrRate, lrL2) }()
	kb.postings = make([][]posting, len(kb.features))
	for e, feats := range docs {
		var sq float64
		for _, f := range feats {
			w := kb.idf[f]
			sq += w * w
			kb.postings[f] = append(kb.postings[f], posting{example: int32(e), weight: w})
		}
		kb.examples[e].norm = math.Sqrt(sq)
	}
	kb.train(docs)
	for w := range kb.vocab {
		if len(w) >= 4 && w[0] != '!' {
			for _, d := range deletions(w) {
				kb.deletes[d] = append(kb.deletes[d], w)
			}
		}
	}
	for _, list := range kb.deletes {
		sort.Strings(list)
	}
	kb.lr = <-lr
	return kb, nil
}

// learn adds a phrase's words to the vocabulary and returns its distinct
// features.
func (kb *KB) learn(phrase, lang string) []int32 {
	var out []int32
	for _, w := range kb.negated(Words(phrase), lang) {
		ids, ok := kb.vocab[w]
		if !ok {
			for _, s := range wordFeatures(w) {
				id, ok := kb.features[s]
				if !ok {
					id = int32(len(kb.features))
					kb.features[s] = id
				}
				ids = append(ids, id)
			}
			kb.vocab[w] = ids
		}
		for _, id := range ids {
			if !slices.Contains(out, id) {
				out = append(out, id)
			}
		}
	}
	return out
}

// wordFeatures are a word's stems and letter grams; a negated word ("!lost")
// has its stems, negated, only.
func wordFeatures(w string) []string {
	if base, ok := strings.CutPrefix(w, "!"); ok {
		var out []string
		for _, s := range stems(base) {
			out = append(out, "!"+s)
		}
		return out
	}
	return append(stems(w), grams(w)...)
}

// negated drops the stop words, and marks with "!" the word a negation
// bears on (the next word, or the one after a stop word) and the words it
// lists: "não perdi nem roubaram" -> [!perdi !roubaram], "not lost, just
// broken" -> [!lost just broken]. What a message says did not happen must
// not count as what happened. "no" negates in English only: in Portuguese it
// is "in the".
func (kb *KB) negated(ws []string, lang string) []string {
	out := make([]string, 0, len(ws))
	reach := 0 // how many words ahead a negation still bears on
	for i, w := range ws {
		switch {
		case negators[w] || (w == "no" && lang == "en"):
			// "pas" and "n't" come after the French and English verb: only
			// the word right after them is negated ("pas perdue").
			reach = 2
			if w == "pas" || w == "t" || w == "ni" {
				reach = 1
			}
			continue
		case reach > 0 && !kb.stop[w]:
			out = append(out, "!"+w)
			reach = 0
			if i+1 < len(ws) && listing[ws[i+1]] {
				reach = 2
			}
			continue
		}
		reach = max(reach-1, 0)
		if !kb.stop[w] {
			out = append(out, w)
		}
	}
	return out
}

// negators are the words of negation of the three languages, folded; "t" is
// what is left of "n't".
var negators = map[string]bool{"not": true, "never": true, "t": true, "without": true, "nor": true,
	"neither": true, "nao": true, "nem": true, "nunca": true, "sem": true, "nenhum": true, "nenhuma": true,
	"pas": true, "ni": true, "jamais": true, "sans": true, "aucun": true, "aucune": true}

// listing words carry a negation on to the next word: "not lost or stolen".
var listing = map[string]bool{"or": true, "nor": true, "ou": true, "nem": true, "ni": true}

// featuresOf maps a message's words to known features, correcting
// misspellings against the vocabulary.
func (kb *KB) featuresOf(ws []string, lang string) []int32 {
	seen := map[int32]bool{}
	var out []int32
	add := func(ids []int32) {
		for _, id := range ids {
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	for _, w := range kb.negated(ws, lang) {
		if ids, ok := kb.vocab[w]; ok {
			add(ids)
			continue
		}
		base, neg := strings.CutPrefix(w, "!")
		if neg {
			// A negation the examples never had ("nunca chegou") tells
			// nothing: the word is read as it is.
			w, neg = base, false
			if ids, ok := kb.vocab[w]; ok {
				add(ids)
				continue
			}
		}
		if fixed, ok := kb.spell(base); ok {
			if neg {
				fixed = "!" + fixed
			}
			if ids, ok := kb.vocab[fixed]; ok {
				add(ids)
				continue
			}
		}
		for _, s := range wordFeatures(w) {
			if id, ok := kb.features[s]; ok {
				add([]int32{id})
			}
		}
	}
	return out
}

// Confidence levels of a match.
const (
	Sure   = "sure"   // answer the topic
	Close  = "close"  // two topics are about as likely: offer both
	Unsure = "unsure" // the evidence is thin: say so, offer the likeliest topics and a person
)

// Match finds the topic a message asks about. hint is the applicant's
// language, used when the message itself does not tell.
//
// Every topic, the out-of-scope examples and the small talk are scored by
// Naive Bayes and by the cosine similarity of their closest example. The
// most likely wins; when that is the out-of-scope examples (or nothing is
// close), the match is None; when it is small talk, the match is None with
// Chat set. Otherwise Score estimates the probability that the topic is
// right (calibrated on questions the matcher was not trained on), and
// Confidence says what to do with it.
func (kb *KB) Match(text, hint string) Match {
	m := kb.match(text, hint)
	if m.Confidence == Sure {
		m.Next = kb.secondIntent(text, m)
	}
	return m
}

// secondIntent is the topic of another question in the same message ("how
// much is it? and how long does it take?"): each of its clauses is matched
// on its own, and the first one surely about another topic is offered after
// the answer.
func (kb *KB) secondIntent(text string, main Match) string {
	parts := clauses(text)
	if len(parts) < 2 {
		return ""
	}
	for _, p := range parts {
		c := kb.match(p, main.Lang)
		if c.Confidence == Sure && c.Topic != main.Topic {
			return c.Topic
		}
	}
	return ""
}

// clauses cuts a message where a new question may start: at the end of a
// sentence, or at "and"/"e"/"et" (or "also") followed by a question word.
func clauses(text string) []string {
	var out []string
	start := 0
	cut := func(end int) {
		if p := strings.TrimSpace(text[start:end]); p != "" {
			out = append(out, p)
		}
		start = end
	}
	for i, r := range text {
		switch r {
		case '?', '!', ';', '.', '\n':
			cut(i + utf8.RuneLen(r))
		case ' ':
			if startsQuestion(text[i+1:]) {
				cut(i + 1)
			}
		}
	}
	cut(len(text))
	return out
}

// startsQuestion is a conjunction followed by a question word: "and how
// long", "e quanto", "et combien", "also where".
func startsQuestion(s string) bool {
	ws := Words(s[:min(len(s), 40)])
	if len(ws) < 2 {
		return false
	}
	switch ws[0] {
	case "and", "also", "e", "et", "tambem", "aussi", "plus":
	default:
		return false
	}
	switch ws[1] {
	case "how", "what", "where", "when", "which", "can", "do", "does", "is", "quanto", "quando", "onde", "como",
		"qual", "quais", "posso", "preciso", "combien", "quand", "ou", "comment", "quel", "quelle", "est", "faut":
		return true
	}
	return false
}

// match is Match for one question.
func (kb *KB) match(text, hint string) Match {
	ws := Words(text)
	m := Match{Topic: None, Lang: detect(text, ws, kb.markers, hint)}
	feats := kb.featuresOf(ws, m.Lang)
	if len(feats) == 0 {
		if asksWhoWeAre(ws) {
			return Match{Topic: botTopic, Lang: m.Lang, Score: 1, Confidence: Sure}
		}
		m.Chat = emojiChat(text)
		return m
	}
	c := kb.rank(feats)
	best := c[0]
	switch {
	case best.cos < minCosine:
		return m
	case kb.topics[best.topic].Kind == Chat:
		m.Chat = strings.TrimPrefix(kb.topics[best.topic].ID, chatPrefix)
		return m
	case best.topic == kb.byID[None] || c.cos(kb.byID[None]) >= best.cos:
		// The out-of-scope examples are many and varied, which dilutes
		// them in Naive Bayes; one of them being closer than the best
		// topic's closest example is what tells an out-of-scope question.
		return m
	}
	m.Topic = kb.topics[best.topic].ID
	m.Score = math.Round(calibrated(c)*1000) / 1000
	var others []string
	for _, o := range c[1:] {
		if o.cos >= minCosine && kb.inScope(o.topic) && len(others) < 2 {
			others = append(others, kb.topics[o.topic].ID)
		}
	}
	switch {
	case m.Topic == botTopic && asksWhoWeAre(ws),
		m.Score >= minSure && kb.contentWords(ws, m.Lang) >= 2:
		// One word ("passport") is thin evidence however well it matches:
		// the likeliest topics are offered instead.
		m.Confidence = Sure
	case len(others) > 0 && c[1].topic == kb.byID[others[0]] && c[1].score >= closeRatio*best.score:
		m.Confidence, m.Also = Close, others[:1]
	default:
		m.Confidence, m.Also = Unsure, others
	}
	return m
}

// contentWords counts the words of a message that tell something: known to
// the knowledge base (as written or corrected) and rarer than one example in
// twenty ("card" is in too many to tell a topic).
func (kb *KB) contentWords(ws []string, lang string) int {
	n := 0
	for _, w := range kb.negated(ws, lang) {
		ids, ok := kb.vocab[w]
		if !ok {
			fixed, ok := kb.spell(strings.TrimPrefix(w, "!"))
			if !ok {
				continue
			}
			ids = kb.vocab[fixed]
		}
		for _, f := range ids {
			if !kb.isGram[f] && kb.idf[f] >= minTellingIDF {
				n++
				break
			}
		}
	}
	return n
}

// candidate is one topic's scores for a message.
type candidate struct {
	topic int
	post  float64 // Naive Bayes posterior
	cos   float64 // cosine similarity of the topic's closest example
	knn   float64 // mean cosine similarity of its closest examples
	lr    float64 // logistic regression's probability
	score float64 // what ranks the topics: knn + nbWeight*post
}

type candidates []candidate

// cos is a topic's cosine among the candidates.
func (c candidates) cos(topic int) float64 {
	for _, x := range c {
		if x.topic == topic {
			return x.cos
		}
	}
	return 0
}

// rank scores every topic and orders them, most likely first.
func (kb *KB) rank(feats []int32) candidates {
	post := kb.posterior(feats)
	cos, knn := kb.cosines(feats)
	lr := kb.lrProbs(feats)
	c := make(candidates, len(kb.topics))
	for i := range c {
		c[i] = candidate{topic: i, post: post[i], cos: cos[i], knn: knn[i], lr: lr[i],
			score: lr[i] + knn[i] + nbWeight*post[i]}
	}
	sort.SliceStable(c, func(a, b int) bool { return c[a].score > c[b].score })
	return c
}

// inScope is true for a topic with an answer: not None, not small talk.
func (kb *KB) inScope(topic int) bool {
	return kb.topics[topic].ID != None && kb.topics[topic].Kind != Chat
}

// calibrated is the probability that the best candidate is right, from
// what tells a sure match from a lucky one: the regression's probability,
// the closest examples' similarity, and the lead of both over the second.
// The coefficients are a logistic fit on held-out questions (go test
// ./flows/faq -run Calibration -fit -v prints them).
func calibrated(c candidates) float64 {
	x := calInputs(c)
	var z float64
	for i, w := range calibration {
		z += w * x[i]
	}
	return 1 / (1 + math.Exp(-z))
}

// calInputs are the calibration's inputs for a ranking.
func calInputs(c candidates) [5]float64 {
	b, s := c[0], candidate{}
	if len(c) > 1 {
		s = c[1]
	}
	return [5]float64{1, b.lr, b.knn, b.lr - s.lr, b.knn - s.knn}
}

// botTopic answers "who are you?".
const botTopic = "what_is_this_bot"

// asksWhoWeAre reads a question made only of stop words, which the matcher
// cannot see: "who are you?", "what can you do?", "quem é você?", "vous
// êtes qui ?", "tu fais quoi ?".
func asksWhoWeAre(ws []string) bool {
	var who, what, you, do bool
	for _, w := range ws {
		switch w {
		case "who", "quem", "qui":
			who = true
		case "what", "que", "quoi", "oque":
			what = true
		case "you", "u", "voce", "vc", "tu", "vous", "es", "etes":
			you = true
		case "do", "help", "faz", "fazes", "ajuda", "ajudar", "fais", "faites", "aider", "aide", "serve", "sers":
			do = true
		}
	}
	return you && (who || what && do)
}

// emojiChat reads small talk written only in emoji.
func emojiChat(text string) string {
	switch {
	case strings.ContainsAny(text, "😂🤣😆😅"):
		return "laugh"
	case strings.ContainsAny(text, "🙏❤💙"):
		return "thanks"
	case strings.ContainsAny(text, "👍👌🆗✅"):
		return "ack"
	case strings.ContainsAny(text, "👋"):
		return "greeting"
	}
	return ""
}

// Topic returns a topic with an answer by id: not None, not small talk.
func (kb *KB) Topic(id string) (Topic, bool) {
	i, ok := kb.byID[id]
	if !ok || !kb.inScope(i) {
		return Topic{}, false
	}
	return kb.topics[i], true
}

// Topics returns every topic with an answer, in file-name order.
func (kb *KB) Topics() []Topic {
	out := make([]Topic, 0, len(kb.topics))
	for i, t := range kb.topics {
		if kb.inScope(i) {
			out = append(out, t)
		}
	}
	return out
}

// spell corrects a word to the vocabulary word at edit distance 1 (2 for
// words of eight letters or more), preferring the closest, then the first in
// alphabetical order, so the result never depends on map order.
func (kb *KB) spell(w string) (string, bool) {
	if len(w) < 4 {
		return "", false
	}
	best, bestDist := "", 3
	consider := func(cands []string) {
		for _, c := range cands {
			d := distance(w, c)
			if d < bestDist || (d == bestDist && c < best) {
				best, bestDist = c, d
			}
		}
	}
	consider(kb.deletes[w])
	for _, d := range deletions(w) {
		consider(kb.deletes[d])
		if _, ok := kb.vocab[d]; ok {
			consider([]string{d})
		}
	}
	limit := 1
	if len(w) >= 8 {
		limit = 2
	}
	if best == "" || bestDist > limit {
		return "", false
	}
	return best, true
}

// deletions are a word with one letter left out, each position once.
func deletions(w string) []string {
	r := []rune(w)
	out := make([]string, 0, len(r))
	for i := range r {
		out = append(out, string(r[:i])+string(r[i+1:]))
	}
	return out
}

// distance is the optimal string alignment distance (Levenshtein with
// transpositions).
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// grams are a word's letter 4-grams, with its ends marked, as features
// ("#" keeps them apart from stems): "police" -> #^pol #poli #olic #lice #ice$.
func grams(w string) []string {
	r := []rune("^" + w + "$")
	if len(r) < 5 || len(r) > 40 {
		return nil
	}
	out := make([]string, 0, len(r)-3)
	for i := 0; i+4 <= len(r); i++ {
		out = append(out, "#"+string(r[i:i+4]))
	}
	return out
}

// train fits multinomial Naive Bayes on the examples: every topic's feature
// counts, smoothed. Only the counts seen are kept (by feature, the topics
// that have it); every other feature has its topic's unseen log-probability.
func (kb *KB) train(docs [][]int32) {
	nt, nf := len(kb.topics), len(kb.features)
	totals := make([]float64, nt)
	kb.seen = make([][]topicLogp, nf)
	for e, feats := range docs {
		t := int32(kb.examples[e].topic)
		for _, f := range feats {
			totals[t]++
			i := slices.IndexFunc(kb.seen[f], func(s topicLogp) bool { return s.topic == t })
			if i < 0 {
				kb.seen[f] = append(kb.seen[f], topicLogp{topic: t})
				i = len(kb.seen[f]) - 1
			}
			kb.seen[f][i].gain++ // the count, until it becomes the gain below
		}
	}
	kb.unseen = make([]float64, nt)
	for t := range totals {
		kb.unseen[t] = math.Log(alpha / (totals[t] + alpha*float64(nf)))
	}
	for f := range kb.seen {
		for i, s := range kb.seen[f] {
			// log((n+alpha)/den) - log(alpha/den)
			kb.seen[f][i].gain = math.Log((s.gain + alpha) / alpha)
		}
	}
}

// topicLogp is how much more likely a feature is in a topic than unseen.
type topicLogp struct {
	topic int32
	gain  float64
}

// posterior is P(topic | features) under Naive Bayes.
func (kb *KB) posterior(feats []int32) []float64 {
	post := make([]float64, len(kb.topics))
	for t := range post {
		// A uniform prior: no topic is asked more than another.
		post[t] = float64(len(feats)) * kb.unseen[t]
	}
	for _, f := range feats {
		for _, s := range kb.seen[f] {
			post[s.topic] += s.gain
		}
	}
	mx := math.Inf(-1)
	for _, lp := range post {
		mx = max(mx, lp)
	}
	var sum float64
	for t := range post {
		post[t] = math.Exp(post[t] - mx)
		sum += post[t]
	}
	for t := range post {
		post[t] /= sum
	}
	return post
}

// cosines is, for every topic, the cosine similarity of the message to the
// topic's closest example, and the mean of its three closest (a topic one
// stray example is close to is less likely than one several are).
func (kb *KB) cosines(feats []int32) (best, knn []float64) {
	dots := make([]float64, len(kb.examples))
	var touched []int32
	var qsq float64
	for _, f := range feats {
		w := kb.idf[f]
		qsq += w * w
		for _, p := range kb.postings[f] {
			if dots[p.example] == 0 {
				touched = append(touched, p.example)
			}
			dots[p.example] += w * p.weight
		}
	}
	qnorm := math.Sqrt(qsq)
	top := make([][neighbours]float64, len(kb.topics))
	for _, e := range touched {
		dot, ex := dots[e], kb.examples[e]
		s := dot / (qnorm * ex.norm)
		t := &top[ex.topic]
		for i := range t {
			if s > t[i] {
				copy(t[i+1:], t[i:len(t)-1])
				t[i] = s
				break
			}
		}
	}
	best, knn = make([]float64, len(kb.topics)), make([]float64, len(kb.topics))
	for i, t := range top {
		best[i] = t[0]
		for _, s := range t {
			knn[i] += s / neighbours
		}
	}
	return best, knn
}
