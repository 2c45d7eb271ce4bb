package bot

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
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
	// DeleteWebhook, in polling mode, removes a webhook left set for the
	// bot before polling (Telegram refuses getUpdates while one is set).
	DeleteWebhook bool
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
)

// Bot serves applicants on Telegram.
type Bot struct {
	logger *slog.Logger
	cfg    Config
	st     store.Store
	flow   *flows.Flow
	api    *tg.Bot
	http   *http.Client
	send   *sender
	desk   *desk // nil without a staff group
	// metrics and readiness
	metrics    *metrics
	down       outage
	wakers     sync.WaitGroup
	readyMu    sync.Mutex
	telegramOK time.Time
	chats      chatLocks
	albums     *albums
	listener   atomic.Pointer[limitListener] // ListenAddr's, once listening
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
	if cfg.PollTimeout == 0 {
		cfg.PollTimeout = 25 * time.Second
	}
	if cfg.AlbumWait == 0 {
		cfg.AlbumWait = 800 * time.Millisecond
	}
	if cfg.SendLease == 0 {
		cfg.SendLease = leaseTTL
	}
	if cfg.ShutdownTimeout == 0 {
		cfg.ShutdownTimeout = 10 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.StaffLang == "" {
		cfg.StaffLang = "en"
	}
	if cfg.QueueEvery == 0 {
		cfg.QueueEvery = time.Minute
	}
	if cfg.WakeEvery == 0 {
		cfg.WakeEvery = 5 * time.Second
	}
	if cfg.ListenReadTimeout <= 0 {
		cfg.ListenReadTimeout = 10 * time.Second
	}
	if cfg.ListenMaxConns <= 0 {
		cfg.ListenMaxConns = 256
	}
	if (cfg.StaffChat != 0) != flow.Staff() {
		return nil, errors.New("bot: the conversation and the configuration disagree on whether there is a staff group")
	}
	if cfg.StaffChat > 0 {
		return nil, fmt.Errorf("bot: staff chat %d is a private chat; a group's id is negative", cfg.StaffChat)
	}
	// Many chats are answered at once: keep that many connections to the
	// Bot API open (Go keeps 2 per host by default and dials the rest anew
	// for every call).
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 256, 256
	hc := &http.Client{Timeout: cfg.PollTimeout + 15*time.Second, Transport: wholeBodies{tr}}
	api, err := tg.New(cfg.Token,
		tg.WithServerURL(cfg.APIURL),
		tg.WithSkipGetMe(),
		tg.WithHTTPClient(cfg.PollTimeout, hc),
		tg.WithErrorsHandler(func(err error) { logger.Warn("bot: telegram client", "err", redact(err, cfg.Token)) }),
	)
	if err != nil {
		return nil, fmt.Errorf("bot: telegram client: %w", redact(err, cfg.Token))
	}
	b := &Bot{logger: logger, cfg: cfg, st: st, flow: flow, api: api, http: hc, down: outage{logger: logger, now: cfg.Now}}
	b.metrics = newMetrics(b)
	b.procCtx, b.procCancel = context.WithCancel(context.Background())
	b.send = newSender(b)
	b.albums = newAlbums(b)
	if cfg.StaffChat != 0 {
		b.desk = newDesk(b)
	}
	return b, nil
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
	b.send.start(ctx)
	b.startWaker(ctx)
	if b.desk != nil {
		b.desk.start(ctx)
	}
	var err error
	if b.cfg.WebhookURL != "" {
		err = b.serveWebhook(ctx)
	} else {
		var stopOps func()
		if stopOps, err = b.serveOps(); err == nil {
			err = b.poll(ctx)
			stopOps()
		}
	}
	cancel()
	b.stop()
	return err
}

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
}

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
		b.wakers.Wait()
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
	cctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	_, err := b.api.GetMe(cctx)
	if errors.Is(err, tg.ErrorUnauthorized) {
		return ErrTokenRefused
	}
	if err != nil && ctx.Err() == nil {
		b.logger.Warn("bot: getMe failed; starting anyway", "err", redact(err, b.cfg.Token))
	}
	return nil
}

