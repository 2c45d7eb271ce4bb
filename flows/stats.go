package flows

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// CaseFact is what the support team's figures keep of a case: times and
// outcomes, never who the applicant is or what they wrote.
type CaseFact struct {
	Opened     time.Time     `json:"opened"`
	Answered   bool          `json:"answered,omitempty"`
	FirstReply time.Duration `json:"first_reply,omitempty"` // office time from opening to the first answer
	FirstMet   bool          `json:"first_met,omitempty"`   // within the first-response target
	Closed     bool          `json:"closed,omitempty"`
	Resolution time.Duration `json:"resolution,omitempty"` // office time from opening to closing
	Kind       string        `json:"kind,omitempty"`       // the request: a rules.Kind
	Member     string        `json:"member,omitempty"`     // the staff member who had it last
	Rating     string        `json:"rating,omitempty"`     // RatedYes, RatedPartly or RatedNo
}

// StatsKept is how long the figures keep a case's fact after it opened.
func StatsKept() time.Duration {
	d := statsDays()
	return time.Duration(d[len(d)-1]+1) * 24 * time.Hour
}

// Fact is the case's fact for the figures; false when there is no case.
func (f *Flow) Fact(s Session) (CaseFact, bool) {
	c := s.Human
	if c == nil || c.At.IsZero() {
		return CaseFact{}, false
	}
	fact := CaseFact{Opened: c.At.UTC(), Kind: string(s.Kind)}
	if c.Agent != nil {
		fact.Member = c.Agent.Name
	}
	if !c.Answered.IsZero() && !c.Answered.Before(c.At) {
		fact.Answered = true
		fact.FirstReply = f.hours.Elapsed(c.At, c.Answered)
		fact.FirstMet = fact.FirstReply <= f.targets.First
	}
	if s.CaseStatus() == CaseClosed && !c.ClosedAt.IsZero() {
		fact.Closed = true
		fact.Resolution = f.hours.Elapsed(c.At, c.ClosedAt)
	}
	if c.Rating != nil {
		fact.Rating = c.Rating.Score
	}
	return fact, true
}

// statsDays are the periods the figures are given for, in days: the
// longest is how long the figures are kept.
func statsDays() []int { return []int{7, 30} }

// Figures are the support team's numbers over a period.
type Figures struct {
	Days                     int
	Opened, Closed           int
	Answered, Met            int // cases answered, and of them within the first-response target
	FirstP50, FirstP90       time.Duration
	ResolvedP50, ResolvedP90 time.Duration
	Ratings                  map[string]int // by RatedYes, RatedPartly, RatedNo
}

// Periods computes the figures for the last 7 and 30 days.
func Periods(facts []CaseFact, now time.Time) []Figures {
	var out []Figures
	for _, days := range statsDays() {
		from := now.Add(-time.Duration(days) * 24 * time.Hour)
		var p []CaseFact
		for _, c := range facts {
			if !c.Opened.Before(from) && !c.Opened.After(now) {
				p = append(p, c)
			}
		}
		fg := Figures{Days: days, Opened: len(p), Ratings: map[string]int{}}
		fg.Closed = count(p, func(c CaseFact) bool { return c.Closed })
		fg.Answered = count(p, func(c CaseFact) bool { return c.Answered })
		fg.Met = count(p, func(c CaseFact) bool { return c.FirstMet })
		first := durations(p, func(c CaseFact) (time.Duration, bool) { return c.FirstReply, c.Answered })
		res := durations(p, func(c CaseFact) (time.Duration, bool) { return c.Resolution, c.Closed })
		fg.FirstP50, fg.FirstP90 = rank(first, 50), rank(first, 90)
		fg.ResolvedP50, fg.ResolvedP90 = rank(res, 50), rank(res, 90)
		for _, r := range []string{RatedYes, RatedPartly, RatedNo} {
			fg.Ratings[r] = count(p, rated(r))
		}
		out = append(out, fg)
	}
	return out
}

// rank is the p-th percentile of sorted durations (nearest rank); 0 when
// there are none.
func rank(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[max(0, (p*len(ds)+99)/100-1)]
}

