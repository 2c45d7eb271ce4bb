package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// The apply script touches only keys of one chat (one "{chat:<id>}" hash
// tag, so one Redis Cluster slot); the wake index, another key, is written
// with it by writeApply (redis_wake.go).

// applyScript applies one update to a chat if its id is new and the session
// revision is still the one the caller read.
//
//	KEYS[1]  the chat's session hash (fields rev, data)
//	KEYS[2]  the chat's applied update ids (sorted set, score = member = id)
//	KEYS[3]  the chat's outbox (stream, one field "d" per entry)
//	KEYS[4]  the chat's send lease (string: owner, with a PX expiry)
//	KEYS[5]  the applied ids an erasure left (sorted set as KEYS[2], named
//	         by the chat's keyed hash, in the same slot: forgottenKey)
//	ARGV[1]  the update id (decimal)
//	ARGV[2]  revision the caller read ("" when there was no session)
//	ARGV[3]  fresh, unique revision for this write
//	ARGV[4]  "1" to store ARGV[5] as the session, "0" to delete it
//	ARGV[5]  the session data
//	ARGV[6]  idle TTL in milliseconds
//	ARGV[7]  owner asking for the send lease
//	ARGV[8]  lease TTL in milliseconds
//	ARGV[9]  how many applied ids to remember
//	ARGV[10] "1" to forget the chat first (Change.Forget; ARGV[4] is then "0")
//	ARGV[11] how long KEYS[5] lives after an erasure, in milliseconds
//	ARGV[12...]  the messages to append to the outbox, in order
//
// It returns {0, 0, rev, data} when another writer changed the session
// since the caller read it (nothing done; rev and data are the session now,
// "" and nil when there is none), {1, lease} when the update was already
// applied (nothing changed but the lease), and {2, lease, backlog, id...}
// when it is applied: backlog is how many messages were pending before the
// new ones, followed by the stream ids of the appended messages. lease is 1
// when the owner held the send lease and it is renewed, 2 when nobody held
// it and the owner took it (the outbox is not empty), 0 otherwise.
//
// An update id is a duplicate when KEYS[2] or KEYS[5] has it (or is full
// and has only higher ones).
//
// Forgetting deletes the session and the send lease. When messages follow,
// it empties the outbox stream with XTRIM, so that they get ids above every
// erased one; otherwise it drops the stream (dropStream). The applied ids,
// this update's included, move from KEYS[2] to KEYS[5] (merged with what an
// earlier erasure left there, the highest ARGV[9] kept), which then expires
// ARGV[11] milliseconds later: in the one script, so that no crash can
// leave an update applied but no longer recognised. The chat's wake time is
// another key: Apply handles it (redis_wake.go).
const applyScript = dropStreamLua + `
local function lease()
  local holder = redis.call('GET', KEYS[4])
  if holder == ARGV[7] then
    redis.call('PEXPIRE', KEYS[4], ARGV[8])
    return 1
  end
  if not holder and redis.call('XLEN', KEYS[3]) > 0 then
    redis.call('SET', KEYS[4], ARGV[7], 'PX', ARGV[8])
    return 2
  end
  return 0
end
local keep = tonumber(ARGV[9])
local isUpdate = tonumber(ARGV[1]) > 0
local function seen(key)
  if redis.call('ZSCORE', key, ARGV[1]) then
    return true
  end
  if redis.call('ZCARD', key) >= keep then
    local lowest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return tonumber(ARGV[1]) < tonumber(lowest[2])
  end
  return false
end
if isUpdate and (seen(KEYS[2]) or seen(KEYS[5])) then
  return {1, lease()}
end
local rev = redis.call('HGET', KEYS[1], 'rev') or ''
if rev ~= ARGV[2] then
  return {0, 0, rev, redis.call('HGET', KEYS[1], 'data') or false}
end
local forget = ARGV[10] == '1'
if forget then
  redis.call('XTRIM', KEYS[3], 'MAXLEN', 0)
  if #ARGV == 11 then
    dropStream(KEYS[3])
  end
  redis.call('DEL', KEYS[4])
end
if ARGV[4] == '0' then
  redis.call('DEL', KEYS[1])
else
  redis.call('HSET', KEYS[1], 'rev', ARGV[3], 'data', ARGV[5])
  redis.call('PEXPIRE', KEYS[1], ARGV[6])
end
if isUpdate then
  redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -keep - 1)
  redis.call('PEXPIRE', KEYS[2], ARGV[6])
end
if forget then
  redis.call('ZUNIONSTORE', KEYS[5], 2, KEYS[5], KEYS[2], 'AGGREGATE', 'MAX')
  redis.call('ZREMRANGEBYRANK', KEYS[5], 0, -keep - 1)
  redis.call('PEXPIRE', KEYS[5], ARGV[11])
  redis.call('DEL', KEYS[2])
end
local res = {2, 0, redis.call('XLEN', KEYS[3])}
for i = 12, #ARGV do
  res[#res + 1] = redis.call('XADD', KEYS[3], '*', 'd', ARGV[i])
end
if not forget or #ARGV > 11 then
  redis.call('PEXPIRE', KEYS[3], ARGV[6])
end
res[2] = lease()
return res
`

