package bot

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
)

// Config is what the bot needs to run; cmd/aimabot fills it from flags and
// the environment.
type Config struct {
	Token         string
	APIURL        string // Bot API server; default Telegram's
	WebhookURL    string // webhook mode when set, else long polling
	WebhookSecret string
	ListenAddr    string // HTTP listener for the webhook
	// ListenReadTimeout bounds reading a request on ListenAddr, headers and
	// body; a connection that sends nothing, or too slowly, is closed then.
	// Default 10 s.
	ListenReadTimeout time.Duration
	// ListenMaxConns bounds the connections ListenAddr holds at once;
	// default 256.
	ListenMaxConns int
	// Owner names this replica in leases. A replica restarted under the same
	// name takes its leases back at once instead of waiting for them to
	// expire; two replicas must not share one. Default: the host name.
	Owner string
	// Unlimited lifts Telegram's send limits, for load tests against a fake
	// server only.
	Unlimited bool
	// PollTimeout is the long-poll wait; default 25 s.
	PollTimeout time.Duration
	// AlbumWait is how long after an album's last photo the album is
	// answered; default 800 ms.
	AlbumWait time.Duration
	// SendLease is how long a chat's send lease lasts unless renewed: how
	// long the chats of a replica that died wait for another; default 30 s.
	SendLease time.Duration
	// ShutdownTimeout bounds a graceful stop; default 10 s.
	ShutdownTimeout time.Duration
	// StaffChat is the staff supergroup (with topics) where cases go; 0
	// means there is no support team. The flow must be built WithStaff
	// exactly when it is set.
	StaffChat int64
	// StaffUsers, when set, are the only members of the staff group whose
	// messages and buttons count.
	StaffUsers []int64
	// StaffLang is the language the staff group is written to; default en.
	StaffLang string
	// QueueEvery is how often the queue of waiting cases is refreshed, for
	// the waiting times; default 1 min.
	QueueEvery time.Duration
	// WakeEvery is how often the store is asked for conversations due a
	// reminder, a notice, an erasure, or the answer to an album whose
	// replica stopped before answering it; default 5 s.
	WakeEvery time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Build names the running build, for /metrics.
	Build BuildInfo
	// PackageMaxBytes is the largest PDF of a package (one document's
	// files, made to be uploaded to AIMA's form); default 5 MB.
	PackageMaxBytes int64
	// DeleteWebhook, in polling mode, removes a webhook left set for the
	// bot before polling (Telegram refuses getUpdates while one is set).
	DeleteWebhook bool
}

// BuildInfo names the running build: /metrics reports it as
// aimabot_build_info.
type BuildInfo struct {
	Version  string // the module version, "(devel)" for a local build
	Commit   string // the VCS revision
	Time     string // the revision's time, RFC 3339
	Go       string // the Go version that built it
	Modified bool   // built with uncommitted changes
}

// ErrTokenRefused is Telegram's 401: the token is wrong or was revoked.
// Nothing works until the token is replaced, so Run stops with it.
var ErrTokenRefused = errors.New("TELEGRAM_BOT_TOKEN was refused by Telegram (401 Unauthorized): it is wrong or was revoked; get the current one from @BotFather")

// ErrWebhookSet is Telegram's 409 to getUpdates while a webhook is set:
// polling cannot start until the webhook is removed.
var ErrWebhookSet = errors.New("a webhook is set for this bot, so Telegram refuses to be polled (409 Conflict): " +
	"start with --delete-webhook (or DELETE_WEBHOOK=1) to remove it, or set WEBHOOK_URL to serve in webhook mode")

const (
	defaultAPIURL   = "https://api.telegram.org"
	leaseTTL        = 30 * time.Second
	apiTimeout      = 15 * time.Second
	downloadTimeout = 20 * time.Second
	// fetchTimeout bounds fetching a whole file (up to 20 MB) for a package.
	fetchTimeout = 60 * time.Second
)

// Bot serves applicants on Telegram. It builds the components and runs
// them; each holds only what it uses (see the package's doc).
type Bot struct {
	logger  *slog.Logger
	cfg     Config
	st      store.Store
	flow    *flows.Flow
	tg      *telegram
	metrics *metrics
	down    *outage
	commit  *committer
	pipe    *pipeline
	send    *sender
	desk    *desk // nil without a staff group
	albums  *albums
	waker   *waker
	intake  *intake
	// readiness
	listener atomic.Pointer[limitListener] // ListenAddr's, once listening
	// procCtx outlives the intake's context, so an update being applied
	// when a stop is asked for is finished; it ends after ShutdownTimeout.
	procCtx    context.Context
	procCancel context.CancelFunc
}

