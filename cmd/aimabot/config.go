package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aimabot/aimabot/bot"
	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/flows/officehours"
	"github.com/aimabot/aimabot/rules"
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

// backstop is how much longer than SESSION_TTL the store keeps an idle
// conversation's keys by itself: the waker erases it at SESSION_TTL
// (deleting its staff topic too); the store's own expiry only catches what
// the waker missed while no replica ran.
const backstop = 7 * 24 * time.Hour

// retention reads SESSION_TTL, CASE_TTL and REMINDER_AFTER.
func retention(getenv func(string) string) (flows.Retention, error) {
	r := flows.DefaultRetention()
	for _, v := range []struct {
		name string
		dst  *time.Duration
		min  time.Duration
	}{
		{"SESSION_TTL", &r.Session, 4 * 24 * time.Hour},
		{"CASE_TTL", &r.Case, time.Hour},
		{"REMINDER_AFTER", &r.Reminder, time.Minute},
	} {
		s := getenv(v.name)
		if s == "" {
			continue
		}
		d, err := parseDuration(s)
		if err != nil || d <= 0 {
			return r, usagef("%s: %q is not a positive duration (e.g. 720h or 30d)", v.name, s)
		}
		if d < v.min {
			return r, usagef("%s: %q is shorter than the least that makes sense (%v)", v.name, s, v.min)
		}
		*v.dst = d
	}
	return r, nil
}

// openStore opens Redis when REDIS_URL is set, otherwise the embedded store
// in dir. Conversations are erased SESSION_TTL after their last message by
// the waker; the store's own expiry is a backstop a week later. secret keys
// the hash naming what an erasure leaves (store.ChatHash): the bot token,
// so that the names are the logs' and the same on every replica.
func openStore(ctx context.Context, logger *slog.Logger, getenv func(string) string, dir, secret string) (store.Store, error) {
	r, err := retention(getenv)
	if err != nil {
		return nil, err
	}
	ttl := r.Session + backstop
	if url := getenv("REDIS_URL"); url != "" {
		if u, err := neturl.Parse(url); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
			return nil, usagef("REDIS_URL: not a redis:// or rediss:// URL")
		}
		// go-redis writes its own lines (a pool that cannot dial) to
		// stderr in a format of its own; it has one logger for the whole
		// process, no per-client option, so it is set here, once.
		redis.SetLogger(redisLog{logger})
		st, err := store.OpenRedis(logger, url, store.RedisOptions{Prefix: getenv("REDIS_PREFIX"), TTL: ttl, HashSecret: secret})
		if err != nil {
			return nil, fmt.Errorf("REDIS_URL: %w", err)
		}
		return st, nil
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	return store.OpenBolt(logger, dir, store.BoltOptions{TTL: ttl, HashSecret: secret})
}

// staffConfig reads the staff group's settings: STAFF_CHAT_ID (a group's
// negative id), STAFF_USER_IDS (comma-separated user ids) and STAFF_LANG.
func staffConfig(chat, users, lang string) (id int64, staff []int64, l string, err error) {
	if lang == "" {
		lang = "en"
	}
	if !slices.Contains(flows.Languages(), lang) {
		return 0, nil, "", usagef("STAFF_LANG: %q is not one of %s", lang, strings.Join(flows.Languages(), ", "))
	}
	if chat == "" {
		if users != "" {
			return 0, nil, "", usagef("STAFF_USER_IDS is set but STAFF_CHAT_ID is not")
		}
		return 0, nil, lang, nil
	}
	id, perr := strconv.ParseInt(strings.TrimSpace(chat), 10, 64)
	if perr != nil || id >= 0 {
		return 0, nil, "", usagef("STAFF_CHAT_ID: %q is not a group's id (a negative number such as -1001234567890)", chat)
	}
	for _, f := range strings.FieldsFunc(users, func(r rune) bool { return r == ',' || r == ' ' }) {
		u, perr := strconv.ParseInt(f, 10, 64)
		if perr != nil || u <= 0 {
			return 0, nil, "", usagef("STAFF_USER_IDS: %q is not a user id (a positive number)", f)
		}
		staff = append(staff, u)
	}
	return id, staff, lang, nil
}

