package storetest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterReadyDeadline bounds how long the nodes may take to agree on the
// slot map after CLUSTER MEET.
const clusterReadyDeadline = 30 * time.Second

// RedisCluster is a Redis Cluster of three masters, each owning a third of
// the hash slots, started by a test from the redis-server on PATH.
type RedisCluster struct {
	// URL names every node: redis://127.0.0.1:<p1>?addr=127.0.0.1:<p2>&addr=127.0.0.1:<p3>.
	URL string
	// Addrs are the nodes' host:port.
	Addrs []string
}

// StartRedisCluster starts a three-master Redis Cluster of t's own on free
// loopback ports, keeping nothing on disk but each node's cluster
// configuration, waits until every node reports the whole slot map, and
// stops it when t ends. A missing redis-server fails t.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	bin := redisBinary(t)
	const masters = 3
	c := &RedisCluster{}
	for i := range masters {
		dir := filepath.Join(t.TempDir(), "node"+strconv.Itoa(i))
		srv, port := startOnFreePort(t, bin, mkdir(t, dir), false,
			"--cluster-enabled", "yes", "--cluster-config-file", filepath.Join(dir, "nodes.conf"),
			"--cluster-node-timeout", "5000")
		t.Cleanup(func() {
			if err := srv.stop(); err != nil {
				t.Errorf("stopping cluster node on port %d: %v", port, err)
			}
		})
		c.Addrs = append(c.Addrs, net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), clusterReadyDeadline)
	defer cancel()
	if err := formCluster(ctx, c.Addrs); err != nil {
		t.Fatalf("forming a redis cluster of %v: %v", c.Addrs, err)
	}
	c.URL = "redis://" + c.Addrs[0] + "?addr=" + strings.Join(c.Addrs[1:], "&addr=")
	return c
}

func mkdir(t testing.TB, dir string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// formCluster gives each node an equal range of the 16384 slots, makes them
// meet, and waits until each reports cluster_state:ok with every node known.
func formCluster(ctx context.Context, addrs []string) error {
	const slots = 16384
	nodes := make([]*redis.Client, len(addrs))
	for i, a := range addrs {
		nodes[i] = redis.NewClient(&redis.Options{Addr: a, DialTimeout: time.Second, ReadTimeout: 2 * time.Second})
		defer nodes[i].Close()
	}
	for i, n := range nodes {
		lo, hi := i*slots/len(nodes), (i+1)*slots/len(nodes)-1
		if err := n.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			return fmt.Errorf("node %s: CLUSTER ADDSLOTSRANGE %d %d: %w", addrs[i], lo, hi, err)
		}
	}
	for _, a := range addrs[1:] {
		host, port, _ := net.SplitHostPort(a)
		if err := nodes[0].ClusterMeet(ctx, host, port).Err(); err != nil {
			return fmt.Errorf("CLUSTER MEET %s: %w", a, err)
		}
	}
	want := "cluster_known_nodes:" + strconv.Itoa(len(addrs))
	for {
		ready := true
		for i, n := range nodes {
			info, err := n.ClusterInfo(ctx).Result()
			if err != nil {
				return fmt.Errorf("node %s: CLUSTER INFO: %w", addrs[i], err)
			}
			if !strings.Contains(info, "cluster_state:ok") || !strings.Contains(info, want) ||
				!strings.Contains(info, "cluster_slots_ok:16384") {
				ready = false
			}
		}
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the nodes did not agree on the slot map: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
