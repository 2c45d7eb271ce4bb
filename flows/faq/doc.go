// Package faq answers applicants' questions from a knowledge base kept as
// data files (kb/*.toml): one topic a file, with an answer in English,
// Portuguese and French, its sources, the date its facts were checked, and
// whether it states an official rule or practical guidance (an answer that
// points to a person has an answer_no_staff for a bot without a support
// team). kb/none.toml holds questions the bot does not cover, and the
// kb/chat_*.toml files small talk (thanks, greetings, asking for a person or
// a language), which the conversation answers from its own catalog. Staff
// edit the files, not Go code; a malformed file fails at load naming the file
// and line.
//
// Matching reads the question, not only its words. The text is folded (case,
// accents, punctuation) and split into words; a word a negation bears on is
// read as negated ("não perdi" is not "perdi"); misspellings are corrected
// against the knowledge base's own vocabulary (edit distance 1, or 2 for long
// words); every word is stemmed with the Snowball stemmers of the three
// languages (github.com/blevesearch/snowballstem) and cut into letter 4-grams.
// Three models score every topic: a logistic regression trained at load on
// the examples' words (it learns which words decide between neighbouring
// topics), the mean similarity of the topic's three closest examples, and
// Naive Bayes. The best topic's score is turned into the probability that it
// is right by a logistic calibration fitted on questions the matcher never
// trained on (testdata/eval.tsv and blind-a.tsv; blind-b.tsv is only
// measured). A sure match is answered; a close second is offered with it;
// thin evidence (a low score, or a single word) offers the three likeliest
// topics. A message nearest to the out-of-scope examples is "none", and to
// small talk, "none" with Chat set. The language is detected from the words.
package faq
