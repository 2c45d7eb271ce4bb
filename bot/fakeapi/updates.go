package fakeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/go-telegram/bot/models"
)

const (
	webhookTimeout    = 10 * time.Second
	webhookBackoff    = 50 * time.Millisecond
	webhookBackoffCap = time.Second
	maxPollTimeout    = 600
)

type hookState struct {
	url      string
	secret   string
	maxConn  int
	gen      int64
	ctx      context.Context
	cancel   context.CancelFunc
	inflight int
	errDate  int64
	errMsg   string
}

// enqueueLocked queues an update of one kind (the field of Update it sets)
// with its JSON payload; chat orders webhook delivery. It returns the
// update_id, which is consumed even when allowed_updates filters the update
// out, as Telegram does.
func (s *Server) enqueueLocked(kind string, chat int64, payload json.RawMessage, filter bool) int64 {
	id := s.nextUpdate
	s.nextUpdate++
	if filter && !s.allowed[kind] {
		s.logf("update %d (%s) not queued: not in allowed_updates", id, kind)
		s.notifyLocked()
		return id
	}
	var b bytes.Buffer
	b.WriteString(`{"update_id":`)
	b.WriteString(strconv.FormatInt(id, 10))
	b.WriteString(`,"`)
	b.WriteString(kind)
	b.WriteString(`":`)
	b.Write(payload)
	b.WriteByte('}')
	s.pending = append(s.pending, &update{id: id, kind: kind, chat: chat, body: b.Bytes()})
	s.notifyLocked()
	return id
}

func (s *Server) setAllowedLocked(list []string) {
	s.allowedList = nil
	if len(list) == 0 {
		s.allowed = defaultAllowed()
		return
	}
	s.allowedList = append([]string(nil), list...)
	sort.Strings(s.allowedList)
	s.allowed = map[string]bool{}
	for _, k := range list {
		s.allowed[k] = true
	}
}

// confirmLocked forgets the updates with id < offset; a negative offset
// keeps only the last -offset updates.
func (s *Server) confirmLocked(offset int64) {
	if offset == 0 {
		return
	}
	keep := s.pending[:0]
	if offset < 0 {
		n := int64(len(s.pending)) + offset
		for i, u := range s.pending {
			if int64(i) < n {
				s.confirmed = max(s.confirmed, u.id)
				continue
			}
			keep = append(keep, u)
		}
	} else {
		for _, u := range s.pending {
			if u.id < offset {
				s.confirmed = max(s.confirmed, u.id)
				continue
			}
			keep = append(keep, u)
		}
	}
	clear(s.pending[len(keep):])
	s.pending = keep
}

func (s *Server) collectLocked(offset int64, limit int) []json.RawMessage {
	out := []json.RawMessage{}
	for _, u := range s.pending {
		if len(out) >= limit {
			break
		}
		if offset > 0 && u.id < offset {
			continue
		}
		out = append(out, u.body)
	}
	return out
}

