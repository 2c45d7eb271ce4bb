package faq

import (
	"fmt"
	"io/fs"
	"math"
	"sort"
)

// Tuning, measured on testdata/eval.tsv (go test ./flows/faq -run
// Evaluation -v prints the figures).
const (
	// minCosine is the similarity to the closest example of a topic below
	// which the topic is not close enough, however likely it is.
	minCosine = 0.25
	// minPosterior is the Naive Bayes probability below which the best
	// topic is too uncertain.
	minPosterior = 0.3
	// closeRatio: a second topic at least this fraction as likely as the
	// first is offered too.
	closeRatio = 0.5
	// gramWeight scales the letter 4-grams of words against the words'
	// stems: the grams catch misspellings and word forms the stemmers miss.
	gramWeight = 1.0
	// alpha smooths the Naive Bayes counts.
	alpha = 0.1
)

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

	logp [][]float64 // Naive Bayes: log P(feature | topic), by topic and feature
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
	Score float64 `json:"score"` // cosine similarity of the best example, 0..1
	Lang  string  `json:"lang"`  // the language the message is written in
	// Also are other topics about as close as Topic: offer them too.
	Also []string `json:"also,omitempty"`
}

// Default loads the knowledge base shipped with the program.
func Default() (*KB, error) { return New(kbFiles) }

// New loads and indexes the knowledge base in fsys (kb/*.toml).
func New(fsys fs.FS) (*KB, error) {
	topics, err := Load(fsys)
	if err != nil {
		return nil, err
	}
	kb := &KB{topics: topics, byID: map[string]int{}, stop: stopwords(), markers: markers(),
		vocab: map[string][]int32{}, features: map[string]int32{}, deletes: map[string][]string{}}
	df := map[int32]int{}
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
				feats := kb.learn(p)
				if len(feats) == 0 {
					continue
				}
				for _, f := range feats {
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
		if s[0] == '#' {
			kb.idf[f] *= gramWeight
		}
	}
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
		if len(w) >= 4 {
			for _, d := range deletions(w) {
				kb.deletes[d] = append(kb.deletes[d], w)
			}
		}
	}
	for _, list := range kb.deletes {
		sort.Strings(list)
	}
	return kb, nil
}

// learn adds a phrase's words to the vocabulary and returns its distinct
// features.
func (kb *KB) learn(phrase string) []int32 {
	seen := map[int32]bool{}
	var out []int32
	for _, w := range Words(phrase) {
		if kb.stop[w] {
			continue
		}
		ids, ok := kb.vocab[w]
		if !ok {
			for _, s := range append(stems(w), grams(w)...) {
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
			if !seen[id] {
				seen[id] = true
				out = append(out, id)
			}
		}
	}
	return out
}

// featuresOf maps a message's words to known features, correcting
// misspellings against the vocabulary.
func (kb *KB) featuresOf(ws []string) []int32 {
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
	for _, w := range ws {
		if kb.stop[w] {
			continue
		}
		if ids, ok := kb.vocab[w]; ok {
			add(ids)
			continue
		}
		if fixed, ok := kb.spell(w); ok {
			add(kb.vocab[fixed])
			continue
		}
		for _, s := range append(stems(w), grams(w)...) {
			if id, ok := kb.features[s]; ok {
				add([]int32{id})
			}
		}
	}
	return out
}

// Match finds the topic a message asks about. hint is the applicant's
// language, used when the message itself does not tell. The topic is the
// most likely under Naive Bayes, provided it is likely enough and one of its
// examples is close enough by cosine similarity; otherwise, or when the
// out-of-scope examples win, it is None.
func (kb *KB) Match(text, hint string) Match {
	ws := Words(text)
	m := Match{Topic: None, Lang: detect(text, ws, kb.markers, hint)}
	feats := kb.featuresOf(ws)
	if len(feats) == 0 {
		return m
	}
	post := kb.posterior(feats)
	cos := kb.cosines(feats)
	order := make([]int, len(kb.topics))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return post[order[a]] > post[order[b]] })
	top := order[0]
	m.Score = math.Round(post[top]*1000) / 1000
	none := kb.byID[None]
	// The out-of-scope examples are many and varied, which dilutes them in
	// Naive Bayes; one of them being closer than the best topic's closest
	// example is what tells an out-of-scope question.
	if post[top] < minPosterior || cos[top] < minCosine || top == none || cos[none] >= cos[top] {
		return m
	}
	m.Topic = kb.topics[top].ID
	for _, i := range order[1:min(3, len(order))] {
		if post[i] >= closeRatio*post[top] && cos[i] >= minCosine && i != none {
			m.Also = append(m.Also, kb.topics[i].ID)
		}
	}
	return m
}

// Topic returns a topic by id.
func (kb *KB) Topic(id string) (Topic, bool) {
	i, ok := kb.byID[id]
	if !ok || id == None {
		return Topic{}, false
	}
	return kb.topics[i], true
}

// Topics returns every topic but None, in file-name order.
func (kb *KB) Topics() []Topic {
	out := make([]Topic, 0, len(kb.topics))
	for _, t := range kb.topics {
		if t.ID != None {
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
// counts, smoothed.
func (kb *KB) train(docs [][]int32) {
	nt, nf := len(kb.topics), len(kb.features)
	counts := make([][]float64, nt)
	totals := make([]float64, nt)
	for i := range counts {
		counts[i] = make([]float64, nf)
	}
	for e, feats := range docs {
		t := kb.examples[e].topic
		for _, f := range feats {
			w := 1.0
			if kb.isGram[f] {
				w = gramWeight
			}
			counts[t][f] += w
			totals[t] += w
		}
	}
	kb.logp = make([][]float64, nt)
	for t := range counts {
		den := totals[t] + alpha*float64(nf)
		kb.logp[t] = make([]float64, nf)
		for f := range counts[t] {
			kb.logp[t][f] = math.Log((counts[t][f] + alpha) / den)
		}
	}
}

// posterior is P(topic | features) under Naive Bayes.
func (kb *KB) posterior(feats []int32) []float64 {
	post := make([]float64, len(kb.topics))
	mx := math.Inf(-1)
	for t := range post {
		lp := 0.0 // a uniform prior: no topic is asked more than another
		for _, f := range feats {
			w := 1.0
			if kb.isGram[f] {
				w = gramWeight
			}
			lp += w * kb.logp[t][f]
		}
		post[t] = lp
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
// topic's closest example.
func (kb *KB) cosines(feats []int32) []float64 {
	dots := make(map[int32]float64, 64)
	var qsq float64
	for _, f := range feats {
		w := kb.idf[f]
		qsq += w * w
		for _, p := range kb.postings[f] {
			dots[p.example] += w * p.weight
		}
	}
	qnorm := math.Sqrt(qsq)
	best := make([]float64, len(kb.topics))
	for e, dot := range dots {
		ex := kb.examples[e]
		if s := dot / (qnorm * ex.norm); s > best[ex.topic] {
			best[ex.topic] = s
		}
	}
	return best
}