// Stats writes the support team's figures for the last 7 and 30 days: cases
// opened, closed and waiting now; median and 90th-percentile first-response
// and resolution times in office hours; the first-response target met;
// ratings; per member and per request.
func (f *Flow) Stats(facts []CaseFact, waiting int, now time.Time) string {
	lang := f.staffLang
	tr := func(id string, d map[string]any) string { return f.cat.Text(lang, id, d) }
	periods := Periods(facts, now)
	cols := func(fn func(Figures) string) map[string]any {
		var out []string
		for _, p := range periods {
			out = append(out, fn(p))
		}
		return map[string]any{"V": strings.Join(out, " · ")}
	}
	pair := func(a, b time.Duration, n int) string {
		if n == 0 {
			return "—"
		}
		return hm(a) + " / " + hm(b)
	}
	lines := []string{tr("stats_title", map[string]any{"Waiting": waiting}),
		tr("stats_opened", cols(func(p Figures) string { return fmt.Sprint(p.Opened) })),
		tr("stats_closed", cols(func(p Figures) string { return fmt.Sprint(p.Closed) })),
		tr("stats_first", cols(func(p Figures) string { return pair(p.FirstP50, p.FirstP90, p.Answered) })),
		tr("stats_resolution", cols(func(p Figures) string { return pair(p.ResolvedP50, p.ResolvedP90, p.Closed) })),
		tr("stats_met", cols(func(p Figures) string {
			if p.Answered == 0 {
				return "—"
			}
			return fmt.Sprintf("%d%%", 100*p.Met/p.Answered)
		})),
		tr("stats_ratings", cols(func(p Figures) string {
			return fmt.Sprintf("👍%d 😐%d 👎%d", p.Ratings[RatedYes], p.Ratings[RatedPartly], p.Ratings[RatedNo])
		})),
	}
	// Per member and per request, over the longer period.
	days := periods[len(periods)-1].Days
	from := now.Add(-time.Duration(days) * 24 * time.Hour)
	var long []CaseFact
	for _, c := range facts {
		if !c.Opened.Before(from) && !c.Opened.After(now) {
			long = append(long, c)
		}
	}
	if by := groups(long, func(c CaseFact) string { return c.Member }); len(by) > 0 {
		lines = append(lines, tr("stats_by_member", map[string]any{"Days": days}))
		for _, g := range by {
			lines = append(lines, "• "+g.key+": "+f.groupLine(g.facts))
		}
	}
	if by := groups(long, func(c CaseFact) string { return c.Kind }); len(by) > 0 {
		lines = append(lines, tr("stats_by_kind", map[string]any{"Days": days}))
		for _, g := range by {
			lines = append(lines, "• "+tr("title_kind_"+g.key, nil)+": "+f.groupLine(g.facts))
		}
	}
	return strings.Join(lines, "\n")
}

// groupLine is one member's or request's figures.
func (f *Flow) groupLine(p []CaseFact) string {
	return f.cat.Plural(f.staffLang, "stats_group", len(p), map[string]any{
		"First":  f.percentiles(durations(p, func(c CaseFact) (time.Duration, bool) { return c.FirstReply, c.Answered })),
		"Yes":    count(p, rated(RatedYes)),
		"Partly": count(p, rated(RatedPartly)),
		"No":     count(p, rated(RatedNo))})
}

type group struct {
	key   string
	facts []CaseFact
}

func groups(facts []CaseFact, key func(CaseFact) string) []group {
	m := map[string][]CaseFact{}
	for _, c := range facts {
		if k := key(c); k != "" {
			m[k] = append(m[k], c)
		}
	}
	var out []group
	for k, v := range m {
		out = append(out, group{k, v})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func rated(score string) func(CaseFact) bool {
	return func(c CaseFact) bool { return c.Rating == score }
}

func count(p []CaseFact, ok func(CaseFact) bool) int {
	n := 0
	for _, c := range p {
		if ok(c) {
			n++
		}
	}
	return n
}

func durations(p []CaseFact, get func(CaseFact) (time.Duration, bool)) []time.Duration {
	var out []time.Duration
	for _, c := range p {
		if d, ok := get(c); ok {
			out = append(out, d)
		}
	}
	slices.Sort(out)
	return out
}

// percentiles writes the median and 90th percentile of sorted durations,
// "0h40 / 1h55", or "—" when there are none.
func (f *Flow) percentiles(ds []time.Duration) string {
	if len(ds) == 0 {
		return "—"
	}
	return hm(rank(ds, 50)) + " / " + hm(rank(ds, 90))
}

// hm writes a duration as hours and minutes, "1h05".
func hm(d time.Duration) string {
	m := int(d.Round(time.Minute) / time.Minute)
	return fmt.Sprintf("%dh%02d", m/60, m%60)
}
