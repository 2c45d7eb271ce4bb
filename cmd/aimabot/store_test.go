package main

import (
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// openStore keys the name of what an erasure leaves with the secret it is
// given (serve's token), on either store.
func TestOpenStoreHashSecret(t *testing.T) {
	url := storetest.StartRedis(t)
	prefix := storetest.RedisPrefix(t, url)
	for _, c := range []struct {
		name string
		env  map[string]string
	}{
		{"embedded", nil},
		{"redis", map[string]string{"REDIS_URL": url, "REDIS_PREFIX": prefix}},
	} {
		t.Run(c.name, func(t *testing.T) {
			const token, chat = "123:secret-token", 7104285951
			st, err := openStore(t.Context(), slog.New(slog.DiscardHandler), func(k string) string { return c.env[k] }, t.TempDir(), token)
			if err != nil {
				t.Fatalf("openStore: %v", err)
			}
			defer st.Close()
			if _, err := st.Apply(t.Context(), chat, 1, "a", time.Minute, func([]byte) (store.Change, error) {
				return store.Change{Forget: true}, nil
			}); err != nil {
				t.Fatalf("Apply: %v", err)
			}
			keys, err := st.(store.Inspector).Keys(t.Context(), chat)
			if err != nil {
				t.Fatalf("Keys: %v", err)
			}
			name := store.NewChatHash(token).Name(chat)
			if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, name) }) {
				t.Errorf("Keys(%d) after an erasure = %q; want one named %s, the token's hash", chat, keys, name)
			}
		})
	}
}