// Apply implements [Store]. A chat this process wrote last is in its
// session cache: then Apply calls fn on the cached session and makes one
// round trip, EVALSHA of the apply script, in one pipeline with the wake
// index's command when the change has a Wake or Forget (see writeApply).
// Otherwise it first reads, in one pipeline, the session, the applied ids
// (the chat's and those an erasure left), the lease holder and the outbox
// length: two round trips. A duplicate seen
// in that read costs one round trip, two when it renews the owner's lease or
// takes a free one for messages left pending.
//
// When the session changed since it was cached or read (another replica
// wrote it, or it expired), the script writes nothing and answers the
// session as it is, and Apply calls fn again on that at once; after a
// second lost race it pauses briefly between attempts, at most
// redisMaxAttempts in all. So fn may be called on an update that another
// process applied meanwhile: its change is then dropped and Duplicate
// reported. An update this process applied is recognised before fn. A
// call whose write landed but whose answer was lost (a dropped connection,
// retried by the client) reports Duplicate.
//
// The wake index is one key for the whole store (in a Redis Cluster, in
// another slot than the chat's keys), written in the same pipeline as the
// chat's script, so it costs no extra round trip but is not atomic with
// the chat's write:
//   - Wake is written after the chat's script, whatever the script
//     answers: a lost race (fn runs again) or a duplicate can leave the
//     chat's wake time earlier than any change asked for. Since a wake
//     only ever moves earlier that way, the chat is woken too early,
//     never too late, and the waker, finding nothing due, sets the real
//     time with SetWake.
//   - Forget's erasure of the wake time is sent before the chat's script
//     and answers the wake time it erased; when the script then reports
//     a lost race or a duplicate (or fails), Apply puts that time back
//     (ZADD LT: at worst earlier than wanted, as above) before trying
//     again or returning, so a wake another writer set meanwhile is not
//     lost. Only this case costs a round trip more.
//   - If the update is applied but its wake time could not be written
//     (the wake key's node failing alone), Apply returns the Applied
//     describing what was done together with an error saying so.
func (r *Redis) Apply(ctx context.Context, chat, updateID int64, owner string, leaseTTL time.Duration,
	fn func(cur []byte) (Change, error)) (Applied, error) {
	if err := checkLease(owner, leaseTTL); err != nil {
		return Applied{}, fmt.Errorf("store: redis apply: %w", err)
	}
	keys := []string{
		r.chatKey(chat, "session"),
		r.chatKey(chat, "applied"),
		r.chatKey(chat, "outbox"),
		r.chatKey(chat, "sender"),
		r.forgottenKey(chat),
	}
	id := strconv.FormatInt(updateID, 10)
	var st applyState
	rev, cur, known := r.cache.lookup(chat, updateID)
	if known {
		st = applyState{rev: rev, cur: cur}
	}
	for attempt := range redisMaxAttempts {
		if attempt > 1 {
			if err := pause(ctx, attempt-1); err != nil {
				return Applied{}, fmt.Errorf("store: redis apply: %w", err)
			}
		}
		if err := ctx.Err(); err != nil {
			return Applied{}, fmt.Errorf("store: redis apply: %w", err)
		}

		if !known {
			var err error
			if st, err = r.readApply(ctx, keys, id, updateID); err != nil {
				return Applied{}, err
			}
			if st.duplicate {
				return r.applyDuplicate(ctx, chat, owner, leaseTTL, st)
			}
		}

		change, err := fn(st.cur)
		if err != nil {
			return Applied{}, err
		}
		if err := checkChange(change); err != nil {
			return Applied{}, fmt.Errorf("store: redis apply: %w", err)
		}
		if err := ctx.Err(); err != nil {
			return Applied{}, fmt.Errorf("store: redis apply: %w", err)
		}

		newRev := rand.Text()
		args := r.applyArgs(id, st.rev, newRev, owner, leaseTTL, change)
		w, err := r.writeApply(ctx, chat, keys, args, change)
		if err != nil {
			r.cache.drop(chat)
			return Applied{}, err
		}
		switch w.status {
		case 0:
			// Another writer was first: try again on the session it left.
			st, known = applyState{rev: w.rev, cur: w.cur}, true
			r.cache.put(chat, w.rev, w.cur, 0)
			continue
		case 1:
			return Applied{Duplicate: true, Lease: w.lease}, nil
		}
		return r.applied(chat, updateID, newRev, change, w)
	}
	return Applied{}, fmt.Errorf("store: redis apply: gave up after %d attempts: %w", redisMaxAttempts, ErrContention)
}

