package store_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/aimabot/aimabot/store"
	"github.com/aimabot/aimabot/store/storetest"
)

// The whole conformance suite on a three-master Redis Cluster: each chat's
// keys live on one node, the wake index on another, and the scans that
// find pending chats and a chat's keys visit every master.
func TestRedisClusterConformance(t *testing.T) {
	c := storetest.StartRedisCluster(t)
	storetest.Run(t, func(t *testing.T, ttl time.Duration) store.Store {
		// The cluster is this test's own: a prefix per subtest keeps them
		// apart, and the cluster's end removes every key.
		r, err := store.OpenRedis(testLogger(t), c.URL, store.RedisOptions{Prefix: t.Name() + ":", TTL: ttl, ForgottenTTL: ttl})
		if err != nil {
			t.Fatalf("OpenRedis(cluster): %v", err)
		}
		t.Cleanup(func() { _ = r.Close() })
		return r
	})
}

// A URL naming one node of a cluster is enough: the store notices the
// cluster and follows its slot map, so chats whose keys live on the other
// nodes work too.
func TestRedisClusterFromOneNode(t *testing.T) {
	c := storetest.StartRedisCluster(t)
	ctx := t.Context()
	r, err := store.OpenRedis(testLogger(t), "redis://"+c.Addrs[1]+"/0", store.RedisOptions{Prefix: "one:"})
	if err != nil {
		t.Fatalf("OpenRedis(one node of a cluster): %v", err)
	}
	t.Cleanup(func() { _ = r.Close() })
	nodes := map[string]bool{}
	for chat := range int64(30) {
		want := []byte{byte(chat)}
		if err := r.Update(ctx, chat, func([]byte) ([]byte, error) { return want, nil }); err != nil {
			t.Fatalf("Update(%d): %v", chat, err)
		}
		got, ok, err := r.Get(ctx, chat)
		if err != nil || !ok || string(got) != string(want) {
			t.Fatalf("Get(%d) = %q, %v, %v; want %q", chat, got, ok, err, want)
		}
		nodes[nodeOf(t, c, "one:{chat:"+strconv.FormatInt(chat, 10)+"}:session")] = true
	}
	if len(nodes) != 3 {
		t.Errorf("30 chats' sessions are on %d nodes; want all 3 (is the store talking to one node only?)", len(nodes))
	}

	if _, err := store.OpenRedis(testLogger(t), "redis://"+c.Addrs[0]+"/2", store.RedisOptions{}); err == nil ||
		!strings.Contains(err.Error(), "database 0") {
		t.Errorf("OpenRedis(cluster node, db 2) = %v; want an error saying a cluster has only database 0", err)
	}
}

// nodeOf is the address of the node holding key.
func nodeOf(t *testing.T, c *storetest.RedisCluster, key string) string {
	t.Helper()
	for _, a := range c.Addrs {
		n := redis.NewClient(&redis.Options{Addr: a})
		slot, err := n.ClusterKeySlot(t.Context(), key).Result()
		if err != nil {
			n.Close()
			t.Fatalf("CLUSTER KEYSLOT %s: %v", key, err)
		}
		cnt, err := n.ClusterCountKeysInSlot(t.Context(), int(slot)).Result()
		n.Close()
		if err != nil {
			t.Fatalf("CLUSTER COUNTKEYSINSLOT %d on %s: %v", slot, a, err)
		}
		if cnt > 0 {
			return a
		}
	}
	t.Fatalf("no node holds %s", key)
	return ""
}
