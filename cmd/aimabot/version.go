package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"time"

	"github.com/aimabot/aimabot/bot"
)

// Set with -ldflags "-X main.version=… -X main.commit=… -X main.buildTime=…"
// when the source has no version control to read (a container built from
// a tarball); a build from a git checkout or `go install …@version` needs
// none of them.
var (
	version   string
	commit    string
	buildTime string
)

// buildInfo is what this binary knows of its own build: the module
// version, the commit and its time, from the Go toolchain's build
// information, else from the link-time variables above.
func buildInfo() bot.BuildInfo {
	b := bot.BuildInfo{Version: "(devel)", Commit: "unknown", Go: "unknown"}
	if info, ok := debug.ReadBuildInfo(); ok {
		b.Go = info.GoVersion
		if v := info.Main.Version; v != "" {
			b.Version = v
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value
			case "vcs.time":
				b.Time = s.Value
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	if c := pseudoCommit(b.Version); b.Commit == "unknown" && c != "" {
		b.Commit = c
	}
	if version != "" {
		b.Version = version
	}
	if commit != "" {
		b.Commit = commit
	}
	if buildTime != "" {
		b.Time = buildTime
	}
	return b
}

func runVersion(args []string, stdout io.Writer) error {
	fs := newFlags("version")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	b := buildInfo()
	commit := b.Commit
	if b.Modified {
		commit += " (with uncommitted changes)"
	}
	built := b.Time
	if built == "" {
		built = "unknown"
	}
	fmt.Fprintf(stdout, "aimabot %s\ncommit %s\nbuilt %s\n%s\n", b.Version, commit, built, b.Go)
	return nil
}

// runHealthcheck asks this host's listener whether the bot is ready, for a
// container's HEALTHCHECK (distroless images have no curl): exit 0 when
// /readyz answers 200, 1 otherwise.
func runHealthcheck(ctx context.Context, args []string, getenv func(string) string) error {
	fs := newFlags("healthcheck")
	addr := fs.String("listen", envOr(getenv, "LISTEN_ADDR", defaultListen(getenv)), "the bot's listen address (env LISTEN_ADDR)")
	timeout := fs.Duration("timeout", 4*time.Second, "how long to wait for the answer")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	host, port, err := net.SplitHostPort(*addr)
	if err != nil {
		return usagef("healthcheck: --listen: %q is not host:port", *addr)
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+net.JoinHostPort(host, port)+"/readyz", nil)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: not ready: %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	return nil
}

// pseudoCommit is the commit a pseudo-version names (go install …@<commit>
// or @latest between tags stamps v0.0.0-<time>-<12 hex digits>), or "".
func pseudoCommit(v string) string {
	v, _, _ = strings.Cut(v, "+")
	i := strings.LastIndexByte(v, '-')
	if i < 0 || len(v)-i-1 != 12 {
		return ""
	}
	c := v[i+1:]
	if strings.Trim(c, "0123456789abcdef") != "" {
		return ""
	}
	return c
}
