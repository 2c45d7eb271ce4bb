package main

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/rules"
	"github.com/aimabot/aimabot/store"
)

// Fuzz targets for what is typed into the console. Run one longer with,
// for example:
//
//	go test ./cmd/aimabot -run '^$' -fuzz '^FuzzConsoleInput$' -fuzztime 5m

// consoleFuzz is a console over a store in a temporary directory, with a
// few files to send: the parts are built once per fuzzing process.
type consoleFuzz struct {
	c     *console
	st    store.Store
	files string // directory of the files /file may name
}

func newConsoleFuzz(f *testing.F) *consoleFuzz {
	f.Helper()
	dir := f.TempDir()
	// bbolt syncs every write: in memory (where the system has it) a
	// fuzzing run is not bound by the disk.
	if shm, err := os.MkdirTemp("/dev/shm", "aimabot-fuzz-"); err == nil {
		dir = shm
		f.Cleanup(func() { os.RemoveAll(shm) })
	}
	st, err := store.OpenBolt(nil, filepath.Join(dir, "data"), store.BoltOptions{SweepInterval: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	flow, err := flows.New()
	if err != nil {
		f.Fatal(err)
	}
	files := filepath.Join(dir, "files")
	for name, data := range map[string][]byte{
		"passport.jpg":      []byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"),
		"police report.pdf": []byte("%PDF-1.4\n%%EOF\n"),
		"scan.png":          []byte("\x89PNG\r\n\x1A\n\x00\x00\x00\rIHDR"),
		"report.pdf":        []byte("PK\x03\x04 not a pdf"),
		"empty.pdf":         nil,
	} {
		if err := os.MkdirAll(files, 0o755); err != nil {
			f.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(files, name), data, 0o644); err != nil {
			f.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(files, "folder"), 0o755); err != nil {
		f.Fatal(err)
	}
	at := time.Date(2026, 11, 25, 12, 0, 0, 0, rules.Lisbon())
	c := newConsole(slog.New(slog.DiscardHandler), st, flow, "", func() time.Time { return at })
	c.echo, c.packageDir = true, filepath.Join(dir, "package")
	return &consoleFuzz{c: c, st: st, files: files}
}

// safePath says whether the fuzzer may have /file open path: the files
// above, or a file of this package's directory, never a device, a pipe or
// anything of the user's that could block a read.
func (z *consoleFuzz) safePath(path string) bool {
	if filepath.IsAbs(path) {
		rel, err := filepath.Rel(z.files, path)
		return err == nil && filepath.IsLocal(rel)
	}
	return filepath.IsLocal(path) && !strings.HasPrefix(path, "~")
}

// fileArg is the path of a "/file PATH" line, as the console reads it.
func fileArg(line string) (path string, isFile bool) {
	p, ok := strings.CutPrefix(line, "/file")
	if !ok || (p != "" && p[0] != ' ') {
		return "", false
	}
	return strings.TrimSpace(p), true
}

var commandName = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// FuzzConsoleInput reads an arbitrary typed line, with the situation
// question's four buttons shown. A number of a shown button presses it;
// "/file PATH" sends the file, checked by its content, or says why not and
// sends nothing; anything else is read exactly as the bot reads a message
// (flows.ParseText), with a lower-case [a-z0-9_] command name of at most 32
// bytes. Nothing reads a file outside the line's path.
func FuzzConsoleInput(f *testing.F) {
	z := newConsoleFuzz(f)
	s, _, err := z.c.flow.Step(flows.Session{}, flows.ParseText("/start", "en"), z.c.clock())
	if err == nil {
		s, _, err = z.c.flow.Step(s, flows.Input{Kind: flows.Button, Data: "0:lang:en"}, z.c.clock())
	}
	if err != nil {
		f.Fatal(err)
	}
	var shown []flows.ButtonSpec
	for _, r := range z.c.flow.Prompt(s, z.c.clock()) {
		for _, row := range r.Buttons {
			shown = append(shown, row...)
		}
	}
	if len(shown) != 4 {
		f.Fatalf("the situation question shows %d buttons; want 4", len(shown))
	}
	for _, line := range []string{
		"1", "4", "5", "0", "-1", "+2", "01", "99999999999999999999", "1.0", " 2 ",
		"/file", "/file ", "/file " + filepath.Join(z.files, "passport.jpg"), "/file " + filepath.Join(z.files, "police report.pdf"),
		"/file " + filepath.Join(z.files, "report.pdf"), "/file " + filepath.Join(z.files, "empty.pdf"),
		"/file " + filepath.Join(z.files, "folder"), "/file " + filepath.Join(z.files, "missing.pdf"),
		"/file fuzz_test.go", "/filex", "/files now", "/file\tx", "/FILE x",
		"/start", "/Start@AimaBot", "/status", "/quit", "hello", "I lost it", "26/07/2027", "\xff\xfe",
	} {
		f.Add(line)
	}
	f.Fuzz(func(t *testing.T, line string) {
		line = strings.TrimSpace(line) // as the console reads lines
		if line == "" {
			return
		}
		path, isFile := fileArg(line)
		if isFile && path != "" && !z.safePath(path) {
			return
		}
		var out bytes.Buffer
		c := *z.c
		c.out, c.buttons = &out, shown
		in, ok := c.input(line)
		if n, err := strconv.Atoi(line); err == nil && n >= 1 && n <= len(shown) {
			if !ok || in.Kind != flows.Button || in.Data != shown[n-1].Data {
				t.Fatalf("input(%q) = %+v, %t; want a press of button %d (%q)", line, in, ok, n, shown[n-1].Data)
			}
			return
		}
		if isFile {
			if !ok {
				if out.Len() == 0 {
					t.Fatalf("input(%q) sent nothing and said nothing", line)
				}
				return
			}
			info, err := os.Stat(path)
			if err != nil || info.IsDir() || len(in.Files) != 1 || in.Kind != flows.Files {
				t.Fatalf("input(%q) = %+v for a path that is not a readable file (%v)", line, in, err)
			}
			got := in.Files[0]
			head, _ := os.ReadFile(path)
			want, _ := rules.SniffFileType(head[:min(len(head), 512)])
			if !filepath.IsAbs(got.Ref) || got.Size != info.Size() || got.Type != want {
				t.Fatalf("input(%q) file = %+v; want the absolute path, size %d, type %q", line, got, info.Size(), want)
			}
			return
		}
		want := flows.ParseText(line, c.lang)
		if !ok || in.Kind != want.Kind || in.Text != want.Text || in.Command != want.Command || in.Data != "" || len(in.Files) != 0 {
			t.Fatalf("input(%q) = %+v, %t; want ParseText's %+v", line, in, ok, want)
		}
		if in.Kind == flows.Command && !commandName.MatchString(in.Command) {
			t.Fatalf("input(%q) command %q; want [a-z0-9_]{1,32}", line, in.Command)
		}
	})
}

// FuzzConsole runs the console on an arbitrary script of up to 8 lines, from
// a new conversation each time. It never fails nor panics, always answers
// (the greeting at least), echoes each line it reads, and leaves a stored
// conversation that reads back.
func FuzzConsole(f *testing.F) {
	z := newConsoleFuzz(f)
	for _, script := range []string{
		"1\n1\nI lost it\n26/07/2028\nContinue",
		"2\n2\n1\n26 de julho de 2027",
		"/status\n/help\n/back\n/back",
		"/quit\n1",
		"/exit",
		"\n\n\n",
		"1\n3\n/file " + filepath.Join(z.files, "passport.jpg") + "\n/file " + filepath.Join(z.files, "folder"),
		"/forget\n1\n/mydata",
		"/forget\n1",
		"/language\n3\n/cancel\n1",
		"\xff\xfe\r\n\x00",
		strings.Repeat("x", 10000),
	} {
		f.Add(script)
	}
	f.Fuzz(func(t *testing.T, script string) {
		if len(script) > 64<<10 {
			return // the console reads lines of up to 1 MB; keep each run short
		}
		lines := strings.Split(script, "\n")
		if len(lines) > 8 {
			lines = lines[:8]
		}
		for _, l := range lines {
			if path, isFile := fileArg(strings.TrimSpace(l)); isFile && path != "" && !z.safePath(path) {
				return
			}
			if in := flows.ParseText(strings.TrimSpace(l), "en"); in.Kind == flows.Command && in.Command == "package" {
				return // it writes where it is told: not for the fuzzer to choose
			}
		}
		ctx := context.Background()
		if err := z.st.Delete(ctx, consoleChat); err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		c := *z.c
		c.out, c.buttons = &out, nil
		if err := c.run(ctx, strings.NewReader(strings.Join(lines, "\n"))); err != nil {
			t.Fatalf("console on %q: %v", lines, err)
		}
		if out.Len() == 0 {
			t.Fatalf("console on %q said nothing", lines)
		}
		for _, l := range lines {
			l = strings.TrimSpace(l)
			if l == "/quit" || l == "/exit" {
				break
			}
			if l != "" && !strings.Contains(out.String(), "> "+l+"\n") {
				t.Fatalf("console on %q did not echo %q:\n%s", lines, l, out.String())
			}
		}
		cur, ok, err := z.st.Get(ctx, consoleChat)
		if err == nil && !ok && erased(c.flow.Catalog(), out.String()) {
			return // the script erased everything: nothing stored is right
		}
		if err != nil || !ok {
			t.Fatalf("console on %q stored nothing (%v)", lines, err)
		}
		if _, err := flows.Unmarshal(cur); err != nil {
			t.Fatalf("console on %q stored an unreadable session: %v", lines, err)
		}
	})
}

// erased says the console's output confirms an erasure (/forget), in any
// language: with nothing stored after it, the script ended with it or with
// lines that start nothing (/quit, empty lines).
func erased(cat *flows.Catalog, out string) bool {
	for _, lang := range flows.Languages() {
		done, _, _ := strings.Cut(cat.Text(lang, "forget_done", nil), "\n")
		if strings.Contains(out, done) {
			return true
		}
	}
	return false
}