// applyDuplicate answers an Apply whose read found the update applied: it
// renews owner's send lease, or takes a free one for messages left
// pending, as the apply script would.
func (r *Redis) applyDuplicate(ctx context.Context, chat int64, owner string, leaseTTL time.Duration, st applyState) (Applied, error) {
	var lease bool
	if st.holder == owner || st.holder == "" && st.pending > 0 {
		var err error
		if lease, err = r.AcquireSend(ctx, chat, owner, leaseTTL); err != nil {
			return Applied{}, fmt.Errorf("store: redis apply: duplicate: %w", err)
		}
	}
	return Applied{Duplicate: true, Lease: lease}, nil
}

// applyArgs are the apply script's ARGV for change, written over revision
// rev with the fresh revision newRev.
func (r *Redis) applyArgs(id, rev, newRev, owner string, leaseTTL time.Duration, change Change) []any {
	op := "1"
	if change.Session == nil {
		op = "0"
	}
	forget := "0"
	if change.Forget {
		forget = "1"
	}
	args := make([]any, 0, 11+len(change.Outbox))
	args = append(args, id, rev, newRev, op, change.Session, millis(r.ttl),
		owner, millis(leaseTTL), AppliedWindow, forget, millis(r.forgotten))
	for _, m := range change.Outbox {
		args = append(args, m)
	}
	return args
}

// applied is what an Apply whose script applied change (w) returns; it
// caches the new session (revision newRev) as this process wrote it.
func (r *Redis) applied(chat, updateID int64, newRev string, change Change, w applyWrite) (Applied, error) {
	if len(w.ids) != len(change.Outbox) {
		r.cache.drop(chat)
		return Applied{}, fmt.Errorf("store: redis apply script: %d message ids for %d messages", len(w.ids), len(change.Outbox))
	}
	if change.Session == nil {
		newRev = ""
	}
	r.cache.put(chat, newRev, change.Session, updateID)
	var out []OutMsg
	if len(w.ids) > 0 {
		out = make([]OutMsg, len(w.ids))
		for i, id := range w.ids {
			out[i] = OutMsg{ID: id, Data: bytes.Clone(change.Outbox[i])}
		}
	}
	res := Applied{Outbox: out, Lease: w.lease, Took: w.took, Backlog: w.backlog > 0}
	if w.wakeErr != nil {
		return res, fmt.Errorf("store: redis apply: the update is applied but the chat's wake time may not be: %w", w.wakeErr)
	}
	return res, nil
}

// applyState is what Apply reads before calling fn.
type applyState struct {
	rev       string
	cur       []byte
	duplicate bool
	holder    string // the send lease's owner, "" when free
	pending   int64  // outbox length
}

