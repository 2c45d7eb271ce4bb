package bot

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
)

// Hundreds of connections that stall (sending nothing, half the headers,
// or the headers with the right secret and not the body) are each closed
// after the read timeout, the listener never holds more than its limit at
// once, and meanwhile /healthz and a real webhook update are answered.
func TestStalledConnections(t *testing.T) {
	h := newHarness(t, openBolt(t), fakeapi.Options{})
	const limit = 32
	b := h.start(true, func(c *Config) { c.ListenReadTimeout, c.ListenMaxConns = 300*time.Millisecond, limit })
	chat := int64(5701)
	h.do(chat, func() { h.srv.UserText(chat, "/start") }, "Which language") // the webhook is set and served
	addr := b.cfg.ListenAddr
	stalls := []struct {
		name string
		send string
	}{
		{"nothing", ""},
		{"half the headers", "POST /hook HTTP/1.1\r\nHost: bot\r\nContent-Type: appli"},
		{"the headers and not the body", "POST /hook HTTP/1.1\r\nHost: bot\r\nContent-Type: application/json\r\n" +
			"X-Telegram-Bot-Api-Secret-Token: " + b.cfg.WebhookSecret + "\r\nContent-Length: 5000\r\n\r\n{\"update_id\":"},
	}
	type stalled struct {
		kind string
		conn net.Conn
	}
	var conns []stalled
	for i := range 300 {
		s := stalls[i%len(stalls)]
		c, err := net.DialTimeout("tcp", addr, 10*time.Second)
		if err != nil {
			t.Fatalf("dial %d: %v", i, err)
		}
		t.Cleanup(func() { c.Close() })
		if s.send != "" {
			if _, err := io.WriteString(c, s.send); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		conns = append(conns, stalled{s.name, c})
	}

	client := &http.Client{Timeout: 20 * time.Second}
	resp, err := client.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("/healthz behind 300 stalled connections: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz behind 300 stalled connections = %d; want 200", resp.StatusCode)
	}
	h.do(chat, func() { h.srv.UserPressLabel(chat, "English") }, "What happened?")

	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hook", strings.NewReader("{}"))
	req.Header.Set("X-Padding", strings.Repeat("x", 64<<10))
	if resp, err := client.Do(req); err != nil {
		t.Errorf("a request with 64 KB of headers: %v", err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("a request with 64 KB of headers = %d; want 431", resp.StatusCode)
		}
	}

	deadline := time.Now().Add(20 * time.Second)
	open := 0
	for i, s := range conns {
		s.conn.SetReadDeadline(deadline)
		_, err := io.Copy(io.Discard, bufio.NewReader(s.conn))
		if errors.Is(err, os.ErrDeadlineExceeded) && open < 5 {
			t.Errorf("stalled connection %d (%s) still open 20 s later; want it closed after the 300 ms read timeout", i, s.kind)
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			open++
		}
	}
	if open > 0 {
		t.Errorf("%d of %d stalled connections still open 20 s later; want none", open, len(conns))
	}
	if peak := b.listener.Load().peak.Load(); peak > limit {
		t.Errorf("connections held at once = %d; want at most %d", peak, limit)
	}
}

// An update over the webhook's size limit is answered 413, whether its
// Content-Length says so or its body turns out longer.
func TestWebhookTooLarge(t *testing.T) {
	st := openBolt(t)
	h := newHarness(t, st, fakeapi.Options{})
	flow, _ := flows.New()
	b, err := New(slog.New(slog.NewTextHandler(h.logs, nil)), Config{Token: h.srv.Token(), APIURL: h.srv.URL(),
		WebhookSecret: "right-secret-0123456789"}, st, flow)
	if err != nil {
		t.Fatal(err)
	}
	defer b.send.stop()
	big := `{"update_id":1,"message":{"text":"` + strings.Repeat("a", maxWebhookBody) + `"}}`
	for _, tt := range []struct {
		name    string
		length  int64 // the Content-Length sent; -1 for none (chunked)
		wantErr int
	}{
		{"Content-Length over the limit", int64(len(big)), http.StatusRequestEntityTooLarge},
		{"a chunked body over the limit", -1, http.StatusRequestEntityTooLarge},
	} {
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(big))
		req.ContentLength = tt.length
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", "right-secret-0123456789")
		rec := httptest.NewRecorder()
		b.WebhookHandler().ServeHTTP(rec, req)
		if rec.Code != tt.wantErr {
			t.Errorf("%s: status = %d; want %d", tt.name, rec.Code, tt.wantErr)
		}
	}
}