// deskConfig reads the support team's office hours (OFFICE_HOURS), response
// targets (FIRST_RESPONSE_TARGET, NEXT_RESPONSE_TARGET) and how long an
// unanswered case stays open (CASE_AUTO_CLOSE).
func deskConfig(hours, first, next, autoClose string) ([]flows.Option, error) {
	cal, err := officehours.Parse(hours, rules.Lisbon())
	if err != nil {
		return nil, usagef("OFFICE_HOURS: %v", err)
	}
	t := flows.DefaultTargets()
	for _, v := range []struct {
		name, value string
		to          *time.Duration
	}{{"FIRST_RESPONSE_TARGET", first, &t.First}, {"NEXT_RESPONSE_TARGET", next, &t.Next}} {
		if strings.TrimSpace(v.value) == "" {
			continue
		}
		d, err := parseDuration(strings.TrimSpace(v.value))
		if err != nil || d < time.Minute {
			return nil, usagef("%s: %q is not a duration of at least a minute (like 2h or 1d)", v.name, v.value)
		}
		*v.to = d
	}
	opts := []flows.Option{flows.WithOfficeHours(cal, t)}
	if v := strings.TrimSpace(autoClose); v != "" {
		d, err := parseDuration(v)
		if err != nil || d < 0 || (d > 0 && d < time.Hour) {
			return nil, usagef("CASE_AUTO_CLOSE: %q is not 0 or a duration of at least an hour (like 72h or 3d)", autoClose)
		}
		opts = append(opts, flows.WithAutoClose(d))
	}
	return opts, nil
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

// openParts opens the store (secret as for openStore) and loads the
// conversation: what every command that chats needs. The caller closes the
// store.
func openParts(ctx context.Context, logger *slog.Logger, getenv func(string) string, dir, secret string,
	opts ...flows.Option) (st store.Store, flow *flows.Flow, err error) {
	st, err = openStore(ctx, logger, getenv, dir, secret)
	if err != nil {
		return nil, nil, err
	}
	r, err := retention(getenv)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	flow, err = flows.New(append(opts, flows.WithRetention(r))...)
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return st, flow, nil
}

// redisLog routes go-redis's log lines through the service's logger, so
// that they follow LOG_FORMAT like every other line. They report trouble
// (a connection that failed), hence Warn.
type redisLog struct{ logger *slog.Logger }

func (l redisLog) Printf(ctx context.Context, format string, v ...any) {
	l.logger.WarnContext(ctx, "store: redis client", "detail", strings.TrimSpace(fmt.Sprintf(format, v...)))
}

// packageLimit reads PACKAGE_MAX_MB: the largest PDF of a package, in MB
// (decimals allowed); "" is the default.
func packageLimit(v string) (int64, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return bot.DefaultPackageMaxBytes, nil
	}
	mb, err := strconv.ParseFloat(v, 64)
	if err != nil || mb < 0.5 || mb > 50 {
		return 0, usagef("PACKAGE_MAX_MB: %q is not a size in MB between 0.5 and 50 (Telegram sends bots' files up to 50 MB)", v)
	}
	return int64(mb * (1 << 20)), nil
}

// defaultListen is where the listener (/metrics, /healthz, /readyz, and
// the webhook in webhook mode) listens unless LISTEN_ADDR says: every
// interface in webhook mode, since Telegram must reach it; loopback in
// polling mode, where only the host's own tools need it.
func defaultListen(getenv func(string) string) string {
	if getenv("WEBHOOK_URL") != "" {
		return ":8080"
	}
	return "127.0.0.1:8080"
}
