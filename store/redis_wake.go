package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// The wake index is one sorted set for the whole store, "<prefix>wake":
// member the chat id in decimal, score the chat's wake time in unix
// milliseconds. In a Redis Cluster it lives in another slot than any chat's
// keys, so the chat's scripts cannot touch it: Apply writes it in the same
// pipeline as its script instead (see writeApply), and Due's script touches
// it alone. It has no expiry: a chat whose keys expired may keep its member
// until a waker, finding no session, removes it with SetWake.

// wakeResetScript replaces a chat's wake time, for a Change with Forget, and
// answers the time it replaced, so that Apply can put it back when the
// chat's script then does not apply the change.
//
//	KEYS[1]  the wake index
//	ARGV[1]  the chat id
//	ARGV[2]  the new wake time in unix milliseconds, or "" to remove it
//
// It returns the old score, or nil when the chat had none.
const wakeResetScript = `
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if ARGV[2] == '' then
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return old
`

// dueScript claims the chats due, oldest first.
//
//	KEYS[1]  the wake index
//	ARGV[1]  now, in unix milliseconds
//	ARGV[2]  how many chats to claim at most
//	ARGV[3]  the claimed chats' new wake time (now + claim), in unix milliseconds
//
// It returns the claimed chat ids.
const dueScript = `
local chats = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, chat in ipairs(chats) do
  redis.call('ZADD', KEYS[1], ARGV[3], chat)
end
return chats
`

// wakeKey is the store's wake index.
func (r *Redis) wakeKey() string { return r.prefix + "wake" }

// isNoScript tells whether err is Redis saying it lacks the script (its
// cache was flushed, or the server restarted).
func isNoScript(err error) bool { return redis.HasErrorPrefix(err, "NOSCRIPT") }

// applyWrite is what Apply's write step did.
type applyWrite struct {
	status  int64    // the apply script's: 0 lost race, 1 duplicate, 2 applied
	lease   bool     // the owner holds the send lease
	took    bool     // it was free and the owner took it
	ids     []string // the appended messages' ids
	backlog int64    // messages pending before the appended ones
	rev     string   // after a lost race: the session's revision now
	cur     []byte   // after a lost race: the session now
	wakeErr error    // applied, but the wake index may not say so
}

// parseApply reads the apply script's answer.
func parseApply(cmd *redis.Cmd) (applyWrite, error) {
	res, err := cmd.Slice()
	if err != nil {
		return applyWrite{}, fmt.Errorf("store: redis apply script: %w", err)
	}
	w, err := parseApplyResult(res)
	if err != nil {
		return applyWrite{}, fmt.Errorf("store: redis apply script: %w", err)
	}
	return w, nil
}