// New builds the bot. It makes no network call.
func New(logger *slog.Logger, cfg Config, st store.Store, flow *flows.Flow) (*Bot, error) {
	if cfg.Token == "" {
		return nil, errors.New("bot: no token")
	}
	cfg = withDefaults(cfg)
	if (cfg.StaffChat != 0) != flow.Staff() {
		return nil, errors.New("bot: the conversation and the configuration disagree on whether there is a staff group")
	}
	if cfg.StaffChat > 0 {
		return nil, fmt.Errorf("bot: staff chat %d is a private chat; a group's id is negative", cfg.StaffChat)
	}
	b := &Bot{logger: logger, cfg: cfg, st: st, flow: flow, down: newOutage(logger, cfg.Now)}
	b.metrics = newMetrics(st, cfg.Build)
	tgc, err := newTelegram(logger, cfg, b.metrics.apiErrors, b.metrics.telegramUp)
	if err != nil {
		return nil, err
	}
	b.tg = tgc
	b.procCtx, b.procCancel = context.WithCancel(context.Background())
	b.wire()
	return b, nil
}

// wire builds the components, each from what it needs: the pacer and the
// desk first, then the committer and the sender, then what commits through
// them (the pipeline: intake, albums, waker).
func (b *Bot) wire() {
	cfg := b.cfg
	sendCtx, sendCancel := context.WithCancel(context.Background())
	pace := newPacer(sendCtx, cfg.Unlimited)
	if cfg.StaffChat != 0 {
		b.desk = &desk{logger: b.logger, key: cfg.StaffChat, st: b.st, flow: b.flow, tg: b.tg, pace: pace,
			lang: cfg.StaffLang, owner: cfg.Owner, queueEvery: cfg.QueueEvery, now: cfg.Now,
			topics: map[int]int64{}, kick: make(chan struct{}, 1)}
	}
	b.commit = &committer{logger: b.logger, st: b.st, flow: b.flow, owner: cfg.Owner, lease: cfg.SendLease,
		now: cfg.Now, down: b.down, events: b.metrics.countEvents, token: cfg.Token, decoded: newDecodedSessions(4096)}
	b.send = &sender{logger: b.logger, st: b.st, owner: cfg.Owner, lease: cfg.SendLease, now: cfg.Now, down: b.down,
		pace: pace, tg: b.tg, commit: b.commit, metrics: b.metrics, procCtx: b.procCtx, pack: newPacker(b.logger, cfg.PackageMaxBytes),
		active: map[int64]bool{}, again: map[int64]bool{}, gone: map[int64]bool{}, claims: map[int64]bool{}, ctx: sendCtx, cancel: sendCancel}
	if b.desk != nil {
		b.send.staff = b.desk
	}
	b.pipe = &pipeline{commit: b.commit, send: b.send}
	b.albums = &albums{logger: b.logger, pipe: b.pipe, wait: cfg.AlbumWait, procCtx: b.procCtx, timers: map[int64]*time.Timer{}}
	b.waker = &waker{st: b.st, pipe: b.pipe, flow: b.flow, now: cfg.Now, every: cfg.WakeEvery, down: b.down, procCtx: b.procCtx}
	b.intake = &intake{logger: b.logger, cfg: cfg, flow: b.flow, tg: b.tg, desk: b.desk, pipe: b.pipe, albums: b.albums,
		metrics: b.metrics, leases: b.st, down: b.down, procCtx: b.procCtx}
	b.metrics.reg.MustRegister(&stateCollector{st: b.st, desk: b.desk, now: cfg.Now})
	if b.desk != nil {
		b.metrics.reg.MustRegister(&deskCollector{desk: b.desk})
	}
}

