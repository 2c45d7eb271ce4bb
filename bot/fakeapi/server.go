package fakeapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultToken       = "123456:TEST-token"
	DefaultBotUsername = "aimabot"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// Token is the bot token the server accepts; DefaultToken when empty.
	Token string
	// BotUsername is the bot's username (without @); DefaultBotUsername when empty.
	BotUsername string
	// Limits turns on the emulation of Telegram's flood limits: a global
	// token bucket and one per chat; requests over them get 429 with
	// parameters.retry_after.
	Limits bool
	// GlobalPerSecond is the overall sending rate and burst (default 30).
	GlobalPerSecond float64
	// ChatPerSecond is the sustained rate to one private chat (default 1).
	ChatPerSecond float64
	// ChatBurst is how many messages a private chat accepts at once (default 3).
	ChatBurst int
	// GroupPerMinute is the rate and burst for one group chat (default 20).
	GroupPerMinute int
	// Logf receives diagnostics (never message texts); nil discards them.
	Logf func(format string, args ...any)
	// OnCall, when set, hears of every successful method call that names a
	// chat (chat_id), with the moment it was accepted: a load driver's way
	// to notice replies without polling. It runs with the server's lock
	// held, so it must return at once and must not call the Server.
	OnCall func(method string, chat int64, at time.Time)
}

// Server is a running fake Telegram Bot API server. All methods are safe for
// concurrent use.
type Server struct {
	opts    Options
	token   string
	botID   int64
	methods map[string]methodSpec
	http    *httptest.Server
	hookCli *http.Client
	done    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup

	mu      sync.Mutex
	changed chan struct{}
	closed  bool
	clock   time.Time

	// updates
	nextUpdate  int64
	pending     []*update
	confirmed   int64
	allowed     map[string]bool
	allowedList []string
	pollGen     int64
	polls       int
	hook        hookState

	// world
	chats      map[int64]*chat
	users      map[int64]*user
	files      map[string]*file
	filePaths  map[string]*file
	fileSeq    int64
	queries    map[string]*query
	querySeq   int64
	groupSeq   int64
	commands   map[commandsKey][]BotCommand
	latestCmds map[string][]BotCommand
	// descriptions and short descriptions by language code ("" default)
	descriptions, shortDescs map[string]string

	// records
	calls   []Call
	answers []CallbackAnswer
	tooMany int
	panics  int
	faults  []*faultEntry
	limiter limiter
}

// New starts a server on 127.0.0.1. Close it when done.
func New(opts Options) *Server {
	if opts.Token == "" {
		opts.Token = DefaultToken
	}
	if opts.BotUsername == "" {
		opts.BotUsername = DefaultBotUsername
	}
	if opts.GlobalPerSecond <= 0 {
		opts.GlobalPerSecond = 30
	}
	if opts.ChatPerSecond <= 0 {
		opts.ChatPerSecond = 1
	}
	if opts.ChatBurst <= 0 {
		opts.ChatBurst = 3
	}
	if opts.GroupPerMinute <= 0 {
		opts.GroupPerMinute = 20
	}
	botID, _ := strconv.ParseInt(strings.SplitN(opts.Token, ":", 2)[0], 10, 64)
	if botID <= 0 {
		botID = 123456
	}
	s := &Server{
		opts:         opts,
		token:        opts.Token,
		botID:        botID,
		done:         make(chan struct{}),
		changed:      make(chan struct{}),
		clock:        time.Now().Truncate(time.Second),
		nextUpdate:   1_000_001,
		allowed:      defaultAllowed(),
		chats:        map[int64]*chat{},
		users:        map[int64]*user{},
		files:        map[string]*file{},
		filePaths:    map[string]*file{},
		queries:      map[string]*query{},
		commands:     map[commandsKey][]BotCommand{},
		latestCmds:   map[string][]BotCommand{},
		descriptions: map[string]string{}, shortDescs: map[string]string{},
		limiter: newLimiter(opts),
	}
	s.methods = s.methodTable()
	s.hookCli = &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 100,
		IdleConnTimeout:     30 * time.Second,
	}}
	s.http = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.wg.Add(1)
	go s.dispatchWebhook()
	return s
}

// URL is the base URL to give bot.WithServerURL; the client appends
// "/bot<token>/<method>".
func (s *Server) URL() string { return s.http.URL }

// Token is the token the server accepts.
func (s *Server) Token() string { return s.token }

// BotUsername is the bot's username, without @.
func (s *Server) BotUsername() string { return s.opts.BotUsername }

