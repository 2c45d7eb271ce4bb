package bot

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/flows"
	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// An outage of an idle bot's store, seen only by the readiness probe, is
// logged when it starts and when it ends, with a length no shorter than
// the time Redis was away.
func TestStoreOutageLogged(t *testing.T) {
	rp, h := redisProcessHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ready := h.startReady(ctx)

	rp.Stop(t)
	stopped := time.Now()
	if err := eventually(ctx, func() bool { return probe(ready) == http.StatusServiceUnavailable }); err != nil {
		t.Fatal("/readyz did not report the store down")
	}
	if err := eventually(ctx, func() bool { return strings.Contains(h.logs.String(), "the store is unreachable") }); err != nil {
		t.Fatalf("the outage's start was not logged:\n%s", h.logs)
	}
	away := time.Since(stopped)
	rp.Start(t)
	if err := eventually(ctx, func() bool { return probe(ready) == http.StatusOK }); err != nil {
		t.Fatal("/readyz did not say ready after the outage")
	}
	logs := h.logs.String()
	if c := strings.Count(logs, "the store is unreachable"); c != 1 {
		t.Errorf("the outage's start was logged %d times; want once:\n%s", c, logs)
	}
	m := regexp.MustCompile(`the store is reachable again[^\n]* outage=(\S+)`).FindStringSubmatch(logs)
	if m == nil {
		t.Fatalf("the outage's end was not logged:\n%s", logs)
	}
	logged, err := time.ParseDuration(m[1])
	if err != nil {
		t.Fatalf("outage=%q: %v", m[1], err)
	}
	if logged < away {
		t.Errorf("logged outage = %v; want at least the %v Redis was known to be away", logged, away)
	}
}

// probe is the status /readyz answers, 0 while it does not answer.
func probe(url string) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

// aimabot_outbox_depth counts every waiting message, however many chats
// and messages wait.
func TestOutboxDepthMetric(t *testing.T) {
	forEachStore(t, func(t *testing.T, open func(testing.TB) store.Store) {
		h := newHarness(t, open(t), fakeapi.Options{})
		ctx := context.Background()
		// Undelivered replies, as a long Telegram outage leaves them:
		// 1,500 in one chat and one in each of 1,200 others.
		msg := []byte(`{"kind":"send","text":"x"}`)
		many := make([][]byte, 1500)
		for i := range many {
			many[i] = msg
		}
		apply := func(chat int64, out [][]byte) {
			_, err := h.st.Apply(ctx, chat, 1, "elsewhere", time.Minute, func([]byte) (store.Change, error) {
				return store.Change{Session: []byte("{}"), Outbox: out}, nil
			})
			if err != nil {
				t.Error(err)
			}
		}
		apply(1, many)
		// Many at once: the embedded store commits concurrent writes
		// together, as under load.
		var wg sync.WaitGroup
		chats := make(chan int64)
		for range 32 {
			wg.Go(func() {
				for chat := range chats {
					apply(chat, [][]byte{msg})
				}
			})
		}
		for chat := int64(2); chat <= 1201; chat++ {
			chats <- chat
		}
		close(chats)
		wg.Wait()
		b := h.newBot() // not running: nothing is delivered
		rec := httptest.NewRecorder()
		b.OpsHandler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
		m := regexp.MustCompile(`(?m)^aimabot_outbox_depth (\S+)$`).FindStringSubmatch(rec.Body.String())
		if m == nil {
			t.Fatalf("/metrics lacks aimabot_outbox_depth:\n%s", rec.Body)
		}
		if want := "2700"; m[1] != want {
			t.Errorf("aimabot_outbox_depth = %s; want %s", m[1], want)
		}
	})
}

// Replies whose delivery could not start while the store was away (here, a
// reply committed by a replica that stopped before sending it) go out as
// soon as the store is back, not at the next periodic look half a minute
// later.
func TestRepliesGoOutWhenStoreIsBack(t *testing.T) {
	rp, h := redisProcessHarness(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ready := h.startReady(ctx)
	const chat = int64(6301)
	session, err := flows.Session{}.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	out, err := encodeOps(render([]flows.Reply{{Text: "left behind"}}), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.Apply(ctx, chat, 1, "replica-gone", time.Millisecond, func([]byte) (store.Change, error) {
		return store.Change{Session: session, Outbox: out}, nil
	}); err != nil {
		t.Fatal(err)
	}
	rp.Stop(t)
	if err := eventually(ctx, func() bool { return probe(ready) == http.StatusServiceUnavailable }); err != nil {
		t.Fatal("/readyz did not report the store down")
	}
	rp.Start(t)
	if err := eventually(ctx, func() bool { return probe(ready) == http.StatusOK }); err != nil {
		t.Fatal("/readyz did not report the store back")
	}
	h.expect(chat, "left behind")
}

// redisProcessHarness is a harness on a redis-server of its own, which the
// test may stop and start.
func redisProcessHarness(t *testing.T) (*storetest.RedisProcess, *harness) {
	t.Helper()
	rp := storetest.StartRedisProcess(t)
	st, err := store.OpenRedis(nil, rp.URL, store.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return rp, newHarness(t, st, fakeapi.Options{})
}

// startReady starts a webhook replica whose waker looks rarely, waits
// until its /readyz says ready, and returns that address.
func (h *harness) startReady(ctx context.Context) string {
	h.t.Helper()
	b := h.start(true, func(c *Config) { c.WakeEvery = time.Hour })
	ready := "http://" + b.cfg.ListenAddr + "/readyz"
	if err := eventually(ctx, func() bool { return probe(ready) == http.StatusOK }); err != nil {
		h.t.Fatal("/readyz never said ready")
	}
	return ready
}