// writeApply runs the apply script (keys and args are Apply's) and, when c
// has a Wake or Forget, the wake index's command in the same pipeline, so
// that the change costs the same round trips as one without. A plain change
// is one EVALSHA, as before.
//
// Wake alone: ZADD LT after the script, whatever the script answers; a lost
// race or a duplicate may leave the wake time earlier than wanted, which
// wakes the chat early, never late.
//
// Forget: wakeResetScript before the script, answering the wake time it
// erased. When the script does not apply the change (lost race, duplicate,
// failure), that time is put back with ZADD LT (one more round trip, only
// then), so that a wake another writer set just before is not lost; at
// worst the chat wakes early. Sent before the script on the same connection,
// the erasure runs before it on one server, so a writer whose script runs
// after ours writes its wake after the erasure. In a cluster the two go to
// different nodes and this order is likely but not certain.
//
// A NOSCRIPT answer (script cache flushed) is handled like Script.Run does:
// the apply script is sent again with EVAL; the erasure, when it did not run,
// runs after a successful apply.
func (r *Redis) writeApply(ctx context.Context, chat int64, keys []string, args []any, c Change) (applyWrite, error) {
	if !c.Forget && c.Wake.IsZero() {
		return parseApply(r.apply.Run(ctx, r.client, keys, args...))
	}
	wakeKeys := []string{r.wakeKey()}
	member := strconv.FormatInt(chat, 10)
	newWake := ""
	if !c.Wake.IsZero() {
		newWake = strconv.FormatInt(wakeMillis(c.Wake), 10)
	}
	var (
		reset, apply *redis.Cmd
		zadd         *redis.IntCmd
	)
	// Pipelined's error is the first of its commands': each is looked at below.
	_, _ = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		if c.Forget {
			reset = r.wakeReset.EvalSha(ctx, p, wakeKeys, member, newWake)
		}
		apply = r.apply.EvalSha(ctx, p, keys, args...)
		if !c.Forget {
			zadd = p.ZAddLT(ctx, wakeKeys[0], redis.Z{Score: float64(wakeMillis(c.Wake)), Member: member})
		}
		return nil
	})
	if isNoScript(apply.Err()) {
		apply = r.apply.Eval(ctx, r.client, keys, args...)
	}
	w, err := parseApply(apply)
	applied := err == nil && w.status == 2

	if !c.Forget {
		if applied && zadd.Err() != nil {
			// Once more on its own: ZADD LT is idempotent.
			if err := r.client.ZAddLT(ctx, wakeKeys[0], redis.Z{Score: float64(wakeMillis(c.Wake)), Member: member}).Err(); err != nil {
				w.wakeErr = err
			}
		}
		return w, err
	}

	old, resetErr := reset.Text()
	switch {
	case applied && resetErr != nil && !errors.Is(resetErr, redis.Nil):
		// The erasure did not run (NOSCRIPT) or failed: run it now.
		if err := r.wakeReset.Run(ctx, r.client, wakeKeys, member, newWake).Err(); err != nil && !errors.Is(err, redis.Nil) {
			w.wakeErr = err
		}
	case !applied && resetErr == nil:
		// Erased for nothing: put it back.
		if rerr := r.restoreWake(ctx, wakeKeys[0], member, old); rerr != nil {
			rerr = fmt.Errorf("store: redis apply: putting back the chat's wake time: %w", rerr)
			if err == nil {
				return applyWrite{}, rerr
			}
			return applyWrite{}, errors.Join(err, rerr)
		}
	}
	return w, err
}

// restoreWake lowers member's wake time to score (the wake index's own
// text), even when ctx is done: it undoes an erasure that did not belong.
func (r *Redis) restoreWake(ctx context.Context, key, member, score string) error {
	ms, err := strconv.ParseFloat(score, 64)
	if err != nil {
		return fmt.Errorf("unexpected wake time %q", score)
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisWriteTimeout)
	defer cancel()
	return r.client.ZAddLT(ctx, key, redis.Z{Score: ms, Member: member}).Err()
}

// Due implements [Store]: one EVALSHA of a script on the wake index. The
// wake index has no expiry, so a chat whose keys expired may still be
// offered.
func (r *Redis) Due(ctx context.Context, now time.Time, n int, claim time.Duration) ([]int64, error) {
	if err := checkDue(claim); err != nil {
		return nil, fmt.Errorf("store: redis due: %w", err)
	}
	if n <= 0 {
		return nil, nil
	}
	res, err := r.due.Run(ctx, r.client, []string{r.wakeKey()},
		wakeMillis(now), n, wakeMillis(now.Add(claim))).StringSlice()
	if err != nil {
		return nil, fmt.Errorf("store: redis due: %w", err)
	}
	if len(res) == 0 {
		return nil, nil
	}
	chats := make([]int64, len(res))
	for i, s := range res {
		if chats[i], err = strconv.ParseInt(s, 10, 64); err != nil {
			return nil, fmt.Errorf("store: redis due: malformed member in %s", r.wakeKey())
		}
	}
	return chats, nil
}

