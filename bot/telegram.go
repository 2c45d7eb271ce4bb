package bot

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/aimabot/aimabot/rules"
)

// telegram is the one place that talks to the Bot API. Every call goes
// through do: it bounds the call
// with apiTimeout, takes the token out of the error, counts the failure by
// method and code, and turns it into an *apiError that says what to do about
// it. Nothing else calls go-telegram/bot or the file server.
type telegram struct {
	api    *tg.Bot
	http   *http.Client
	apiURL string
	token  string
	errs   *prometheus.CounterVec // failed calls by method and code
	// up is 1 while the Bot API answers (the last call got an answer from
	// Telegram, even a refusal), 0 after a network error, a 5xx or a 401.
	up prometheus.Gauge
}

func newTelegram(logger *slog.Logger, cfg Config, errs *prometheus.CounterVec, up prometheus.Gauge) (*telegram, error) {
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
	return &telegram{api: api, http: hc, apiURL: cfg.APIURL, token: cfg.Token, errs: errs, up: up}, nil
}

// do makes one Bot API call: fn is the client's method for it (such as
// api.SendMessage), method its name in the Bot API.
func do[P, T any](ctx context.Context, t *telegram, method string, fn func(context.Context, P) (T, error), params P) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	v, err := fn(ctx, params)
	return v, t.failed(method, err)
}

// getMe asks who the bot is.
func (t *telegram) getMe(ctx context.Context) (*models.User, error) {
	ctx, cancel := context.WithTimeout(ctx, apiTimeout)
	defer cancel()
	u, err := t.api.GetMe(ctx)
	return u, t.failed("getMe", err)
}

// failure is what a failed call asks the caller to do.
type failure int

const (
	retryBackoff failure = iota // a network error, a 5xx, a 401: try again later, backing off
	retryAfter                  // a 429: try again after apiError.after
	permanent                   // a 400, 404 or 409: the same answer every time
	chatGone                    // a 403: the chat refuses the bot (blocked, or the bot removed)
)

// apiError is a failed Bot API call, the token taken out of its text. It
// unwraps to go-telegram/bot's error, so errors.Is(err, tg.ErrorBadRequest)
// and the like still work.
type apiError struct {
	method    string
	kind      failure
	code      string        // for the metrics: 400, 401, 403, 404, 409, 429, other
	after     time.Duration // retryAfter: how long Telegram asked to wait
	migrateTo int64         // a group that became a supergroup: its new id
	err       error
}

func (e *apiError) Error() string { return e.method + ": " + e.err.Error() }
func (e *apiError) Unwrap() error { return e.err }

// failed classifies and counts a call's error; nil stays nil.
func (t *telegram) failed(method string, err error) error {
	if err == nil {
		t.up.Set(1)
		return nil
	}
	e := classify(method, redact(err, t.token))
	t.errs.WithLabelValues(method, e.code).Inc()
	t.answered(e.kind != retryBackoff)
	return e
}

// answered records whether Telegram answered the last call.
func (t *telegram) answered(yes bool) {
	if yes {
		t.up.Set(1)
	} else {
		t.up.Set(0)
	}
}

func classify(method string, err error) *apiError {
	e := &apiError{method: method, kind: retryBackoff, code: "other", err: err}
	var tooMany *tg.TooManyRequestsError
	var moved *tg.MigrateError
	switch {
	case errors.As(err, &tooMany):
		e.kind, e.code, e.after = retryAfter, "429", time.Duration(max(tooMany.RetryAfter, 1))*time.Second
	case errors.As(err, &moved):
		e.kind, e.code, e.migrateTo = permanent, "400", int64(moved.MigrateToChatID)
	case errors.Is(err, tg.ErrorBadRequest):
		e.kind, e.code = permanent, "400"
	case errors.Is(err, tg.ErrorForbidden):
		e.kind, e.code = chatGone, "403"
	case errors.Is(err, tg.ErrorNotFound):
		e.kind, e.code = permanent, "404"
	case errors.Is(err, tg.ErrorConflict):
		e.kind, e.code = permanent, "409"
	case errors.Is(err, tg.ErrorUnauthorized):
		e.code = "401" // the token, not the call: it may be mended
	}
	return e
}

// failureOf is what an error of call asks for; any other error (a context
// ended, a store's) is retried with backoff.
func failureOf(err error) failure {
	var e *apiError
	if errors.As(err, &e) {
		return e.kind
	}
	return retryBackoff
}

// refusesForGood says Telegram will not do what was asked however often it
// is asked (a bad request, a right missing, the bot removed), unlike a
// timeout or a 5xx.
func refusesForGood(err error) bool {
	k := failureOf(err)
	return err != nil && (k == permanent || k == chatGone)
}

// migratedTo is the staff group's new id when a call failed because the
// group became a supergroup; 0 otherwise.
func migratedTo(err error) int64 {
	var e *apiError
	if errors.As(err, &e) {
		return e.migrateTo
	}
	return 0
}

// badRequestSays tells a 400 by its description: Telegram's only word on
// what exactly was wrong.
func badRequestSays(err error, texts ...string) bool {
	if failureOf(err) != permanent || !errors.Is(err, tg.ErrorBadRequest) {
		return false
	}
	e := strings.ToLower(err.Error())
	for _, t := range texts {
		if strings.Contains(e, strings.ToLower(t)) {
			return true
		}
	}
	return false
}

// The 400s the desk mends or ignores.
func isThreadGone(err error) bool {
	return badRequestSays(err, "thread not found", "topic_id_invalid", "topic_deleted")
}
func isTopicClosed(err error) bool { return badRequestSays(err, "TOPIC_CLOSED") }

