package bot

import (
	"context"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// An outage of an idle bot's store, seen only by the readiness probe, is
// logged when it starts and when it ends, with a length no shorter than
// the time Redis was away.
func TestStoreOutageLogged(t *testing.T) {
	rp := storetest.StartRedisProcess(t)
	st, err := store.OpenRedis(nil, rp.URL, store.RedisOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := newHarness(t, st, fakeapi.Options{})
	b := h.start(true, func(c *Config) { c.WakeEvery = time.Hour })
	ready := "http://" + b.cfg.ListenAddr + "/readyz"
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := eventually(ctx, func() bool { return probe(ready) == http.StatusOK }); err != nil {
		t.Fatal("/readyz never said ready")
	}

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
