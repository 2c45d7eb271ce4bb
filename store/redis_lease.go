package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The lease scripts touch only one chat's keys (one "{chat:<id>}" hash
// tag, so one Redis Cluster slot), or a single global key.

// acquireScript takes a free lease or renews the owner's.
//
//	KEYS[1]  the lease
//	ARGV[1]  the owner
//	ARGV[2]  TTL in milliseconds
//
// It returns 1 when the owner holds the lease, 0 when another does.
const acquireScript = `
local holder = redis.call('GET', KEYS[1])
if not holder then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`

// releaseScript gives up the owner's send lease unless messages are pending.
//
//	KEYS[1]  the chat's outbox
//	KEYS[2]  the chat's send lease
//	ARGV[1]  the owner
//
// It returns 1 when the owner keeps the lease because messages are pending,
// 0 otherwise (released, or not the owner's).
const releaseScript = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
if redis.call('XLEN', KEYS[1]) > 0 then
  return 1
end
redis.call('DEL', KEYS[2])
return 0
`

// AcquireSend implements [Store]: one EVALSHA.
func (r *Redis) AcquireSend(ctx context.Context, chat int64, owner string, ttl time.Duration) (bool, error) {
	ok, err := r.takeLease(ctx, r.chatKey(chat, "sender"), owner, ttl)
	if err != nil {
		return false, fmt.Errorf("store: redis acquire send lease: %w", err)
	}
	return ok, nil
}

// Lease implements [Store]: one EVALSHA on "<prefix>lease:<name>".
func (r *Redis) Lease(ctx context.Context, name, owner string, ttl time.Duration) (bool, error) {
	if name == "" {
		return false, errors.New("store: redis lease: empty lease name")
	}
	ok, err := r.takeLease(ctx, r.prefix+"lease:"+name, owner, ttl)
	if err != nil {
		return false, fmt.Errorf("store: redis lease %q: %w", name, err)
	}
	return ok, nil
}

// takeLease runs the acquire script on key.
func (r *Redis) takeLease(ctx context.Context, key, owner string, ttl time.Duration) (bool, error) {
	if err := checkLease(owner, ttl); err != nil {
		return false, err
	}
	n, err := r.acquire.Run(ctx, r.client, []string{key}, owner, millis(ttl)).Int64()
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// ReleaseSend implements [Store]: one EVALSHA.
func (r *Redis) ReleaseSend(ctx context.Context, chat int64, owner string) (bool, error) {
	if owner == "" {
		return false, errors.New("store: redis release send lease: empty lease owner")
	}
	keys := []string{r.chatKey(chat, "outbox"), r.chatKey(chat, "sender")}
	n, err := r.release.Run(ctx, r.client, keys, owner).Int64()
	if err != nil {
		return false, fmt.Errorf("store: redis release send lease: %w", err)
	}
	return n == 1, nil
}