// Close stops webhook delivery, releases long polls and shuts the server
// down. It is safe to call more than once.
func (s *Server) Close() {
	s.once.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.stopHookLocked()
		s.notifyLocked()
		s.mu.Unlock()
		close(s.done)
		s.wg.Wait()
		s.http.CloseClientConnections()
		s.http.Close()
		if t, ok := s.hookCli.Transport.(*http.Transport); ok {
			t.CloseIdleConnections()
		}
	})
}

// SetNow sets the fake clock that dates updates and messages. It starts at
// the creation time of the server and only moves when told.
func (s *Server) SetNow(t time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = t
	s.notifyLocked()
}

// Advance moves the fake clock forward by d.
func (s *Server) Advance(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.clock = s.clock.Add(d)
	s.notifyLocked()
}

// Now is the fake clock's time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.clock
}

// WaitFor re-checks cond every time the server's state changes (any request
// or update) until it holds, and returns ctx.Err() if ctx ends first. cond
// may call the Server's inspection methods.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		ch := s.changeChan()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("fakeapi: waiting for condition: %w", ctx.Err())
		}
	}
}

// WaitMessages waits until the bot has at least n messages in chat and
// returns them all.
func (s *Server) WaitMessages(ctx context.Context, chat int64, n int) ([]Message, error) {
	var msgs []Message
	err := s.WaitFor(ctx, func() bool {
		msgs = s.Messages(chat)
		return len(msgs) >= n
	})
	if err != nil {
		return msgs, fmt.Errorf("fakeapi: waiting for %d messages in chat %d (have %d): %w", n, chat, len(msgs), err)
	}
	return msgs, nil
}

func (s *Server) changeChan() chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// notifyLocked wakes everyone waiting for a change. s.mu must be held.
func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

func (s *Server) logf(format string, args ...any) {
	if s.opts.Logf != nil {
		s.opts.Logf("fakeapi: "+format, args...)
	}
}

// apiError is an unsuccessful answer of the Bot API.
type apiError struct {
	code       int
	desc       string
	retryAfter int
	migrateTo  int64
}

func (e *apiError) Error() string { return e.desc }

func badRequest(format string, args ...any) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: " + fmt.Sprintf(format, args...)}
}

func forbidden(desc string) *apiError {
	return &apiError{code: http.StatusForbidden, desc: "Forbidden: " + desc}
}

// migrated is Telegram's answer to a write to a basic group that became a
// supergroup: the new chat id travels in parameters.migrate_to_chat_id.
func migrated(to int64) *apiError {
	return &apiError{code: http.StatusBadRequest, desc: "Bad Request: group chat was upgraded to a supergroup chat", migrateTo: to}
}

func tooManyRequests(retryAfter int) *apiError {
	if retryAfter < 1 {
		retryAfter = 1
	}
	return &apiError{
		code:       http.StatusTooManyRequests,
		desc:       "Too Many Requests: retry after " + strconv.Itoa(retryAfter),
		retryAfter: retryAfter,
	}
}

// described is a successful result that carries a description too, like
// setWebhook's "Webhook was set".
type described struct {
	result any
	desc   string
}

type okBody struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result"`
	Description string `json:"description,omitempty"`
}

type errParams struct {
	MigrateToChatID int64 `json:"migrate_to_chat_id,omitempty"`
	RetryAfter      int   `json:"retry_after,omitempty"`
}

type errBody struct {
	OK          bool       `json:"ok"`
	ErrorCode   int        `json:"error_code"`
	Description string     `json:"description"`
	Parameters  *errParams `json:"parameters,omitempty"`
}

func encodeOK(result any) ([]byte, error) {
	body := okBody{OK: true, Result: result}
	if d, ok := result.(described); ok {
		body.Result, body.Description = d.result, d.desc
	}
	b, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("encoding result: %w", err)
	}
	return b, nil
}

func encodeErr(e *apiError) []byte {
	body := errBody{ErrorCode: e.code, Description: e.desc}
	if e.retryAfter > 0 || e.migrateTo != 0 {
		body.Parameters = &errParams{RetryAfter: e.retryAfter, MigrateToChatID: e.migrateTo}
	}
	b, err := json.Marshal(body)
	if err != nil { // cannot happen with these field types
		return []byte(`{"ok":false,"error_code":500,"description":"Internal Server Error"}`)
	}
	return b
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func writeErr(w http.ResponseWriter, e *apiError) {
	writeJSON(w, e.code, encodeErr(e))
}