// withDefaults fills in what the configuration leaves unset.
func withDefaults(cfg Config) Config {
	if cfg.APIURL == "" {
		cfg.APIURL = defaultAPIURL
	}
	cfg.APIURL = strings.TrimRight(cfg.APIURL, "/")
	if cfg.Owner == "" {
		cfg.Owner, _ = os.Hostname()
	}
	if cfg.Owner == "" {
		var b [6]byte
		_, _ = rand.Read(b[:])
		cfg.Owner = hex.EncodeToString(b[:])
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&cfg.PollTimeout, 25*time.Second)
	def(&cfg.AlbumWait, 800*time.Millisecond)
	def(&cfg.SendLease, leaseTTL)
	def(&cfg.ShutdownTimeout, 10*time.Second)
	def(&cfg.QueueEvery, time.Minute)
	def(&cfg.WakeEvery, 5*time.Second)
	def(&cfg.ListenReadTimeout, 10*time.Second)
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StaffLang == "" {
		cfg.StaffLang = "en"
	}
	if cfg.ListenMaxConns <= 0 {
		cfg.ListenMaxConns = 256
	}
	return cfg
}

// Run serves until ctx ends, then stops intake, finishes the updates in
// flight, and returns within ShutdownTimeout. Undelivered replies stay in
// the outbox for the next start (or another replica).
func (b *Bot) Run(ctx context.Context) error {
	if err := b.checkToken(ctx); err != nil {
		b.procCancel()
		return err
	}
	// Intake may end by itself (polling refused): the rest stops with it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.setCommands(ctx)
	b.setDescriptions(ctx)
	b.send.start(ctx)
	b.waker.start(ctx)
	if b.desk != nil {
		b.desk.start(ctx)
	}
	var err error
	if b.cfg.WebhookURL != "" {
		err = b.serveWebhook(ctx)
	} else {
		var stopOps func()
		if stopOps, err = b.serveOps(); err == nil {
			err = b.intake.poll(ctx)
			stopOps()
		}
	}
	cancel()
	b.stop()
	return err
}

// Handle applies one update: it turns it into the conversation's input,
// runs the conversation, and commits the new session with the replies in the
// chat's outbox, in one atomic step that skips an update already applied.
// It returns only after that commit (or with an error, and then nothing was
// committed, so the update can be delivered again).
func (b *Bot) Handle(ctx context.Context, upd *models.Update) error { return b.intake.handle(ctx, upd) }

// WebhookHandler answers Telegram's webhook calls (see Run): 401 for a
// wrong secret, 200 only after the update is committed, 500 when it could
// not be, so that Telegram delivers it again.
func (b *Bot) WebhookHandler() http.Handler { return b.intake.webhook() }

// OpsHandler serves /metrics, /healthz and /readyz; Run serves it on
// ListenAddr in both modes.
func (b *Bot) OpsHandler() http.Handler {
	mux := http.NewServeMux()
	b.opsHandler(mux)
	return mux
}

// serveOps serves the operator's endpoints on ListenAddr in polling mode
// (in webhook mode they share the webhook's listener); nothing when
// ListenAddr is empty.
func (b *Bot) serveOps() (stop func(), err error) {
	if b.cfg.ListenAddr == "" {
		return func() {}, nil
	}
	ln, err := b.listen()
	if err != nil {
		return nil, fmt.Errorf("bot: listen on %s: %w", b.cfg.ListenAddr, err)
	}
	b.listener.Store(ln)
	srv := b.httpServer(b.OpsHandler())
	go func() { _ = srv.Serve(ln) }()
	b.logger.Info("bot: metrics and health", "listen", ln.Addr().String())
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}

// outage logs a store outage once when it starts and once when it ends,
// not once per update. Every store call reports to it (note), with the
// time it started: the outage starts at the start of the first call that
// failed (or at the end of the last one that succeeded, if later; a call
// can take seconds to fail while the client retries), and ends when a call
// succeeds again; the length logged is between the two.
type outage struct {
	logger *slog.Logger
	now    func() time.Time
	mu     sync.Mutex
	since  time.Time // when the outage started; zero when there is none
	lastOK time.Time // when the last successful call ended
	// back is signalled when an outage ends, so that what waited for the
	// store (replies whose delivery could not start) goes out at once
	// rather than at the next periodic look.
	back chan struct{}
}

func newOutage(logger *slog.Logger, now func() time.Time) *outage {
	return &outage{logger: logger, now: now, back: make(chan struct{}, 1)}
}

// ended is signalled when an outage ends.
func (o *outage) ended() <-chan struct{} { return o.back }

// note records the outcome of a store call that started at start.
func (o *outage) note(start time.Time, err error) {
	if err == nil {
		o.ok()
		return
	}
	o.failed(start, err)
}

