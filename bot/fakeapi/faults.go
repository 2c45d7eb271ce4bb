package fakeapi

import (
	"net/http"
	"strings"
	"time"
)

// Fault is a failure the server plays on matching requests, queued by Inject.
type Fault struct {
	// Method restricts the fault to one Bot API method ("" = any), or to
	// file downloads ("file", which "" does not cover).
	Method string
	// Chat restricts the fault to requests whose chat_id is this chat (0 = any).
	Chat int64
	// Times is how many matching requests the fault hits (0 = 1).
	Times int
	// Status is the error answered: 429, 500, 502, 403, ... (0 = none).
	Status int
	// RetryAfter is parameters.retry_after in seconds, for 429 (default 1).
	RetryAfter int
	// Description overrides the error description.
	Description string
	// Delay answers slowly: the server waits this long, then answers
	// normally unless Status is set.
	Delay time.Duration
	// Drop closes the connection without answering and without doing
	// anything.
	Drop bool
	// Lost performs the request, then closes the connection without
	// answering, as when an answer is lost on the way back.
	Lost bool
	// Late performs the request at once, then answers after this long,
	// even when the client has given up meanwhile: Telegram has done what
	// it was asked, whatever becomes of the answer.
	Late time.Duration
}

type faultEntry struct {
	Fault
	left int
}

// Inject queues a fault. Faults are consumed in the order they were
// injected, as matching requests come.
func (s *Server) Inject(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := f.Times
	if n <= 0 {
		n = 1
	}
	s.faults = append(s.faults, &faultEntry{Fault: f, left: n})
	s.notifyLocked()
}

// ClearFaults forgets all queued faults.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
	s.notifyLocked()
}

// PendingFaults is how many matching requests the queued faults still hit.
func (s *Server) PendingFaults() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.faults {
		n += f.left
	}
	return n
}

// takeFault consumes one hit of the first queued fault matching the request.
func (s *Server) takeFault(method string, chat int64) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.Method != "" && !strings.EqualFold(f.Method, method) || f.Method == "" && method == "file" {
			continue
		}
		if f.Chat != 0 && f.Chat != chat {
			continue
		}
		f.left--
		if f.left <= 0 {
			s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
		}
		out := f.Fault
		return &out
	}
	return nil
}

// applyFault plays a fault; it reports whether the request was fully handled.
func (s *Server) applyFault(w http.ResponseWriter, r *http.Request, req *request, f *Fault) bool {
	if f.Delay > 0 {
		t := time.NewTimer(f.Delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			s.mu.Lock()
			s.recordLocked(req.method, req, 499)
			s.mu.Unlock()
			return true
		case <-s.done:
			t.Stop()
		}
	}
	if f.Drop {
		s.mu.Lock()
		s.recordLocked(req.method, req, 0)
		s.mu.Unlock()
		s.dropConn(w)
		return true
	}
	if f.Status == 0 {
		return false
	}
	e := faultError(f, req.method)
	s.mu.Lock()
	s.recordLocked(req.method, req, e.code)
	s.mu.Unlock()
	writeErr(w, e)
	return true
}

func faultError(f *Fault, method string) *apiError {
	e := &apiError{code: f.Status, desc: f.Description}
	if e.code < 400 || e.code > 599 {
		e.code = http.StatusInternalServerError
	}
	if e.code == http.StatusTooManyRequests {
		ra := f.RetryAfter
		if ra <= 0 {
			ra = 1
		}
		te := tooManyRequests(ra)
		if e.desc == "" {
			e.desc = te.desc
		}
		e.retryAfter = te.retryAfter
	}
	if e.desc != "" {
		return e
	}
	switch e.code {
	case http.StatusBadRequest:
		e.desc = "Bad Request: injected fault"
	case http.StatusUnauthorized:
		e.desc = "Unauthorized"
	case http.StatusForbidden:
		e.desc = "Forbidden: bot was blocked by the user"
	case http.StatusNotFound:
		e.desc = "Not Found"
	case http.StatusConflict:
		if strings.EqualFold(method, "getUpdates") {
			e.desc = "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
		} else {
			e.desc = "Conflict"
		}
	default:
		e.desc = http.StatusText(e.code)
		if e.desc == "" {
			e.desc = "Error"
		}
	}
	return e
}
