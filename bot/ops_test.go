package bot

import (
	"io"
	"net"
	"net/http"
	"os"
	"regexp"
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
// readiness; every series is aimabot_, or the runtime's go_ and process_
// under their standard names; readiness is the store's, not Telegram's.
func TestOps(t *testing.T) {
	h := newHarness(t, openRedis(t), fakeapi.Options{})
	addr := freeAddr(t)
	h.start(false, func(c *Config) { c.ListenAddr = addr })
	chat := int64(8101)
	h.lostCard(chat)
	// One 429 on the way, so that the errors' series has a sample.
	h.srv.Inject(fakeapi.Fault{Method: "sendMessage", Chat: chat, Status: 429, RetryAfter: 1})
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
		`aimabot_events_total{event="faq_matched"} 1`,
		`aimabot_cases_waiting 0`,
		`aimabot_store_up 1`,
		`aimabot_telegram_up 1`,
		`aimabot_telegram_errors_total{code="429",method="sendMessage"} 1`,
		`aimabot_build_info{commit=`,
		`go_goroutines`,
		`process_resident_memory_bytes`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	for _, line := range strings.Split(body, "\n") {
		if line != "" && !strings.HasPrefix(line, "#") && !strings.HasPrefix(line, "aimabot_") &&
			!strings.HasPrefix(line, "go_") && !strings.HasPrefix(line, "process_") {
			t.Errorf("series neither aimabot_ nor the standard go_ and process_: %s", line)
		}
	}
	// One series per fact: what the events count is not counted again.
	for _, dup := range []string{"aimabot_faq_total", "aimabot_reminders_sent_total", "aimabot_telegram_429_total", "aimabot_go_"} {
		if strings.Contains(body, dup) {
			t.Errorf("/metrics still has %s", dup)
		}
	}
	// The shipped alert rules and dashboard use only series the bot has.
	names := regexp.MustCompile(`\b((?:aimabot|go|process)_[a-z0-9_]+)`)
	for _, f := range []string{"../deploy/alerts.yaml", "../deploy/grafana-dashboard.json"} {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range names.FindAllStringSubmatch(string(raw), -1) {
			name := m[1]
			for _, suffix := range []string{"_bucket", "_count", "_sum"} {
				name = strings.TrimSuffix(name, suffix)
			}
			if !strings.Contains(body, "# TYPE "+name+" ") {
				t.Errorf("%s uses %s, which /metrics does not have", f, m[1])
			}
		}
	}

	// Telegram away: the replica stays ready (its store answers), and
	// says Telegram is down in its own series.
	h.srv.Inject(fakeapi.Fault{Method: "getUpdates", Status: 502, Times: 1000})
	ctx, cancel := wait(t)
	defer cancel()
	if err := eventually(ctx, func() bool {
		_, body := get(t, "http://"+addr+"/metrics")
		return strings.Contains(body, "aimabot_telegram_up 0")
	}); err != nil {
		t.Errorf("aimabot_telegram_up did not fall to 0 with getUpdates answering 502")
	}
	if code, body := get(t, "http://"+addr+"/readyz"); code != http.StatusOK {
		t.Errorf("/readyz with Telegram away = %d %q; want 200 (the store answers)", code, body)
	}
	h.srv.ClearFaults()
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
	// The last update is counted once its webhook call is answered, which
	// may be just after its reply reached the applicant.
	ctx, cancel := wait(t)
	defer cancel()
	var code int
	var body string
	if err := eventually(ctx, func() bool {
		code, body = get(t, "http://"+b.cfg.ListenAddr+"/metrics")
		return code == http.StatusOK && strings.Contains(body, `aimabot_updates_total{kind="button",outcome="applied"} 3`) &&
			strings.Contains(body, "aimabot_store_round_trips_total")
	}); err != nil {
		t.Errorf("/metrics in webhook mode = %d, without the updates or the store's round trips:\n%s", code, body)
	}
}