// setCommands publishes the command menu in each language. A failure is
// logged, not fatal: the commands work without the menu.
func (b *Bot) setCommands(ctx context.Context) {
	cat := b.flow.Catalog()
	for _, lang := range flows.Languages() {
		var cmds []models.BotCommand
		for _, c := range []string{"start", "back", "status", "faq", "language", "cancel", "human", "privacy", "mydata", "forget", "help"} {
			if c == "human" && !b.flow.Staff() {
				continue // personal help is not available: no menu entry for it
			}
			cmds = append(cmds, models.BotCommand{Command: c, Description: cat.Text(lang, "cmd_"+c, nil)})
		}
		code := lang
		if lang == "en" {
			code = "" // the default for every other language
		}
		cctx, cancel := context.WithTimeout(ctx, apiTimeout)
		_, err := b.api.SetMyCommands(cctx, &tg.SetMyCommandsParams{Commands: cmds, LanguageCode: code})
		cancel()
		if err != nil {
			b.logger.Warn("bot: setMyCommands failed", "lang", lang, "err", redact(err, b.cfg.Token))
		}
	}
}

// redact removes the token from an error's text: the library's file links
// and URLs contain it.
func redact(err error, token string) error {
	if err == nil || token == "" || !strings.Contains(err.Error(), token) {
		return err
	}
	return redacted{err: err, token: token}
}

type redacted struct {
	err   error
	token string
}

func (r redacted) Error() string { return strings.ReplaceAll(r.err.Error(), r.token, "<token>") }
func (r redacted) Unwrap() error { return r.err }

// chatLocks serialises one chat's updates within this process, so they are
// applied in order and do not race each other in the store.
type chatLocks struct {
	mu    sync.Mutex
	locks map[int64]*chatLock
}

type chatLock struct {
	mu   sync.Mutex
	refs int
}

func (c *chatLocks) lock(chat int64) func() {
	c.mu.Lock()
	if c.locks == nil {
		c.locks = map[int64]*chatLock{}
	}
	l := c.locks[chat]
	if l == nil {
		l = &chatLock{}
		c.locks[chat] = l
	}
	l.refs++
	c.mu.Unlock()
	l.mu.Lock()
	return func() { c.unlock(chat, l) }
}

// lockChat serialises the chat's updates here (see chatLocks) and claims
// the chat for the sender (see sender.claim) until unlock.
func (b *Bot) lockChat(chat int64) (unlock func()) {
	unlockChat := b.chats.lock(chat)
	release := b.send.claim(chat)
	return func() {
		release()
		unlockChat()
	}
}

func (c *chatLocks) unlock(chat int64, l *chatLock) {
	l.mu.Unlock()
	c.mu.Lock()
	l.refs--
	if l.refs == 0 {
		delete(c.locks, chat)
	}
	c.mu.Unlock()
}

// wholeBodies sends each request body in one piece. The Telegram client
// streams its multipart forms through a pipe, which net/http sends
// chunked, in a write (a system call) per form field; read first, a
// request is one write. Bodies over wholeBodyLimit (uploads) still stream.
type wholeBodies struct{ next http.RoundTripper }

const wholeBodyLimit = 1 << 20

func (t wholeBodies) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength > 0 {
		return t.next.RoundTrip(r)
	}
	buf, err := io.ReadAll(io.LimitReader(r.Body, wholeBodyLimit+1))
	if err != nil {
		r.Body.Close()
		return nil, fmt.Errorf("reading the request body: %w", err)
	}
	r2 := r.Clone(r.Context())
	if len(buf) > wholeBodyLimit {
		r2.Body = struct {
			io.Reader
			io.Closer
		}{io.MultiReader(bytes.NewReader(buf), r.Body), r.Body}
		return t.next.RoundTrip(r2)
	}
	r.Body.Close()
	r2.Body, r2.ContentLength = io.NopCloser(bytes.NewReader(buf)), int64(len(buf))
	r2.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf)), nil }
	return t.next.RoundTrip(r2)
}