// SetWake implements [Store]: one ZADD, or ZREM for a zero time.
func (r *Redis) SetWake(ctx context.Context, chat int64, at time.Time) error {
	member := strconv.FormatInt(chat, 10)
	var err error
	if at.IsZero() {
		err = r.client.ZRem(ctx, r.wakeKey(), member).Err()
	} else {
		err = r.client.ZAdd(ctx, r.wakeKey(), redis.Z{Score: float64(wakeMillis(at)), Member: member}).Err()
	}
	if err != nil {
		return fmt.Errorf("store: redis set wake: %w", err)
	}
	return nil
}

// Forget implements [Inspector]: one pipeline of a DEL of the chat's keys (one
// slot) and a ZREM from the wake index. Unlike Apply's Forget it deletes the
// outbox stream, so a message appended within the same millisecond may get
// the id of an erased one; it is for tests and the operator.
func (r *Redis) Forget(ctx context.Context, chat int64) error {
	r.cache.drop(chat)
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Del(ctx, r.chatKey(chat, "session"), r.chatKey(chat, "applied"),
			r.chatKey(chat, "outbox"), r.chatKey(chat, "sender"), r.forgottenKey(chat))
		p.ZRem(ctx, r.wakeKey(), strconv.FormatInt(chat, 10))
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: redis forget: %w", err)
	}
	return nil
}

// Keys implements [Inspector]: the key names, plus "<prefix>wake#<chat>"
// when the chat is in the wake index. It SCANs, on every master of a
// cluster, for the keys under the chat's hash tag, whatever their kind (so
// one round trip per batch of the keyspace), asks the wake index with
// ZSCORE and looks for the chat's forgottenKey with EXISTS.
func (r *Redis) Keys(ctx context.Context, chat int64) ([]string, error) {
	member := strconv.FormatInt(chat, 10)
	match := globEscape(r.prefix+"{chat:"+member+"}") + "*"
	var (
		mu   sync.Mutex
		seen = make(map[string]struct{})
	)
	scan := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, match, redisScanCount).Iterator()
		for iter.Next(ctx) {
			mu.Lock()
			seen[iter.Val()] = struct{}{}
			mu.Unlock()
		}
		return iter.Err()
	}
	err := r.onEveryMaster(ctx, scan)
	if err != nil {
		return nil, fmt.Errorf("store: redis keys: scan: %w", err)
	}
	keys := make([]string, 0, len(seen)+1)
	for k := range seen {
		keys = append(keys, k)
	}
	switch err := r.client.ZScore(ctx, r.wakeKey(), member).Err(); {
	case err == nil:
		keys = append(keys, r.wakeKey()+"#"+member)
	case !errors.Is(err, redis.Nil):
		return nil, fmt.Errorf("store: redis keys: wake index: %w", err)
	}
	switch n, err := r.client.Exists(ctx, r.forgottenKey(chat)).Result(); {
	case err != nil:
		return nil, fmt.Errorf("store: redis keys: erasure's record: %w", err)
	case n == 1:
		keys = append(keys, r.forgottenKey(chat))
	}
	slices.Sort(keys)
	return keys, nil
}

// Purge removes every key under the store's prefix, on every master of a
// cluster: for tools and tests that use a prefix of their own.
func (r *Redis) Purge(ctx context.Context) error {
	r.cache.clear()
	r.records.clear()
	purge := func(ctx context.Context, c redis.Cmdable) error {
		iter := c.Scan(ctx, 0, globEscape(r.prefix)+"*", redisScanCount).Iterator()
		var batch []string
		flush := func() error {
			if len(batch) == 0 {
				return nil
			}
			// One key per DEL: in a cluster the keys of a batch may
			// belong to different slots of this node.
			_, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
				for _, k := range batch {
					p.Del(ctx, k)
				}
				return nil
			})
			batch = batch[:0]
			return err
		}
		for iter.Next(ctx) {
			if batch = append(batch, iter.Val()); len(batch) == 500 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		return flush()
	}
	err := r.onEveryMaster(ctx, purge)
	if err != nil {
		return fmt.Errorf("store: redis purge: %w", err)
	}
	return nil
}
