package bot

import (
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/aimabot/aimabot/bot/fakeapi"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// In polling mode too, LISTEN_ADDR serves the metrics, health and
// readiness; every series is prefixed aimabot_.
func TestOps(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	addr := freeAddr(t)
	h.start(false, func(c *Config) { c.ListenAddr = addr })
	chat := int64(8101)
	h.lostCard(chat)
	h.do(chat, func() { h.srv.UserText(chat, "how much does the second copy cost?") }, "Here is exactly what to do")

	if code, body := get(t, "http://"+addr+"/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d %q; want 200", code, body)
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %q; want 200", code, body)
	}
	code, body := get(t, "http://"+addr+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`aimabot_updates_total{kind="message",outcome="applied"}`,
		`aimabot_updates_total{kind="button",outcome="applied"} 6`,
		`aimabot_update_seconds_count`,
		`aimabot_outbox_depth`,
		`aimabot_outbox_oldest_seconds`,
		`aimabot_faq_total{result="matched"} 1`,
		`aimabot_cases_waiting 0`,
		`aimabot_store_up 1`,
		`aimabot_go_goroutines`,
		`aimabot_process_resident_memory_bytes`,
		`aimabot_telegram_429_total 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "aimabot_") {
			t.Errorf("series without the aimabot_ prefix: %s", line)
		}
	}
}

// In webhook mode the operator's endpoints share the webhook's listener.
func TestOpsWebhookMode(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	b := h.start(true)
	chat := int64(8102)
	h.toExpiry(chat)
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := get(t, "http://"+b.cfg.ListenAddr+path); code != http.StatusOK {
			t.Errorf("%s in webhook mode = %d %q; want 200", path, code, body)
		}
	}
	if code, body := get(t, "http://"+b.cfg.ListenAddr+"/metrics"); code != http.StatusOK ||
		!strings.Contains(body, `aimabot_updates_total{kind="button",outcome="applied"} 3`) ||
		!strings.Contains(body, "aimabot_store_round_trips_total") {
		t.Errorf("/metrics in webhook mode = %d, without the updates or the store's round trips:\n%.2000s", code, body)
	}
}
