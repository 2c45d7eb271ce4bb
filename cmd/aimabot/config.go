package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"strings"
	"time"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// newLogger writes structured logs to stderr: LOG_FORMAT=json|text,
// LOG_LEVEL=debug|info|warn|error.
func newLogger(getenv func(string) string, stderr io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(envOr(getenv, "LOG_LEVEL", "warn"))); err != nil {
		return nil, usagef("LOG_LEVEL: %q is not one of debug, info, warn, error", getenv("LOG_LEVEL"))
	}
	opts := &slog.HandlerOptions{Level: level}
	switch f := envOr(getenv, "LOG_FORMAT", "text"); f {
	case "text":
		return slog.New(slog.NewTextHandler(stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(stderr, opts)), nil
	default:
		return nil, usagef("LOG_FORMAT: %q is not text or json", f)
	}
}

// openStore opens Redis when REDIS_URL is set, otherwise the embedded store
// in dir. SESSION_TTL sets how long idle conversations are kept.
func openStore(ctx context.Context, logger *slog.Logger, getenv func(string) string, dir string) (store.Store, error) {
	ttl := store.DefaultTTL
	if v := getenv("SESSION_TTL"); v != "" {
		d, err := parseDuration(v)
		if err != nil || d <= 0 {
			return nil, usagef("SESSION_TTL: %q is not a positive duration (e.g. 720h or 30d)", v)
		}
		ttl = d
	}
	if url := getenv("REDIS_URL"); url != "" {
		if u, err := neturl.Parse(url); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return nil, usagef("REDIS_URL: not a redis:// or rediss:// URL")
		}
		st, err := store.OpenRedis(logger, url, store.RedisOptions{Prefix: getenv("REDIS_PREFIX"), TTL: ttl})
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		return st, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return store.OpenBolt(logger, dir, store.BoltOptions{TTL: ttl})
}

// parseDuration accepts Go durations and whole days ("30d").
func parseDuration(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		var n int
		if _, err := fmt.Sscanf(days, "%d", &n); err != nil || fmt.Sprint(n) != days {
			return 0, fmt.Errorf("bad days %q", s)
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	return time.ParseDuration(s)
}

// openParts opens the store and loads the conversation: what every command
// that chats needs. The caller closes the store.
func openParts(ctx context.Context, logger *slog.Logger, getenv func(string) string, dir string) (st store.Store, flow *flows.Flow, err error) {
	st, err = openStore(ctx, logger, getenv, dir)
	if err != nil {
		return nil, nil, err
	}
	flow, err = flows.New()
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, flow, nil
}