// failed notes a failure of a store call that started at start.
func (o *outage) failed(start time.Time, err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.since.IsZero() {
		return
	}
	o.since = start
	if o.lastOK.After(start) {
		o.since = o.lastOK
	}
	o.logger.Error("bot: the store is unreachable; updates stay unconfirmed with Telegram and replies in the outbox until it is back",
		"since", o.since.UTC().Format(time.RFC3339Nano), "err", err)
}

// ok notes that a store call succeeded.
func (o *outage) ok() {
	o.mu.Lock()
	defer o.mu.Unlock()
	now := o.now()
	o.lastOK = now
	if o.since.IsZero() {
		return
	}
	o.logger.Warn("bot: the store is reachable again; catching up", "outage", now.Sub(o.since).Round(time.Millisecond).String())
	o.since = time.Time{}
	select {
	case o.back <- struct{}{}:
	default: // one signal waiting is enough
	}
}

// storeError marks an error of the store, as opposed to one of Telegram's
// (a download that failed), for the outage log.
type storeError struct{ err error }

func (e storeError) Error() string { return e.err.Error() }
func (e storeError) Unwrap() error { return e.err }

// stop finishes in-flight work within the shutdown timeout.
func (b *Bot) stop() {
	done := make(chan struct{})
	go func() {
		b.albums.stop()
		b.waker.wait()
		b.send.stop()
		if b.desk != nil {
			b.desk.wait()
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(b.cfg.ShutdownTimeout):
		b.logger.Warn("bot: shutdown timed out; undelivered replies stay in the outbox")
	}
	b.procCancel()
}

// checkToken asks Telegram who the bot is, so that a refused token stops the
// start with one clear line instead of failing every call after it. Any
// other failure (Telegram unreachable) is left to the retries that follow.
func (b *Bot) checkToken(ctx context.Context) error {
	_, err := b.tg.getMe(ctx)
	if errors.Is(err, tg.ErrorUnauthorized) {
		return ErrTokenRefused
	}
	if err != nil && ctx.Err() == nil {
		b.logger.Warn("bot: getMe failed; starting anyway", "err", err)
	}
	return nil
}

// setCommands publishes the command menu in each language. A failure is
// logged, not fatal: the commands work without the menu.
func (b *Bot) setCommands(ctx context.Context) {
	cat := b.flow.Catalog()
	for _, lang := range flows.Languages() {
		var cmds []models.BotCommand
		for _, c := range []string{"start", "back", "status", "faq", "language", "cancel", "human", "package", "reminders", "privacy", "mydata", "forget", "help"} {
			if c == "human" && !b.flow.Staff() {
				continue // personal help is not available: no menu entry for it
			}
			cmds = append(cmds, models.BotCommand{Command: c, Description: cat.Text(lang, "cmd_"+c, nil)})
		}
		code := lang
		if lang == "en" {
			code = "" // the default for every other language
		}
		_, err := do(ctx, b.tg, "setMyCommands", b.tg.api.SetMyCommands, &tg.SetMyCommandsParams{Commands: cmds, LanguageCode: code})
		if err != nil {
			b.logger.Warn("bot: setMyCommands failed", "lang", lang, "err", err)
		}
	}
}

// setDescriptions publishes what a person sees of the bot before starting
// it (the description) and on its profile and in shares (the short one),
// in each language, like the command menu. A failure is logged, not fatal.
func (b *Bot) setDescriptions(ctx context.Context) {
	cat := b.flow.Catalog()
	data := map[string]any{"Staff": b.flow.Staff()}
	for _, lang := range flows.Languages() {
		code := lang
		if lang == "en" {
			code = "" // the default for every other language
		}
		if _, err := do(ctx, b.tg, "setMyDescription", b.tg.api.SetMyDescription,
			&tg.SetMyDescriptionParams{Description: cat.Text(lang, "bot_description", data), LanguageCode: code}); err != nil {
			b.logger.Warn("bot: setMyDescription failed", "lang", lang, "err", err)
		}
		if _, err := do(ctx, b.tg, "setMyShortDescription", b.tg.api.SetMyShortDescription,
			&tg.SetMyShortDescriptionParams{ShortDescription: cat.Text(lang, "bot_short_description", data), LanguageCode: code}); err != nil {
			b.logger.Warn("bot: setMyShortDescription failed", "lang", lang, "err", err)
		}
	}
}