// isNotModified: an edit that changes nothing ("message is not modified",
// or TOPIC_NOT_MODIFIED for a topic renamed to its own name).
func isNotModified(err error) bool { return badRequestSays(err, "not modified", "TOPIC_NOT_MODIFIED") }
func isMessageGone(err error) bool { return badRequestSays(err, "message to edit not found") }
func isDeleteGone(err error) bool  { return badRequestSays(err, "message to delete not found") }

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

// stripURL drops the request URL (which holds the token) from a client error.
func stripURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}

var (
	errTooBig = errors.New("bot: file is too big to download")
	// errUnreadable is a file Telegram answered a permanent error for (a
	// 4xx other than 401, 408 and 429): asking again will not help.
	errUnreadable = errors.New("bot: the file cannot be fetched")
)

// permanentStatus is refusesForGood for a plain HTTP answer.
func permanentStatus(code int) bool {
	switch code {
	case http.StatusUnauthorized, http.StatusRequestTimeout, http.StatusTooManyRequests:
		return false
	}
	return code >= 400 && code < 500
}

// download fetches a file's first bytes, to check what it really is. The file
// is read into memory only as far as needed and never written to disk.
func (t *telegram) download(ctx context.Context, fileID string) (head []byte, size int64, err error) {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	body, size, err := t.openFile(ctx, fileID)
	if err != nil {
		return nil, 0, err
	}
	defer body.Close()
	head = make([]byte, 512)
	n, err := io.ReadFull(body, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return nil, 0, fmt.Errorf("bot: download: %w", redact(err, t.token))
	}
	return head[:n], size, nil
}

// fetch reads a whole file into memory (never to disk), at most
// rules.MaxFileBytes, the most the Bot API hands over.
func (t *telegram) fetch(ctx context.Context, fileID string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	body, size, err := t.openFile(ctx, fileID)
	if err != nil {
		return nil, err
	}
	defer body.Close()
	if size > rules.MaxFileBytes {
		return nil, errTooBig
	}
	data, err := io.ReadAll(io.LimitReader(body, rules.MaxFileBytes+1))
	switch {
	case err != nil:
		return nil, fmt.Errorf("bot: download: %w", redact(err, t.token))
	case len(data) > rules.MaxFileBytes:
		return nil, errTooBig
	}
	return data, nil
}

// openFile asks Telegram for a file and opens its download; the caller
// closes the body.
func (t *telegram) openFile(ctx context.Context, fileID string) (body io.ReadCloser, size int64, err error) {
	file, err := do(ctx, t, "getFile", t.api.GetFile, &tg.GetFileParams{FileID: fileID})
	switch {
	case badRequestSays(err, "too big"):
		return nil, 0, errTooBig
	case refusesForGood(err):
		return nil, 0, fmt.Errorf("%w: %w", errUnreadable, err)
	case err != nil:
		return nil, 0, fmt.Errorf("bot: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.api.FileDownloadLink(file), nil)
	if err != nil {
		return nil, 0, fmt.Errorf("bot: download request: %w", redact(err, t.token))
	}
	resp, err := t.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("bot: download: %w", redact(stripURL(err), t.token))
	}
	if permanentStatus(resp.StatusCode) {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("%w: download: HTTP %d", errUnreadable, resp.StatusCode)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, 0, fmt.Errorf("bot: download: HTTP %d", resp.StatusCode)
	}
	return resp.Body, file.FileSize, nil
}

// getUpdates long-polls for updates, waiting up to wait. It reads each
// update on its own, so that one the client library cannot read is kept by
// its id (to be confirmed and skipped) rather than failing the batch.
func (t *telegram) getUpdates(ctx context.Context, offset int64, wait time.Duration) ([]*models.Update, error) {
	body, _ := json.Marshal(map[string]any{
		"offset": offset, "timeout": int(wait / time.Second), "allowed_updates": allowedUpdates,
	})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.apiURL+"/bot"+t.token+"/getUpdates", bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("bot: getUpdates request: %w", redact(err, t.token))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := t.http.Do(req)
	if err != nil {
		t.errs.WithLabelValues("getUpdates", "other").Inc()
		t.answered(false)
		return nil, fmt.Errorf("bot: getUpdates: %w", redact(stripURL(err), t.token))
	}
	defer resp.Body.Close()
	var r struct {
		OK          bool              `json:"ok"`
		Result      []json.RawMessage `json:"result"`
		ErrorCode   int               `json:"error_code"`
		Description string            `json:"description"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&r); err != nil {
		return nil, fmt.Errorf("bot: getUpdates: decode: %w", err)
	}
	t.answered(r.OK || r.ErrorCode >= 400 && r.ErrorCode < 500 && r.ErrorCode != http.StatusUnauthorized)
	if !r.OK {
		t.errs.WithLabelValues("getUpdates", statusCode(r.ErrorCode)).Inc()
		switch {
		case r.ErrorCode == http.StatusUnauthorized:
			return nil, ErrTokenRefused
		case r.ErrorCode == http.StatusConflict && strings.Contains(strings.ToLower(r.Description), "webhook"):
			return nil, ErrWebhookSet
		}
		return nil, fmt.Errorf("bot: getUpdates: %d %s", r.ErrorCode, r.Description)
	}
	updates := make([]*models.Update, 0, len(r.Result))
	for _, raw := range r.Result {
		u := &models.Update{}
		if err := json.Unmarshal(raw, u); err != nil {
			var id struct {
				ID int64 `json:"update_id"`
			}
			if json.Unmarshal(raw, &id) != nil {
				continue
			}
			u = &models.Update{ID: id.ID}
		}
		updates = append(updates, u)
	}
	return updates, nil
}

// statusCode names an error code as the metrics do.
func statusCode(code int) string {
	switch code {
	case 400, 401, 403, 404, 409, 429:
		return fmt.Sprint(code)
	}
	return "other"
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
