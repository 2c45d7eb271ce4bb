package main

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aimabot/aimabot/bot/fakeapi"
	"github.com/aimabot/aimabot/store/storetest"
)

// With LOG_FORMAT=json every line on stderr is JSON, go-redis's own too,
// while Redis is away and when it comes back.
func TestJSONLogsThroughRedisOutage(t *testing.T) {
	rp := storetest.StartRedisProcess(t)
	srv := fakeapi.New(fakeapi.Options{})
	t.Cleanup(srv.Close)
	cmd := exec.Command(os.Args[0], "serve")
	cmd.Env = append(os.Environ(), "AIMABOT_TEST_MAIN=1", "TELEGRAM_BOT_TOKEN="+srv.Token(), "TELEGRAM_API_URL="+srv.URL(),
		"REDIS_URL="+rp.URL, "LOG_FORMAT=json", "LISTEN_ADDR=127.0.0.1:0", "REPLICA_ID=json-logs")
	stderr := &syncBuf{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := srv.WaitFor(ctx, func() bool { return srv.Polls() > 0 }); err != nil {
		t.Fatalf("the bot never polled:\n%s", stderr)
	}
	rp.Stop(t)
	srv.UserText(1, "/start")
	// go-redis says its pool cannot dial; the bot logs the outage.
	for _, want := range []string{"failed to dial", "the store is unreachable"} {
		if err := eventuallyTrue(ctx, func() bool { return strings.Contains(stderr.String(), want) }); err != nil {
			t.Fatalf("no log line containing %q during the outage:\n%s", want, stderr)
		}
	}
	rp.Start(t)
	if _, err := srv.WaitMessages(ctx, 1, 1); err != nil {
		t.Fatalf("no reply after Redis came back:\n%s", stderr)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("after SIGTERM: %v; want exit 0", err)
	}
	for i, line := range strings.Split(strings.TrimSpace(stderr.String()), "\n") {
		if !json.Valid([]byte(line)) {
			t.Errorf("stderr line %d is not JSON: %s", i+1, line)
		}
	}
}

// eventuallyTrue polls cond until it holds or ctx ends.
func eventuallyTrue(ctx context.Context, cond func() bool) error {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	return nil
}
