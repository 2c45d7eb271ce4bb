package flows

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"github.com/BurntSushi/toml"
	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"

	"github.com/aimabot/aimabot/rules"
)

//go:embed locales/*.toml
var localeFiles embed.FS

// Languages returns the codes of the languages the assistant speaks, in the
// order they are offered.
func Languages() []string { return []string{"en", "pt", "fr"} }

// MatchLanguage maps a client language such as "pt-BR" or "fr_CA" to one the
// assistant speaks, falling back to English.
func MatchLanguage(client string) string {
	if lang := ourLanguage(client); lang != "" {
		return lang
	}
	return "en"
}

// Catalog holds every user-facing text in every language.
type Catalog struct {
	localizers map[string]*i18n.Localizer
	ids        map[string][]string // language -> message ids, for completeness checks
}

// LoadCatalog parses the embedded message catalogs. A malformed file is an
// error naming the file.
func LoadCatalog() (*Catalog, error) {
	bundle := i18n.NewBundle(language.English)
	bundle.RegisterUnmarshalFunc("toml", toml.Unmarshal)
	c := &Catalog{localizers: map[string]*i18n.Localizer{}, ids: map[string][]string{}}
	for _, lang := range Languages() {
		name := "locales/" + lang + ".toml"
		buf, err := fs.ReadFile(localeFiles, name)
		if err != nil {
			return nil, fmt.Errorf("flows: catalog %s: %w", name, err)
		}
		mf, err := bundle.ParseMessageFileBytes(buf, path.Base(name))
		if err != nil {
			return nil, fmt.Errorf("flows: catalog %s: %w", name, err)
		}
		for _, m := range mf.Messages {
			c.ids[lang] = append(c.ids[lang], m.ID)
		}
		slices.Sort(c.ids[lang])
		c.localizers[lang] = i18n.NewLocalizer(bundle, lang)
	}
	return c, nil
}

// IDs returns the sorted message ids of one language's catalog.
func (c *Catalog) IDs(lang string) []string { return slices.Clone(c.ids[lang]) }

// Text renders message id in lang with the template data. A missing message
// renders as its id in brackets, so a gap shows in tests and transcripts
// rather than as an empty message.
func (c *Catalog) Text(lang, id string, data map[string]any) string {
	s, err := c.localize(lang, &i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return "[" + id + "]"
	}
	return s
}

// Plural renders a message with plural forms for count.
func (c *Catalog) Plural(lang, id string, count int, data map[string]any) string {
	d := map[string]any{"Count": count}
	for k, v := range data {
		d[k] = v
	}
	s, err := c.localize(lang, &i18n.LocalizeConfig{MessageID: id, TemplateData: d, PluralCount: count})
	if err != nil {
		return "[" + id + "]"
	}
	return s
}

// Check renders id in lang and reports whether the message exists in that
// very language (not through the English fallback).
func (c *Catalog) Check(lang, id string) error {
	_, err := c.localize(lang, &i18n.LocalizeConfig{MessageID: id, PluralCount: 1,
		TemplateData: map[string]any{}})
	var nf *i18n.MessageNotFoundErr
	if errors.As(err, &nf) {
		return err
	}
	return nil
}

func (c *Catalog) localize(lang string, cfg *i18n.LocalizeConfig) (string, error) {
	l, ok := c.localizers[lang]
	if !ok {
		l = c.localizers["en"]
	}
	return l.Localize(cfg)
}

// DateWords writes a date in words ("Sunday, 26 July 2025") so that a
// misread date is obvious to the person who typed it.
func (c *Catalog) DateWords(lang string, d rules.Date) string {
	return c.Text(lang, "date_words", map[string]any{
		"Weekday": c.Text(lang, fmt.Sprintf("weekday_%d", int(d.Weekday())), nil),
		"Day":     d.Day,
		"Month":   c.Text(lang, fmt.Sprintf("month_%d", int(d.Month)), nil),
		"Year":    d.Year,
	})
}

// DateShort writes a date in words without the weekday ("26 July 2025"),
// for dates that are facts rather than the applicant's own.
func (c *Catalog) DateShort(lang string, d rules.Date) string {
	return c.Text(lang, "date_short", map[string]any{
		"Day":   d.Day,
		"Month": c.Text(lang, fmt.Sprintf("month_%d", int(d.Month)), nil),
		"Year":  d.Year,
	})
}

// Days writes a number of days with the language's plural rule.
func (c *Catalog) Days(lang string, n int) string {
	return c.Plural(lang, "days", n, nil)
}