func webhookConflict() *apiError {
	return &apiError{code: http.StatusConflict, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"}
}

func (s *Server) mGetUpdates(r *request) (any, *apiError) {
	if s.hook.url != "" {
		return nil, webhookConflict()
	}
	if r.has("allowed_updates") {
		if list, ok := r.stringList("allowed_updates"); ok {
			s.setAllowedLocked(list)
		}
	}
	offset := r.int64("offset")
	s.confirmLocked(offset)
	limit := r.int("limit")
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout := min(max(r.int("timeout"), 0), maxPollTimeout)
	s.pollGen++
	gen := s.pollGen
	s.notifyLocked() // an older poll now ends with a conflict
	var expire <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(time.Duration(timeout) * time.Second)
		defer t.Stop()
		expire = t.C
	}
	waiting := false
	for {
		out := s.collectLocked(offset, limit)
		if len(out) > 0 || timeout == 0 || s.closed {
			return out, nil
		}
		if !waiting {
			waiting = true
			s.polls++
			defer func() { s.polls-- }() // runs with s.mu held again
			s.notifyLocked()
		}
		ch := s.changed
		s.mu.Unlock()
		expired, canceled := false, false
		select {
		case <-ch:
		case <-expire:
			expired = true
		case <-r.ctx.Done():
			canceled = true
		case <-s.done:
		}
		s.mu.Lock()
		switch {
		case canceled:
			return []json.RawMessage{}, nil
		case s.hook.url != "":
			return nil, webhookConflict()
		case gen != s.pollGen:
			return nil, &apiError{code: http.StatusConflict, desc: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"}
		case expired:
			return s.collectLocked(offset, limit), nil
		}
	}
}

func validSecret(s string) bool {
	if len(s) < 1 || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func (s *Server) mSetWebhook(r *request) (any, *apiError) {
	raw := strings.TrimSpace(r.str("url"))
	if raw == "" {
		return s.deleteHookLocked(r.bool("drop_pending_updates")), nil
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, badRequest("bad webhook: invalid webhook URL specified")
	}
	secret := r.str("secret_token")
	if secret != "" && !validSecret(secret) {
		return nil, badRequest("bad webhook: secret token contains unallowed characters")
	}
	maxConn := 40
	if r.has("max_connections") {
		maxConn = min(max(r.int("max_connections"), 1), 100)
	}
	if r.has("allowed_updates") {
		if list, ok := r.stringList("allowed_updates"); ok {
			s.setAllowedLocked(list)
		}
	}
	if r.bool("drop_pending_updates") {
		s.dropPendingLocked()
	}
	if s.hook.url == raw && s.hook.secret == secret && s.hook.maxConn == maxConn {
		return described{true, "Webhook is already set"}, nil
	}
	s.stopHookLocked()
	ctx, cancel := context.WithCancel(context.Background())
	s.hook = hookState{url: raw, secret: secret, maxConn: maxConn, gen: s.hook.gen + 1, ctx: ctx, cancel: cancel}
	s.pollGen++ // a running long poll ends with a conflict
	s.logf("webhook set (max_connections %d)", maxConn)
	return described{true, "Webhook was set"}, nil
}

func (s *Server) dropPendingLocked() {
	for _, u := range s.pending {
		s.confirmed = max(s.confirmed, u.id)
	}
	s.pending = nil
}

// stopHookLocked stops webhook delivery; updates being delivered go back
// to the queue.
func (s *Server) stopHookLocked() {
	if s.hook.cancel != nil {
		s.hook.cancel()
	}
	for _, u := range s.pending {
		u.inflight = false
		u.retryAt = time.Time{}
		u.attempts = 0
	}
	s.hook = hookState{gen: s.hook.gen + 1}
}

func (s *Server) deleteHookLocked(drop bool) described {
	had := s.hook.url != ""
	s.stopHookLocked()
	if drop {
		s.dropPendingLocked()
	}
	if had {
		s.logf("webhook deleted")
		return described{true, "Webhook was deleted"}
	}
	return described{true, "Webhook is already deleted"}
}

func (s *Server) mDeleteWebhook(r *request) (any, *apiError) {
	return s.deleteHookLocked(r.bool("drop_pending_updates")), nil
}

func (s *Server) mGetWebhookInfo(*request) (any, *apiError) {
	info := models.WebhookInfo{URL: s.hook.url, PendingUpdateCount: len(s.pending)}
	if s.hook.url != "" {
		info.MaxConnections = s.hook.maxConn
		info.IPAddress = "127.0.0.1"
		info.LastErrorDate = int(s.hook.errDate)
		info.LastErrorMessage = s.hook.errMsg
		info.AllowedUpdates = append([]string(nil), s.allowedList...)
	}
	return info, nil
}

// deliveryKey orders webhook deliveries: one update at a time per chat;
// updates without a chat are independent.
type deliveryKey struct {
	chat int64
	solo int64
}

func (u *update) key() deliveryKey {
	if u.chat != 0 {
		return deliveryKey{chat: u.chat}
	}
	return deliveryKey{solo: u.id}
}

// dispatchWebhook runs for the life of the server and starts deliveries
// whenever the state changes or a retry is due.
func (s *Server) dispatchWebhook() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return
		}
		wait := s.startDeliveriesLocked()
		ch := s.changed
		s.mu.Unlock()
		var timer *time.Timer
		var due <-chan time.Time
		if wait >= 0 {
			timer = time.NewTimer(wait)
			due = timer.C
		}
		select {
		case <-ch:
		case <-due:
		case <-s.done:
		}
		if timer != nil {
			timer.Stop()
		}
	}
}

