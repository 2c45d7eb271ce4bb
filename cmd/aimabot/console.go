package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/aimabot/aimabot/bot"
	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/rules"
	"github.com/aimabot/aimabot/store"
)

// consoleChat is the chat id the console's conversation is stored under.
const consoleChat = 1

// runConsole chats in the terminal over the same flow and store as the bot.
// Buttons are numbered; a number or a label presses one. With input piped
// from a script it echoes each line, so the output reads as a transcript.
func runConsole(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := newFlags("console")
	lang := fs.String("lang", "en", "language: en, pt or fr")
	today := fs.String("today", "", "pretend today is this date (YYYY-MM-DD), for trying dates")
	data := fs.String("data", envOr(getenv, "AIMABOT_DATA", "./aimabot-data"), "directory of the embedded store (env AIMABOT_DATA)")
	packageMax := fs.String("package-max-mb", getenv("PACKAGE_MAX_MB"), "the largest PDF /package writes, in MB (env PACKAGE_MAX_MB; default 5)")
	env := withEnvFlags(fs, getenv, storeFlags())
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	getenv = env()
	limit, err := packageLimit(*packageMax)
	if err != nil {
		return err
	}
	l, err := flagLang("console", *lang)
	if err != nil {
		return err
	}
	clock := time.Now
	if *today != "" {
		d, err := rules.ParseISO(*today)
		if err != nil {
			return usagef("console: --today: %q is not a date in the form YYYY-MM-DD", *today)
		}
		// Noon in Lisbon, so the date is the same in every time zone.
		at := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, rules.Lisbon())
		clock = func() time.Time { return at }
	}
	logger, err := newLogger(getenv, stderr)
	if err != nil {
		return err
	}
	// The console has no token: TELEGRAM_BOT_TOKEN when set (a console on
	// a bot's store then names erasures as the bot does), else the fixed
	// key. It commits through the bot's one commit path, so its /forget
	// leaves what the bot's does.
	st, flow, err := openParts(ctx, logger, getenv, *data, strings.TrimSpace(getenv("TELEGRAM_BOT_TOKEN")))
	if err != nil {
		return err
	}
	defer st.Close()
	c := newConsole(logger, st, flow, strings.TrimSpace(getenv("TELEGRAM_BOT_TOKEN")), clock)
	c.lang, c.out, c.echo, c.packageMax = l, stdout, !isTerminal(stdin), limit
	return c.run(ctx, stdin)
}

// newConsole is a console on st, committing through the bot's commit path;
// token keys the chat's hash in logs as the bot's does.
func newConsole(logger *slog.Logger, st store.Store, flow *flows.Flow, token string, clock func() time.Time) *console {
	return &console{flow: flow, st: st, lang: "en", clock: clock, out: io.Discard, logger: logger, packageDir: ".",
		commit: bot.NewConsole(logger, st, flow, token, clock)}
}

type console struct {
	flow    *flows.Flow
	st      store.Store
	lang    string
	clock   func() time.Time
	out     io.Writer
	logger  *slog.Logger
	echo    bool
	buttons []flows.ButtonSpec // the last replies' buttons, numbered from 1
	commit  *bot.Console
	// packageMax is the largest PDF of a package (0: the default);
	// packageDir is where a package goes unless /package names a directory.
	packageMax int64
	packageDir string
}

func (c *console) run(ctx context.Context, stdin io.Reader) error {
	cur, ok, err := c.st.Get(ctx, consoleChat)
	if err != nil {
		return fmt.Errorf("console: %w", err)
	}
	if s, err := flows.Unmarshal(cur); ok && err == nil && s.State != "" {
		c.lang = s.Lang
		c.show(c.flow.Prompt(s, c.clock()))
	} else if err := c.send(ctx, flows.ParseText("/start", c.lang)); err != nil {
		return err
	}
	c.print(c.flow.Catalog().Text(c.lang, "console_hint", nil))
	sc := bufio.NewScanner(stdin)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for c.promptLine(); sc.Scan(); c.promptLine() {
		if ctx.Err() != nil {
			return nil
		}
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		if c.echo {
			fmt.Fprintf(c.out, "> %s\n", line)
		}
		if line == "/quit" || line == "/exit" {
			return nil
		}
		in, ok := c.input(line)
		if !ok {
			continue
		}
		if err := c.send(ctx, in); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("console: read input: %w", err)
	}
	return nil
}

