package main

import (
	"context"
	"io"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"

	"github.com/aimabot/aimabot/bot"
	"github.com/aimabot/aimabot/flows"
)

var (
	tokenPattern  = regexp.MustCompile(`^[0-9]{1,20}:[A-Za-z0-9_-]{1,100}$`)
	secretPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,256}$`)
)

// minSecret is the shortest WEBHOOK_SECRET accepted: the secret is all that
// tells Telegram's calls from anyone else's, so it must not be guessable.
const minSecret = 16

// runServe serves applicants on Telegram until a signal ends ctx.
func runServe(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	fs := newFlags("serve")
	token := fs.String("token", getenv("TELEGRAM_BOT_TOKEN"), "bot token from @BotFather (env TELEGRAM_BOT_TOKEN)")
	apiURL := fs.String("api-url", envOr(getenv, "TELEGRAM_API_URL", "https://api.telegram.org"), "Bot API server (env TELEGRAM_API_URL)")
	data := fs.String("data", envOr(getenv, "AIMABOT_DATA", "./aimabot-data"), "embedded store directory when REDIS_URL is unset (env AIMABOT_DATA)")
	webhookURL := fs.String("webhook-url", getenv("WEBHOOK_URL"), "public HTTPS URL Telegram posts updates to; long polling when unset (env WEBHOOK_URL)")
	secret := fs.String("webhook-secret", getenv("WEBHOOK_SECRET"), "secret Telegram sends with each webhook call (env WEBHOOK_SECRET)")
	listen := fs.String("listen", envOr(getenv, "LISTEN_ADDR", defaultListen(getenv)), "HTTP listen address for /metrics, /healthz, /readyz and the webhook (env LISTEN_ADDR; default 127.0.0.1:8080 when polling, :8080 with a webhook)")
	replica := fs.String("replica", getenv("REPLICA_ID"), "this replica's name in leases; unique per replica, stable across its restarts (env REPLICA_ID; default the host name)")
	unlimited := fs.Bool("unlimited", false, "lift Telegram's send limits (only against a fake Bot API server, for load tests)")
	staffChat := fs.String("staff-chat", getenv("STAFF_CHAT_ID"), "the staff supergroup's id, with topics on; no personal help when unset (env STAFF_CHAT_ID)")
	staffUsers := fs.String("staff-users", getenv("STAFF_USER_IDS"), "comma-separated user ids of the staff; every member of the staff group when unset (env STAFF_USER_IDS)")
	staffLang := fs.String("staff-lang", getenv("STAFF_LANG"), "language of the staff group: en, pt or fr (env STAFF_LANG; default en)")
	officeHours := fs.String("office-hours", getenv("OFFICE_HOURS"), `the support team's office hours, in Lisbon, closed on Portuguese public holidays, e.g. "mon-fri 09:00-13:00 14:00-18:00"; always open when unset (env OFFICE_HOURS)`)
	firstTarget := fs.String("first-response", getenv("FIRST_RESPONSE_TARGET"), "the team's target for a case's first answer, in office hours (env FIRST_RESPONSE_TARGET; default 2h)")
	nextTarget := fs.String("next-response", getenv("NEXT_RESPONSE_TARGET"), "the team's target for each next answer, in office hours (env NEXT_RESPONSE_TARGET; default 8h)")
	autoClose := fs.String("auto-close", getenv("CASE_AUTO_CLOSE"), "close a case the applicant leaves this long unanswered after the team's last message; 0 never (env CASE_AUTO_CLOSE; default 72h)")
	packageMax := fs.String("package-max-mb", getenv("PACKAGE_MAX_MB"), "the largest PDF of the documents handed back for AIMA's form, in MB (env PACKAGE_MAX_MB; default 5)")
	env := withEnvFlags(fs, getenv, append(storeFlags(), envFlag{"redis-url", "REDIS_URL", "Redis URL; the embedded store when unset"}))
	deleteWebhook := fs.Bool("delete-webhook", false, "in polling mode, remove a webhook left set for the bot before polling (env DELETE_WEBHOOK, 1 or 0)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	getenv = env()
	if v := getenv("DELETE_WEBHOOK"); v != "" && !*deleteWebhook {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return usagef("DELETE_WEBHOOK: %q is not 1 or 0", v)
		}
		*deleteWebhook = on
	}
	if getenv("LISTEN_ADDR") == "" && !flagSet(fs, "listen") && *webhookURL != "" {
		*listen = ":8080" // a webhook given as a flag: Telegram must reach it
	}
	cfg := bot.Config{Build: buildInfo(), Token: strings.TrimSpace(*token), APIURL: *apiURL, WebhookURL: *webhookURL,
		WebhookSecret: *secret, ListenAddr: *listen, Unlimited: *unlimited, Owner: *replica, DeleteWebhook: *deleteWebhook}
	if err := checkServeConfig(cfg); err != nil {
		return err
	}
	var err error
	if cfg.PackageMaxBytes, err = packageLimit(*packageMax); err != nil {
		return err
	}
	if cfg.StaffChat, cfg.StaffUsers, cfg.StaffLang, err = staffConfig(*staffChat, *staffUsers, *staffLang); err != nil {
		return err
	}
	var opts []flows.Option
	if cfg.StaffChat != 0 {
		desk, err := deskConfig(*officeHours, *firstTarget, *nextTarget, *autoClose)
		if err != nil {
			return err
		}
		opts = append(opts, flows.WithStaff(cfg.StaffLang))
		opts = append(opts, desk...)
	}
	logger, err := newLogger(getenv, stderr)
	if err != nil {
		return err
	}
	st, flow, err := openParts(ctx, logger, getenv, *data, cfg.Token, opts...)
	if err != nil {
		return err
	}
	defer st.Close()
	b, err := bot.New(logger, cfg, st, flow)
	if err != nil {
		return err
	}
	logger.Info("aimabot: serving", "mode", map[bool]string{true: "webhook", false: "polling"}[cfg.WebhookURL != ""])
	return b.Run(ctx)
}