// startDeliveriesLocked starts what can be delivered now and returns how
// long until the next retry is due (-1 if none).
func (s *Server) startDeliveriesLocked() time.Duration {
	if s.hook.url == "" {
		return -1
	}
	now := time.Now()
	wait := time.Duration(-1)
	busy := map[deliveryKey]bool{}
	for _, u := range s.pending {
		k := u.key()
		if busy[k] {
			continue
		}
		busy[k] = true
		if u.inflight {
			continue
		}
		if s.hook.inflight >= s.hook.maxConn {
			break
		}
		if now.Before(u.retryAt) {
			if d := u.retryAt.Sub(now); wait < 0 || d < wait {
				wait = d
			}
			continue
		}
		u.inflight = true
		s.hook.inflight++
		s.wg.Add(1)
		go s.deliver(s.hook.ctx, s.hook.gen, s.hook.url, s.hook.secret, u.id, u.body)
	}
	return wait
}

func (s *Server) deliver(parent context.Context, gen int64, target, secret string, id int64, body []byte) {
	defer s.wg.Done()
	status, reply, ctype, err := s.post(parent, target, secret, body)
	ok := err == nil && status >= 200 && status < 300
	s.mu.Lock()
	if gen == s.hook.gen {
		s.hook.inflight--
	}
	idx := -1
	for i, u := range s.pending {
		if u.id == id {
			idx = i
			break
		}
	}
	switch {
	case ok && idx >= 0:
		s.confirmed = max(s.confirmed, id)
		s.pending = append(s.pending[:idx], s.pending[idx+1:]...)
	case !ok && idx >= 0 && gen == s.hook.gen:
		u := s.pending[idx]
		u.inflight = false
		u.attempts++
		u.retryAt = time.Now().Add(min(webhookBackoff<<min(u.attempts-1, 10), webhookBackoffCap))
		s.hook.errDate = s.clock.Unix()
		if err != nil {
			s.hook.errMsg = "Connection failed"
			s.logf("webhook delivery of update %d failed: %v", id, err)
		} else {
			s.hook.errMsg = fmt.Sprintf("Wrong response from the webhook: %d %s", status, http.StatusText(status))
			s.logf("webhook delivery of update %d failed: status %d", id, status)
		}
	}
	s.notifyLocked()
	s.mu.Unlock()
	if ok && len(bytes.TrimSpace(reply)) > 0 {
		s.webhookReply(reply, ctype)
	}
}

func (s *Server) post(parent context.Context, target, secret string, body []byte) (int, []byte, string, error) {
	ctx, cancel := context.WithTimeout(parent, webhookTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, "", fmt.Errorf("building webhook request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	if secret != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	}
	resp, err := s.hookCli.Do(req)
	if err != nil {
		return 0, nil, "", fmt.Errorf("posting update: %w", err)
	}
	defer func() { _ = resp.Body.Close() }()
	reply, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil && !errors.Is(err, context.Canceled) {
		return resp.StatusCode, nil, "", nil
	}
	return resp.StatusCode, reply, resp.Header.Get("Content-Type"), nil
}

// webhookReply performs a method call made in the answer to a webhook
// request, as Telegram allows.
func (s *Server) webhookReply(reply []byte, ctype string) {
	if !strings.Contains(ctype, "json") {
		return
	}
	params := map[string]string{}
	if aerr := parseJSONParams(params, reply); aerr != nil {
		return
	}
	method := params["method"]
	delete(params, "method")
	spec, ok := s.methods[strings.ToLower(method)]
	if !ok || spec.name == "getUpdates" {
		return
	}
	_, status := s.invoke(spec, &request{ctx: context.Background(), method: spec.name, params: params, files: map[string]*upload{}})
	if status != http.StatusOK {
		s.logf("method %s in a webhook answer failed with status %d", spec.name, status)
	}
}
