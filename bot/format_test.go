package bot

import (
	"context"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
)

// Every text of the catalogs, in every language, with markup-like data in
// every field (what an applicant may type as their name or question), goes
// through Telegram's HTML parse mode as the sender writes it (htmlOf),
// through the real client to the fake Bot API's parser: each parses, reads
// back exactly as the plain text, and shows the key fact in bold.
func TestEveryMessageParses(t *testing.T) {
	srv := fakeapi.New(fakeapi.Options{})
	defer srv.Close()
	api, err := tg.New(srv.Token(), tg.WithServerURL(srv.URL()), tg.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	flow, err := flows.New(flows.WithStaff("en"))
	if err != nil {
		t.Fatal(err)
	}
	cat := flow.Catalog()
	const hostile = `<b>Zé & "Ana"</i> 1<2 &amp;`
	data := map[string]any{}
	field := regexp.MustCompile(`\{\{-?\s*(?:if\s+|with\s+)?\.(\w+)`)
	for _, lang := range flows.Languages() {
		raw, err := os.ReadFile("../flows/locales/" + lang + ".toml")
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range field.FindAllStringSubmatch(string(raw), -1) {
			data[m[1]] = hostile
		}
	}
	type job struct{ lang, id string }
	jobs := make(chan job)
	var wg sync.WaitGroup
	var mu sync.Mutex
	checked := 0
	for w := range 4 {
		chat := int64(7700 + w)
		srv.UserText(chat, "/start")
		wg.Go(func() {
			for j := range jobs {
				text := cat.Text(j.lang, j.id, data)
				if strings.TrimSpace(text) == "" {
					continue // a plural entry: only through Plural
				}
				for _, o := range render([]flows.Reply{{Text: text, Bold: []string{hostile}, Links: []flows.Link{{Text: hostile, URL: "https://aima.gov.pt/?a=1&b=<2>"}}}}) {
					m, err := api.SendMessage(context.Background(), &tg.SendMessageParams{ChatID: chat,
						Text: htmlOf(o.Text, o.Links, o.Bold), ParseMode: models.ParseModeHTML})
					if err != nil {
						t.Errorf("%s %s: %v", j.lang, j.id, err)
						continue
					}
					if want := strings.TrimSpace(o.Text); m.Text != want {
						t.Errorf("%s %s reads back as %q; want %q", j.lang, j.id, m.Text, want)
					}
					if strings.Count(o.Text, hostile) > 1 && !hasEntity(m.Entities, models.MessageEntityTypeBold) {
						t.Errorf("%s %s: no bold entity for the second key fact: %+v", j.lang, j.id, m.Entities)
					}
					mu.Lock()
					checked++
					mu.Unlock()
				}
			}
		})
	}
	for _, lang := range flows.Languages() {
		for _, id := range cat.IDs(lang) {
			jobs <- job{lang, id}
		}
	}
	close(jobs)
	wg.Wait()
	if checked < 1000 {
		t.Errorf("%d texts checked; want every catalog text in three languages", checked)
	}
	t.Logf("%d messages parsed", checked)
}

func hasEntity(ents []models.MessageEntity, typ models.MessageEntityType) bool {
	for _, e := range ents {
		if e.Type == typ {
			return true
		}
	}
	return false
}

// htmlOf escapes what it is given and marks only what it is asked to.
func TestHTMLOf(t *testing.T) {
	tests := []struct {
		name  string
		text  string
		links []flows.Link
		bold  []string
		want  string
	}{
		{"plain", `a < b & c > d "e"`, nil, nil, "a &lt; b &amp; c &gt; d &#34;e&#34;"},
		{"bold", "Last day: 2 May. Again 2 May.", nil, []string{"2 May"}, "Last day: <b>2 May</b>. Again 2 May."},
		{"link", "See AIMA now", []flows.Link{{Text: "AIMA", URL: `https://x.pt/?a=1&b="2"`}}, nil,
			`See <a href="https://x.pt/?a=1&amp;b=&#34;2&#34;">AIMA</a> now`},
		{"bold inside a link is left out", "See AIMA", []flows.Link{{Text: "AIMA", URL: "https://a.pt"}}, []string{"AIMA"},
			`See <a href="https://a.pt">AIMA</a>`},
		{"markup typed is text", "<b>x</b>", nil, []string{"<b>x</b>"}, "<b>&lt;b&gt;x&lt;/b&gt;</b>"},
	}
	for _, tt := range tests {
		if got := htmlOf(tt.text, tt.links, tt.bold); got != tt.want {
			t.Errorf("%s: htmlOf(%q) = %q; want %q", tt.name, tt.text, got, tt.want)
		}
	}
}
