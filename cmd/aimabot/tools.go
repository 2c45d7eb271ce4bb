package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/rules"
)

// newFlags makes a flag set that reports errors as usage errors, not on
// stderr.
func newFlags(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// flagSet says whether the command line set the flag.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// helpShown is --help: the command's flags, for standard output (exit 0).
type helpShown struct{ text string }

func (h *helpShown) Error() string { return h.text }

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := parseFlagsWithArgs(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("%s: unexpected argument %q", fs.Name(), fs.Arg(0))
	}
	return nil
}

// parseFlagsWithArgs is parseFlags for a command that takes arguments after
// its flags (fs.Args).
func parseFlagsWithArgs(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			var b strings.Builder
			fmt.Fprintf(&b, "usage: aimabot %s [flags]\n\nflags:\n", fs.Name())
			fs.SetOutput(&b)
			fs.PrintDefaults()
			fs.SetOutput(io.Discard)
			return &helpShown{text: b.String()}
		}
		return usagef("%s: %v", fs.Name(), err)
	}
	return nil
}

// flagDate reads a date flag the way applicants type dates.
func flagDate(cmd, name, value string) (rules.Date, error) {
	d, err := rules.ParseDate(value)
	if err != nil {
		return rules.Date{}, usagef("%s: --%s: %q is not a valid date (use YYYY-MM-DD)", cmd, name, value)
	}
	return d, nil
}

func flagLang(cmd, value string) (string, error) {
	if !slices.Contains(flows.Languages(), value) {
		return "", usagef("%s: --lang: %q is not one of %s", cmd, value, strings.Join(flows.Languages(), ", "))
	}
	return value, nil
}

func runEligibility(args []string, stdout io.Writer) error {
	fs := newFlags("eligibility")
	expiry := fs.String("expiry", "", "the card's expiry date")
	today := fs.String("today", "", "today's date (default: today in Lisbon)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *expiry == "" {
		return usagef("eligibility: --expiry is required")
	}
	e, err := flagDate("eligibility", "expiry", *expiry)
	if err != nil {
		return err
	}
	t := rules.Today(time.Now())
	if *today != "" {
		if t, err = flagDate("eligibility", "today", *today); err != nil {
			return err
		}
	}
	v := rules.CheckEligibility(e, t)
	out := struct {
		Verdict  rules.Verdict `json:"verdict"`
		Expiry   string        `json:"expiry"`
		Today    string        `json:"today"`
		LastDay  string        `json:"last_day"`
		DaysLeft int           `json:"days_left"`
		Caution  bool          `json:"caution"`
		// Portal, when the way is renewal: "covered" when the expiry is in
		// a window AIMA confirmed for the Portal de Renovações, "unknown"
		// otherwise (not known yet, not known to be refused).
		Portal string `json:"portal,omitempty"`
	}{Verdict: v.Verdict, Expiry: v.Expiry.String(), Today: v.Today.String(), LastDay: v.LastDay.String(),
		DaysLeft: v.DaysLeft, Caution: v.Caution}
	if v.Verdict != rules.Eligible {
		out.Portal = "unknown"
		if rules.CheckPortal(e).Covered {
			out.Portal = "covered"
		}
	}
	if *asJSON {
		return writeJSON(stdout, out)
	}
	_, err = fmt.Fprintf(stdout, "verdict:   %s\nexpiry:    %s\ntoday:     %s\nlast_day:  %s\ndays_left: %d\ncaution:   %t\n",
		out.Verdict, out.Expiry, out.Today, out.LastDay, out.DaysLeft, out.Caution)
	if err == nil && out.Portal != "" {
		_, err = fmt.Fprintf(stdout, "portal:    %s\n", out.Portal)
	}
	return err
}

func runDocuments(args []string, stdout io.Writer) error {
	fs := newFlags("documents")
	kind := fs.String("kind", "", "data_change or duplicate")
	reason := fs.String("reason", "", "the reason (e.g. address, lost)")
	lang := fs.String("lang", "en", "language of the titles: en, pt or fr")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	k, err := rules.ParseKind(*kind)
	if err != nil {
		return usagef("documents: --kind: %q is not one of %s", *kind, joinKinds())
	}
	r, err := rules.ParseReason(k, *reason)
	if err != nil {
		return usagef("documents: --reason: %q is not a reason for %s (one of %s)", *reason, k, joinReasons(k))
	}
	l, err := flagLang("documents", *lang)
	if err != nil {
		return err
	}
	docs, err := rules.Documents(k, r)
	if err != nil {
		return fmt.Errorf("documents: %w", err)
	}
	cat, err := flows.LoadCatalog()
	if err != nil {
		return err
	}
	type doc struct {
		ID        rules.DocID `json:"id"`
		Mandatory bool        `json:"mandatory"`
		Title     string      `json:"title"`
		What      string      `json:"what"`
	}
	out := []doc{}
	for _, d := range docs {
		out = append(out, doc{d.ID, d.Mandatory, cat.Text(l, "doc_"+string(d.ID), nil), cat.Text(l, "doc_"+string(d.ID)+"_what", nil)})
	}
	if *asJSON {
		return writeJSON(stdout, out)
	}
	for _, d := range out {
		need := "mandatory"
		if !d.Mandatory {
			need = "optional"
		}
		if _, err := fmt.Fprintf(stdout, "%-27s %-9s  %s: %s\n", d.ID, need, d.Title, d.What); err != nil {
			return err
		}
	}
	return nil
}

func joinKinds() string {
	var s []string
	for _, k := range rules.Kinds() {
		s = append(s, string(k))
	}
	return strings.Join(s, ", ")
}

func joinReasons(k rules.Kind) string {
	var s []string
	for _, r := range rules.Reasons(k) {
		s = append(s, string(r))
	}
	return strings.Join(s, ", ")
}

// runDiagram prints the conversation's state machine, or with "case" the
// support case's, as Mermaid.
func runDiagram(args []string, stdout io.Writer) error {
	diagram := flows.Diagram
	switch {
	case len(args) == 1 && args[0] == "case":
		diagram = flows.CaseDiagram
	case len(args) > 0:
		return usagef("usage: aimabot diagram [case]")
	}
	d, err := diagram()
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, d)
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// envFlag is a setting read from the environment deep in the wiring
// (store, retention, logs) that a flag sets too.
type envFlag struct{ flag, env, usage string }

// storeFlags are the settings of the store, the retention and the logs.
func storeFlags() []envFlag {
	return []envFlag{
		{"redis-prefix", "REDIS_PREFIX", "prefix of every Redis key (default aimabot:)"},
		{"session-ttl", "SESSION_TTL", "erase a conversation this long after the applicant's last message (default 30d)"},
		{"case-ttl", "CASE_TTL", "erase a closed case this long after it closed (default 90d)"},
		{"reminder-after", "REMINDER_AFTER", "one reminder this long after documents stopped coming (default 24h)"},
		{"log-level", "LOG_LEVEL", "debug, info, warn or error (default warn)"},
		{"log-format", "LOG_FORMAT", "text or json (default text)"},
	}
}

// withEnvFlags adds a flag for each setting, its default the environment's
// value; after parsing, the returned function is the environment with the
// flags' values in it.
func withEnvFlags(fs *flag.FlagSet, getenv func(string) string, list []envFlag) func() func(string) string {
	vals := make(map[string]*string, len(list))
	for _, f := range list {
		vals[f.env] = fs.String(f.flag, getenv(f.env), f.usage+" (env "+f.env+")")
	}
	return func() func(string) string {
		return func(k string) string {
			if v, ok := vals[k]; ok {
				return *v
			}
			return getenv(k)
		}
	}
}