// input turns a typed line into the flow's input: a button number, a file,
// or text.
func (c *console) input(line string) (flows.Input, bool) {
	if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(c.buttons) {
		return flows.Input{Kind: flows.Button, Data: c.buttons[n-1].Data, ClientLang: c.lang}, true
	}
	if path, ok := strings.CutPrefix(line, "/file"); ok && (path == "" || path[0] == ' ') {
		path = strings.TrimSpace(path)
		if path == "" {
			c.print(c.flow.Catalog().Text(c.lang, "console_file_usage", nil))
			return flows.Input{}, false
		}
		f, err := readFile(path)
		if err != nil {
			c.print(c.flow.Catalog().Text(c.lang, "console_file_unreadable", nil))
			return flows.Input{}, false
		}
		return flows.Input{Kind: flows.Files, Files: []flows.File{f}, ClientLang: c.lang}, true
	}
	return flows.ParseText(line, c.lang), true
}

// readFile checks a file by its size and its first bytes, as the bot does
// with a downloaded document. A file over the limit is not read.
func readFile(path string) (flows.File, error) {
	if strings.HasPrefix(path, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			path = filepath.Join(home, path[2:])
		}
	}
	fh, err := os.Open(path)
	if err != nil {
		return flows.File{}, err
	}
	defer fh.Close()
	info, err := fh.Stat()
	if err != nil {
		return flows.File{}, err
	}
	if info.IsDir() {
		return flows.File{}, errors.New("is a directory")
	}
	head := make([]byte, 512)
	n, err := io.ReadFull(fh, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return flows.File{}, err
	}
	t, _ := rules.SniffFileType(head[:n])
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	f := flows.File{Ref: abs, Type: t, Size: info.Size()}
	if t == "" {
		// Named as an accepted type but not one inside: the assistant says so.
		switch strings.ToLower(filepath.Ext(path)) {
		case ".jpg", ".jpeg":
			f.Claimed = rules.JPEG
		case ".png":
			f.Claimed = rules.PNG
		case ".pdf":
			f.Claimed = rules.PDF
		}
	}
	return f, nil
}

func (c *console) send(ctx context.Context, in flows.Input) error {
	replies, err := c.commit.Say(ctx, consoleChat, in)
	c.show(replies)
	for _, r := range replies {
		if r.Package == nil || err != nil {
			continue
		}
		// "/package DIR" writes the PDFs to DIR; the button, to the
		// console's own directory for them.
		dir := r.Package.Dir
		if dir == "" {
			dir = c.packageDir
		}
		var more []flows.Reply
		more, err = c.commit.Package(ctx, consoleChat, r.Package, dir, c.packageMax)
		c.show(more)
	}
	if err != nil {
		// The applicant has had the apology; the details go to the log.
		c.logger.Error("console: applying input failed", "err", err)
		if ctx.Err() != nil {
			return nil
		}
	}
	if cur, ok, err := c.st.Get(ctx, consoleChat); err == nil && ok {
		if s, err := flows.Unmarshal(cur); err == nil && s.Lang != "" {
			c.lang = s.Lang
		}
	}
	return nil
}

func (c *console) show(replies []flows.Reply) {
	c.buttons = c.buttons[:0]
	for _, r := range replies {
		c.print(r.Text)
		for _, l := range r.Links {
			fmt.Fprintf(c.out, "    %s: %s\n", l.Text, l.URL)
		}
		for _, row := range r.Buttons {
			var cells []string
			for _, b := range row {
				c.buttons = append(c.buttons, b)
				cells = append(cells, fmt.Sprintf("[%d] %s", len(c.buttons), b.Label))
			}
			fmt.Fprintf(c.out, "    %s\n", strings.Join(cells, "   "))
		}
	}
	if len(c.buttons) > 0 {
		fmt.Fprintln(c.out)
	}
}

// promptLine shows where to type, when a person is typing.
func (c *console) promptLine() {
	if !c.echo {
		fmt.Fprint(c.out, "> ")
	}
}

func (c *console) print(text string) {
	for _, l := range strings.Split(text, "\n") {
		fmt.Fprintf(c.out, "  %s\n", l)
	}
	fmt.Fprintln(c.out)
}

func isTerminal(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return false
	}
	info, err := f.Stat()
	return err == nil && info.Mode()&os.ModeCharDevice != 0
}
