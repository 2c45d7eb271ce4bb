package store

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The Lua scripts below touch only keys of one chat (one "{chat:<id>}" hash
// tag, so one Redis Cluster slot), or a single global key.

// dropStreamLua defines dropStream(key), which deletes an emptied outbox
// stream so that nothing is left naming a chat that has no session, without
// letting ids repeat: a new stream takes its ids from the clock, so the old
// one is deleted at once only when its last id is from an earlier
// millisecond than now; otherwise it expires just after that millisecond.
// Either way a stream created after it gets only later ids, and an Ack of
// an old id cannot remove a new message.
const dropStreamLua = `
local function dropStream(key)
  if redis.call('EXISTS', key) == 0 then
    return
  end
  local info = redis.call('XINFO', 'STREAM', key)
  local last = 0
  for i = 1, #info, 2 do
    if info[i] == 'last-generated-id' then
      last = tonumber(string.match(info[i + 1], '^(%d+)-'))
    end
  end
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if last < now then
    redis.call('DEL', key)
  else
    redis.call('PEXPIRE', key, last - now + 1)
  end
end
`

// ackScript removes sent messages and renews the owner's send lease.
// It leaves an emptied outbox stream of a chat with a session in place,
// although SCAN then finds it: a new stream would start its ids afresh from
// the clock, and within the same millisecond hand out an id just
// acknowledged, which a retried Ack would then delete unsent. The stream
// expires with the chat. A chat without a session (forgotten, or erased
// with a last message) gets its emptied stream dropped (dropStream), which
// avoids that, so that nothing but its applied ids is left.
//
//	KEYS[1]  the chat's outbox
//	KEYS[2]  the chat's send lease
//	KEYS[3]  the chat's session
//	ARGV[1]  the owner
//	ARGV[2]  lease TTL in milliseconds
//	ARGV[3…] the messages' stream ids
const ackScript = dropStreamLua + `
redis.call('XDEL', KEYS[1], unpack(ARGV, 3))
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
if redis.call('XLEN', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[3]) == 0 then
  dropStream(KEYS[1])
end
return 0
`

// ackReleaseScript removes sent messages, then renews the owner's send
// lease if messages remain, or gives it up. An emptied stream is dropped as
// in ackScript.
//
//	KEYS[1]  the chat's outbox
//	KEYS[2]  the chat's send lease
//	KEYS[3]  the chat's session
//	ARGV[1]  the owner
//	ARGV[2]  lease TTL in milliseconds
//	ARGV[3…] the messages' stream ids
//
// It returns 1 when messages remain and the owner keeps the lease, else 0.
const ackReleaseScript = dropStreamLua + `
redis.call('XDEL', KEYS[1], unpack(ARGV, 3))
if redis.call('XLEN', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[3]) == 0 then
  dropStream(KEYS[1])
end
if redis.call('GET', KEYS[2]) ~= ARGV[1] then
  return 0
end
if redis.call('XLEN', KEYS[1]) > 0 then
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
  return 1
end
redis.call('DEL', KEYS[2])
return 0
`

const (
	// The stream field holding a message.
	redisMsgField = "d"
	// SCAN's COUNT hint for PendingChats.
	redisScanCount = 500
)

// millis is d in whole milliseconds, as a script argument.
func millis(d time.Duration) string { return strconv.FormatInt(d.Milliseconds(), 10) }

// Outbox implements [Store]: one XRANGE.
func (r *Redis) Outbox(ctx context.Context, chat int64, n int) ([]OutMsg, error) {
	if n <= 0 {
		return nil, nil
	}
	msgs, err := r.client.XRangeN(ctx, r.chatKey(chat, "outbox"), "-", "+", int64(n)).Result()
	if err != nil {
		return nil, fmt.Errorf("store: redis outbox: %w", err)
	}
	if len(msgs) == 0 {
		return nil, nil
	}
	out := make([]OutMsg, 0, len(msgs))
	for _, m := range msgs {
		data, ok := m.Values[redisMsgField].(string)
		if !ok {
			return nil, fmt.Errorf("store: redis outbox: message %s has no %q field", m.ID, redisMsgField)
		}
		out = append(out, OutMsg{ID: m.ID, Data: []byte(data)})
	}
	return out, nil
}

// Ack implements [Store]: one EVALSHA.
func (r *Redis) Ack(ctx context.Context, chat int64, ids []string, owner string, leaseTTL time.Duration) error {
	if err := checkAck(ids, owner, leaseTTL); err != nil {
		return fmt.Errorf("store: redis ack: %w", err)
	}
	keys := []string{r.chatKey(chat, "outbox"), r.chatKey(chat, "sender"), r.chatKey(chat, "session")}
	if err := r.ack.Run(ctx, r.client, keys, ackArgs(ids, owner, leaseTTL)...).Err(); err != nil {
		return fmt.Errorf("store: redis ack: %w", err)
	}
	return nil
}

// AckRelease implements [Store]: one EVALSHA.
func (r *Redis) AckRelease(ctx context.Context, chat int64, ids []string, owner string, leaseTTL time.Duration) (bool, error) {
	if err := checkAck(ids, owner, leaseTTL); err != nil {
		return false, fmt.Errorf("store: redis ack and release: %w", err)
	}
	keys := []string{r.chatKey(chat, "outbox"), r.chatKey(chat, "sender"), r.chatKey(chat, "session")}
	n, err := r.ackRelease.Run(ctx, r.client, keys, ackArgs(ids, owner, leaseTTL)...).Int64()
	if err != nil {
		return false, fmt.Errorf("store: redis ack and release: %w", err)
	}
	return n == 1, nil
}

// ackArgs are the ack scripts' ARGV.
func ackArgs(ids []string, owner string, leaseTTL time.Duration) []any {
	args := make([]any, 0, 2+len(ids))
	args = append(args, owner, millis(leaseTTL))
	for _, id := range ids {
		args = append(args, id)
	}
	return args
}

// PendingChats implements [Store]. It SCANs for outbox streams, on every
// master of a cluster, and asks the length of those found with one pipeline
// per SCAN batch, skipping the empty ones. A chat is reported once even when
// SCAN returns its key again.
func (r *Redis) PendingChats(ctx context.Context, fn func(chat int64) bool) error {
	return r.outboxes(ctx, func(chat, _ int64) bool { return fn(chat) })
}

// OutboxDepth implements [Store]: a scan like PendingChats'.
func (r *Redis) OutboxDepth(ctx context.Context) (int64, error) {
	var n int64
	err := r.outboxes(ctx, func(_, pending int64) bool { n += pending; return true })
	if err != nil {
		return 0, fmt.Errorf("store: redis outbox depth: %w", err)
	}
	return n, nil
}

// outboxes calls fn for every chat with pending messages, with how many
// (see PendingChats).
func (r *Redis) outboxes(ctx context.Context, fn func(chat, pending int64) bool) error {
	match := globEscape(r.prefix) + "{chat:*}:outbox"
	errStopScan := errors.New("stop") // fn returned false
	var (
		mu      sync.Mutex // fn is never called concurrently
		seen    = make(map[int64]struct{})
		stopped bool
	)
	report := func(key string, pending int64) error {
		chat, ok := r.outboxChat(key)
		if !ok {
			return nil
		}
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return errStopScan
		}
		if _, dup := seen[chat]; dup {
			return nil
		}
		seen[chat] = struct{}{}
		if !fn(chat, pending) {
			stopped = true
			return errStopScan
		}
		return nil
	}
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.ScanType(ctx, cursor, match, redisScanCount, "stream").Result()
			if err != nil {
				return fmt.Errorf("store: redis pending chats: scan: %w", err)
			}
			if len(keys) > 0 {
				lens := make([]*redis.IntCmd, len(keys))
				_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i, key := range keys {
						lens[i] = p.XLen(ctx, key)
					}
					return nil
				})
				if err != nil {
					return fmt.Errorf("store: redis pending chats: outbox length: %w", err)
				}
				for i, key := range keys {
					if lens[i].Val() == 0 {
						continue // emptied, or gone since the SCAN
					}
					if err := report(key, lens[i].Val()); err != nil {
						return err
					}
				}
			}
			if next == 0 {
				return nil
			}
			cursor = next
		}
	}
	err := r.onEveryMaster(ctx, scan)
	if errors.Is(err, errStopScan) {
		return nil
	}
	return err
}

// outboxChat parses the chat id out of an outbox key.
func (r *Redis) outboxChat(key string) (int64, bool) {
	s, ok := strings.CutPrefix(key, r.prefix+"{chat:")
	if !ok {
		return 0, false
	}
	s, ok = strings.CutSuffix(s, "}:outbox")
	if !ok {
		return 0, false
	}
	chat, err := strconv.ParseInt(s, 10, 64)
	return chat, err == nil
}

// globEscape quotes the characters special to Redis's glob-style MATCH.
func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch c {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}
