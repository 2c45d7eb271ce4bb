// Package faq answers applicants' questions from a knowledge base kept as
// data files (kb/*.toml): one topic a file, with an answer in English,
// Portuguese and French, its sources, the date its facts were checked, and
// whether it states an official rule or practical guidance (an answer that
// points to a person has an answer_no_staff for a bot without a support
// team). Staff edit the
// files, not Go code; a malformed file fails at load naming the file and line.
//
// Matching is retrieval over the topics' example questions: the text is
// folded (case, accents, punctuation), split into words, misspellings are
// corrected against the knowledge base's own vocabulary (edit distance 1, or
// 2 for long words), every word is stemmed with the Snowball stemmers of all
// three languages (github.com/blevesearch/snowballstem), and the message is
// compared with every example by IDF-weighted cosine similarity. The best
// topic wins when it is close enough and clearly ahead; two close topics are
// both offered; a message nearest to the out-of-scope examples (kb/none.toml)
// or to nothing is "none". The language is detected from the words used.
package faq
