package faq

import (
	"math"
	"math/rand/v2"
)

// lrModel is multinomial logistic regression over the examples' tf-idf
// vectors: a discriminative model learns which words decide between two
// neighbouring topics ("price" over "permanent card"), which Naive Bayes,
// counting every word alike, does not.
type lrModel struct {
	nt   int
	row  []int32   // by feature: its row of weights, -1 for a letter gram
	w    []float64 // row*nt + topic
	bias []float64
}

func (kb *KB) trainLR(all [][]int32, epochs int, rate, l2 float64) *lrModel {
	nt := len(kb.topics)
	docs := make([][]int32, len(all))
	norms := make([]float64, len(all))
	for e, feats := range all {
		docs[e] = kb.words(feats)
		norms[e] = kb.norm(docs[e])
	}
	m := &lrModel{nt: nt, row: make([]int32, len(kb.features)), bias: make([]float64, nt)}
	rows := int32(0)
	for f := range m.row {
		m.row[f] = -1
		if !kb.isGram[f] {
			m.row[f] = rows
			rows++
		}
	}
	m.w = make([]float64, int(rows)*nt)
	// Averaged SGD: the model is the mean of the weights over every step,
	// kept lazily (u sums each change times the step it came at), so the
	// result does not hang on the last few examples' order.
	u := make([]float64, len(m.w))
	ubias := make([]float64, nt)
	order := make([]int, len(docs))
	for i := range order {
		order[i] = i
	}
	rng := rand.New(rand.NewPCG(1, 2))
	z := make([]float64, nt)
	active := make([]int, 0, nt)
	step := 1.0
	for ep := 0; ep < epochs; ep++ {
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		eta := rate / (1 + float64(ep))
		for _, e := range order {
			feats, norm := docs[e], norms[e]
			if len(feats) == 0 {
				continue
			}
			m.scores(feats, norm, kb.idf, z)
			softmax(z)
			z[kb.examples[e].topic] -= 1
			// Only the topics the example moves: once a topic's
			// probability is negligible its gradient is too.
			active = active[:0]
			for t, g := range z {
				if g > 1e-3 || g < -1e-3 {
					active = append(active, t)
				}
			}
			for _, f := range feats {
				x := kb.idf[f] / norm
				at := int(m.row[f]) * nt
				row, urow := m.w[at:at+nt], u[at:at+nt]
				for _, t := range active {
					d := eta * (z[t]*x + l2*row[t])
					row[t] -= d
					urow[t] -= step * d
				}
			}
			for _, t := range active {
				m.bias[t] -= eta * z[t]
				ubias[t] -= step * eta * z[t]
			}
			step++
		}
	}
	for i := range m.w {
		m.w[i] -= u[i] / step
	}
	for t := range m.bias {
		m.bias[t] -= ubias[t] / step
	}
	return m
}

func (m *lrModel) scores(feats []int32, norm float64, idf []float64, z []float64) {
	copy(z, m.bias)
	for _, f := range feats {
		x := idf[f] / norm
		at := int(m.row[f]) * m.nt
		row := m.w[at : at+m.nt]
		for t := range row {
			z[t] += row[t] * x
		}
	}
}

func softmax(z []float64) {
	mx := math.Inf(-1)
	for _, v := range z {
		mx = max(mx, v)
	}
	var sum float64
	for i, v := range z {
		if v-mx < -30 { // e^-30: nothing next to the largest
			z[i] = 0
			continue
		}
		z[i] = math.Exp(v - mx)
		sum += z[i]
	}
	for i := range z {
		z[i] /= sum
	}
}

// lrProbs is P(topic | message) under the model.
func (kb *KB) lrProbs(feats []int32) []float64 {
	feats = kb.words(feats)
	z := make([]float64, len(kb.topics))
	if len(feats) > 0 {
		kb.lr.scores(feats, kb.norm(feats), kb.idf, z)
	} else {
		copy(z, kb.lr.bias)
	}
	softmax(z)
	return z
}

// words are the features that are stems, not letter grams: the regression
// learns from words.
func (kb *KB) words(feats []int32) []int32 {
	out := make([]int32, 0, len(feats))
	for _, f := range feats {
		if !kb.isGram[f] {
			out = append(out, f)
		}
	}
	return out
}

// norm is the length of a feature vector weighted by idf.
func (kb *KB) norm(feats []int32) float64 {
	var sq float64
	for _, f := range feats {
		sq += kb.idf[f] * kb.idf[f]
	}
	return math.Sqrt(sq)
}