// checkServeConfig names the variable at fault in one line.
func checkServeConfig(cfg bot.Config) error {
	if cfg.Token == "" {
		return usagef("TELEGRAM_BOT_TOKEN is not set: create a bot with @BotFather and set its token")
	}
	if !tokenPattern.MatchString(cfg.Token) {
		return usagef("TELEGRAM_BOT_TOKEN does not look like a bot token (digits, a colon, then letters, digits, - or _)")
	}
	if cfg.Owner != "" && len(cfg.Owner) > 100 {
		return usagef("REPLICA_ID: at most 100 characters")
	}
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("TELEGRAM_API_URL: %q is not an http(s) URL", cfg.APIURL)
	}
	if cfg.Unlimited && !isLoopback(u.Hostname()) {
		return usagef("--unlimited lifts Telegram's send limits, for load tests only: TELEGRAM_API_URL must be a Bot API server on loopback")
	}
	if cfg.WebhookURL == "" {
		return nil
	}
	u, err = url.Parse(cfg.WebhookURL)
	if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
		return usagef("WEBHOOK_URL: %q must be an https:// URL (Telegram only calls HTTPS webhooks)", cfg.WebhookURL)
	}
	if cfg.WebhookSecret == "" {
		return usagef("WEBHOOK_SECRET is not set: webhook mode needs a secret (16-256 of A-Z a-z 0-9 _ -)")
	}
	if !secretPattern.MatchString(cfg.WebhookSecret) {
		return usagef("WEBHOOK_SECRET: only 16-256 of A-Z a-z 0-9 _ - are allowed")
	}
	if len(cfg.WebhookSecret) < minSecret {
		return usagef("WEBHOOK_SECRET: %d characters is too short to be unguessable; use at least %d (e.g. openssl rand -hex 32)",
			len(cfg.WebhookSecret), minSecret)
	}
	if _, _, err := net.SplitHostPort(cfg.ListenAddr); err != nil {
		return usagef("LISTEN_ADDR: %q is not host:port", cfg.ListenAddr)
	}
	return nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
