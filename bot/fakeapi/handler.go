package fakeapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

const (
	// maxBody bounds a request body: Telegram accepts uploads of 50 MB.
	maxBody = 50<<20 + 1<<20
	// maxUpload is the largest file a bot may upload.
	maxUpload = 50 << 20
)

// request is one Bot API call, parsed.
type request struct {
	ctx    context.Context
	method string
	params map[string]string
	files  map[string]*upload
}

type upload struct {
	name  string
	ctype string
	data  []byte
}

type methodSpec struct {
	name string
	// fn runs with s.mu held; it may release and retake it while waiting.
	fn func(*request) (any, *apiError)
}

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel passed to panic
				panic(v)
			}
			s.mu.Lock()
			s.panics++
			s.notifyLocked()
			s.mu.Unlock()
			s.logf("panic serving a request: %v", v)
			writeErr(w, &apiError{code: http.StatusInternalServerError, desc: "Internal Server Error"})
		}
	}()
	p := r.URL.Path
	if rest, ok := strings.CutPrefix(p, "/file/bot"); ok {
		s.serveFile(w, r, rest)
		return
	}
	rest, ok := strings.CutPrefix(p, "/bot")
	if !ok {
		writeErr(w, &apiError{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	token, method, ok := strings.Cut(rest, "/")
	if !ok {
		writeErr(w, &apiError{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	if token != s.token {
		writeErr(w, &apiError{code: http.StatusUnauthorized, desc: "Unauthorized"})
		return
	}
	spec, known := s.methods[strings.ToLower(method)]
	name := method
	if known {
		name = spec.name
	}
	req, perr := parseRequest(r)
	if perr != nil {
		s.mu.Lock()
		s.recordLocked(name, nil, perr.code)
		s.mu.Unlock()
		writeErr(w, perr)
		return
	}
	req.method = name

	f := s.takeFault(name, chatParam(req.params))
	if f != nil {
		if handled := s.applyFault(w, r, req, f); handled {
			return
		}
	}
	if !known {
		e := &apiError{code: http.StatusNotFound, desc: "Not Found: method not found"}
		s.mu.Lock()
		s.recordLocked(name, req, e.code)
		s.mu.Unlock()
		writeErr(w, e)
		return
	}
	body, status := s.invoke(spec, req)
	if f != nil && f.Lost {
		s.dropConn(w)
		return
	}
	if f != nil && f.Late > 0 {
		t := time.NewTimer(f.Late)
		select {
		case <-t.C:
		case <-s.done:
			t.Stop()
		}
	}
	if status == 0 { // the client went away during a long poll
		return
	}
	writeJSON(w, status, body)
}

// invoke runs a method and records it. A zero status means nothing should be
// written (the request context ended).
func (s *Server) invoke(spec methodSpec, req *request) ([]byte, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	result, aerr := spec.fn(req)
	if aerr == nil && req.ctx.Err() != nil && spec.name == "getUpdates" {
		s.recordLocked(spec.name, req, 499)
		return nil, 0
	}
	if aerr != nil {
		s.recordLocked(spec.name, req, aerr.code)
		return encodeErr(aerr), aerr.code
	}
	body, err := encodeOK(result)
	if err != nil {
		s.logf("%s: %v", spec.name, err)
		e := &apiError{code: http.StatusInternalServerError, desc: "Internal Server Error"}
		s.recordLocked(spec.name, req, e.code)
		return encodeErr(e), e.code
	}
	s.recordLocked(spec.name, req, http.StatusOK)
	return body, http.StatusOK
}

// recordLocked appends a Call and wakes waiters. s.mu must be held.
func (s *Server) recordLocked(method string, req *request, status int) {
	params := map[string]string{}
	if req != nil {
		for k, v := range req.params {
			params[k] = v
		}
		for k, u := range req.files {
			params[k] = "@" + u.name
		}
	}
	if status == http.StatusTooManyRequests {
		s.tooMany++
	}
	now := time.Now()
	s.calls = append(s.calls, Call{Method: method, Params: params, At: now, Status: status})
	if s.opts.OnCall != nil && status == http.StatusOK {
		if chat, err := strconv.ParseInt(params["chat_id"], 10, 64); err == nil {
			s.opts.OnCall(method, chat, now)
		}
	}
	s.notifyLocked()
}

func (s *Server) dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		s.logf("dropping connection: %v", err)
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// parseRequest collects the parameters of a call from the URL query and a
// multipart, urlencoded or JSON body.
func parseRequest(r *http.Request) (*request, *apiError) {
	req := &request{ctx: r.Context(), params: map[string]string{}, files: map[string]*upload{}}
	for k, vs := range r.URL.Query() {
		if len(vs) > 0 {
			req.params[k] = vs[0]
		}
	}
	if r.Body == nil {
		return req, nil
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return nil, badRequest("can't read request body: %v", err)
	}
	if len(body) > maxBody {
		return nil, &apiError{code: http.StatusRequestEntityTooLarge, desc: "Request Entity Too Large"}
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return req, nil
	}
	ctype, cparams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ctype {
	case "multipart/form-data":
		if aerr := parseMultipart(req, body, cparams["boundary"]); aerr != nil {
			return nil, aerr
		}
	case "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, badRequest("can't parse request parameters")
		}
		for k, vs := range vals {
			if len(vs) > 0 {
				req.params[k] = vs[0]
			}
		}
	case "application/json":
		if aerr := parseJSONParams(req.params, body); aerr != nil {
			return nil, aerr
		}
	}
	return req, nil
}

func parseMultipart(req *request, body []byte, boundary string) *apiError {
	if boundary == "" {
		return badRequest("can't parse multipart/form-data: no boundary")
	}
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return badRequest("can't parse multipart/form-data")
		}
		data, err := io.ReadAll(part)
		if err != nil {
			return badRequest("can't parse multipart/form-data")
		}
		name := part.FormName()
		if name == "" {
			continue
		}
		if fn := part.FileName(); fn != "" {
			if len(data) > maxUpload {
				return &apiError{code: http.StatusRequestEntityTooLarge, desc: "Request Entity Too Large"}
			}
			req.files[name] = &upload{name: fn, ctype: part.Header.Get("Content-Type"), data: data}
			continue
		}
		req.params[name] = string(data)
	}
}

// parseJSONParams flattens a JSON object: strings stay as they are, other
// values keep their JSON text (as multipart sends nested objects).
func parseJSONParams(dst map[string]string, body []byte) *apiError {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return badRequest("can't parse JSON encoded request parameters")
	}
	for k, raw := range obj {
		raw = bytes.TrimSpace(raw)
		switch {
		case bytes.Equal(raw, []byte("null")):
		case len(raw) > 0 && raw[0] == '"':
			var sv string
			if err := json.Unmarshal(raw, &sv); err != nil {
				return badRequest("can't parse JSON encoded request parameters")
			}
			dst[k] = sv
		default:
			dst[k] = string(raw)
		}
	}
	return nil
}

// Parameter helpers. Telegram is lenient: numbers may come as strings, and
// invalid values count as absent.

func (r *request) str(name string) string { return r.params[name] }

func (r *request) has(name string) bool {
	_, ok := r.params[name]
	return ok
}

func (r *request) int64(name string) int64 {
	return parseInt(r.params[name])
}

func (r *request) int(name string) int {
	v := r.int64(name)
	if v > 1<<31-1 || v < -(1<<31) {
		return 0
	}
	return int(v)
}

func (r *request) bool(name string) bool {
	switch strings.ToLower(strings.TrimSpace(r.params[name])) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

func parseInt(s string) int64 {
	s = strings.Trim(strings.TrimSpace(s), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != float64(int64(f)) {
			return 0
		}
		return int64(f)
	}
	return v
}

// chatParam is the numeric chat_id of a call, 0 when absent or not numeric.
func chatParam(params map[string]string) int64 {
	return parseInt(params["chat_id"])
}

// chatID resolves the chat_id parameter. Usernames are not known to the
// fake, so they are "chat not found" like an unknown chat.
func (r *request) chatID(name string) (int64, *apiError) {
	v := strings.TrimSpace(r.params[name])
	if v == "" {
		return 0, badRequest("chat not found")
	}
	id := parseInt(v)
	if id == 0 {
		return 0, badRequest("chat not found")
	}
	return id, nil
}

func (r *request) intList(name string) ([]int, bool) {
	var ids []int
	if err := json.Unmarshal([]byte(r.params[name]), &ids); err != nil {
		return nil, false
	}
	return ids, true
}

func (r *request) stringList(name string) ([]string, bool) {
	var v []string
	if err := json.Unmarshal([]byte(r.params[name]), &v); err != nil {
		return nil, false
	}
	return v, true
}

func errorf(format string, args ...any) error {
	return fmt.Errorf("fakeapi: "+format, args...)
}