// readApply reads, in one pipeline, the chat's session and what tells
// whether the update was applied already. keys are Apply's.
func (r *Redis) readApply(ctx context.Context, keys []string, id string, updateID int64) (applyState, error) {
	var (
		hm     *redis.SliceCmd
		seen   [2]appliedRead // the chat's applied ids, those an erasure left
		holder *redis.StringCmd
		xlen   *redis.IntCmd
	)
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		hm = p.HMGet(ctx, keys[0], "rev", "data")
		for i, k := range []string{keys[1], keys[4]} {
			seen[i] = appliedRead{p.ZScore(ctx, k, id), p.ZCard(ctx, k), p.ZRangeWithScores(ctx, k, 0, 0)}
		}
		holder = p.Get(ctx, keys[3])
		xlen = p.XLen(ctx, keys[2])
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return applyState{}, fmt.Errorf("store: redis apply read: %w", err)
	}
	var st applyState
	vals, err := hm.Result()
	if err != nil {
		return applyState{}, fmt.Errorf("store: redis apply read session: %w", err)
	}
	if len(vals) == 2 {
		st.rev, _ = vals[0].(string)
		if s, ok := vals[1].(string); ok {
			st.cur = []byte(s)
		}
	}
	for _, a := range seen {
		dup, err := a.has(updateID)
		if err != nil {
			return applyState{}, fmt.Errorf("store: redis apply read applied ids: %w", err)
		}
		st.duplicate = st.duplicate || dup
	}
	switch h, err := holder.Result(); {
	case err == nil:
		st.holder = h
	case !errors.Is(err, redis.Nil):
		return applyState{}, fmt.Errorf("store: redis apply read lease: %w", err)
	}
	if st.pending, err = xlen.Result(); err != nil {
		return applyState{}, fmt.Errorf("store: redis apply read outbox: %w", err)
	}
	return st, nil
}

// appliedRead is the read of one sorted set of applied ids that tells
// whether an update id counts as applied, as the apply script's seen().
type appliedRead struct {
	score  *redis.FloatCmd
	card   *redis.IntCmd
	lowest *redis.ZSliceCmd
}

func (a appliedRead) has(updateID int64) (bool, error) {
	switch err := a.score.Err(); {
	case updateID <= 0:
		return false, nil
	case err == nil:
		return true, nil
	case !errors.Is(err, redis.Nil):
		return false, err
	}
	n, err := a.card.Result()
	if err != nil {
		return false, err
	}
	low, err := a.lowest.Result()
	if err != nil {
		return false, err
	}
	return n >= AppliedWindow && len(low) == 1 && float64(updateID) < low[0].Score, nil
}

// parseApplyResult checks and reads the apply script's answer.
func parseApplyResult(res []any) (applyWrite, error) {
	if len(res) < 2 {
		return applyWrite{}, fmt.Errorf("unexpected answer of %d values", len(res))
	}
	status, ok := res[0].(int64)
	if !ok || status < 0 || status > 2 {
		return applyWrite{}, fmt.Errorf("unexpected status %v", res[0])
	}
	l, ok := res[1].(int64)
	if !ok {
		return applyWrite{}, fmt.Errorf("unexpected lease flag %v", res[1])
	}
	w := applyWrite{status: status, lease: l >= 1, took: l == 2}
	switch status {
	case 0:
		if len(res) != 4 {
			return applyWrite{}, fmt.Errorf("unexpected lost-race answer of %d values", len(res))
		}
		if w.rev, ok = res[2].(string); !ok {
			return applyWrite{}, fmt.Errorf("unexpected revision %v", res[2])
		}
		switch d := res[3].(type) {
		case nil:
		case string:
			w.cur = []byte(d)
		default:
			return applyWrite{}, fmt.Errorf("unexpected session %T", res[3])
		}
	case 2:
		if len(res) < 3 {
			return applyWrite{}, fmt.Errorf("unexpected answer of %d values", len(res))
		}
		if w.backlog, ok = res[2].(int64); !ok {
			return applyWrite{}, fmt.Errorf("unexpected backlog %v", res[2])
		}
		for _, v := range res[3:] {
			id, ok := v.(string)
			if !ok {
				return applyWrite{}, fmt.Errorf("unexpected message id %v", v)
			}
			w.ids = append(w.ids, id)
		}
	}
	return w, nil
}
