package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

// RedisOptions tunes [OpenRedis]. The zero value is ready to use.
type RedisOptions struct {
	// Prefix starts every key; default "aimabot:". It must not contain
	// "{" or "}", which would change the keys' Redis Cluster hash tag.
	Prefix string
	// TTL is the idle expiry; default DefaultTTL, at least a millisecond.
	TTL time.Duration
	// CachedSessions is how many chats' sessions, and how many records, as
	// this process last wrote them, are kept in memory so that a write
	// needs no read first (see Apply and UpdateRecord); default
	// DefaultCachedSessions, negative for none.
	CachedSessions int
	// HashSecret keys the [ChatHash] naming what an erasure leaves (see
	// Change.Forget): the bot token in serve, so that the names match the
	// logs'. Empty: NewChatHash's fixed key.
	HashSecret string
	// ForgottenTTL is how long an erased chat's applied update ids are
	// kept; default ForgottenTTL, at least a millisecond.
	ForgottenTTL time.Duration
}

// DefaultCachedSessions bounds the Redis store's session cache: the chats
// in conversation at once on a busy replica, a few kilobytes each.
const DefaultCachedSessions = 4096

const (
	defaultRedisPrefix = "aimabot:"

	// Applied when the URL does not set them (dial_timeout=..., etc.).
	redisDialTimeout  = 3 * time.Second
	redisReadTimeout  = 3 * time.Second
	redisWriteTimeout = 3 * time.Second
	// How long OpenRedis waits for the first PING.
	redisOpenTimeout = 5 * time.Second

	// How many times Update reads and tries to compare-and-set before giving
	// up with ErrContention, and the cap of the random pause between tries.
	redisMaxAttempts = 100
	redisMaxBackoff  = 16 * time.Millisecond
)

// casScript writes one chat's session if its revision is still the one the
// caller read.
//
//	KEYS[1]  the chat's session hash
//	ARGV[1]  revision the caller read ("" when the key was absent)
//	ARGV[2]  fresh, unique revision for this write
//	ARGV[3]  "1" to store ARGV[4], "0" to delete the key
//	ARGV[4]  the data
//	ARGV[5]  idle TTL in milliseconds
//
// It returns 1 when the write is in place and 0 when another writer got there
// first. Revisions are random tokens rather than counters, so a key deleted
// (or expired) and written again can never look unchanged; and a client-side
// retry of a write that already landed finds its own token and reports
// success instead of a lost race.
const casScript = `
local rev = redis.call('HGET', KEYS[1], 'rev') or ''
if rev == ARGV[2] then
  return 1
end
if rev ~= ARGV[1] then
  return 0
end
if ARGV[3] == '0' then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HSET', KEYS[1], 'rev', ARGV[2], 'data', ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
return 1
`

// Redis is a [Store] on a Redis server. It is safe for concurrent use.
type Redis struct {
	logger     *slog.Logger
	client     redis.UniversalClient
	cas        *redis.Script
	apply      *redis.Script
	ack        *redis.Script
	ackRelease *redis.Script
	acquire    *redis.Script
	release    *redis.Script
	wakeReset  *redis.Script
	due        *redis.Script
	trips      *roundTrips
	cache      *sessionCache // nil when off
	records    *recordCache  // nil when off
	prefix     string
	ttl        time.Duration
	hash       ChatHash
	forgotten  time.Duration // how long an erased chat's applied ids are kept

	closeOnce sync.Once
	closeErr  error
}

// OpenRedis connects to the Redis server at rawURL and checks that it
// answers. The URL is redis://[user:password@]host[:port][/db] (rediss:// for
// TLS; go-redis's query options such as dial_timeout=2s are accepted). Errors
// name the server's address but never the password.
func OpenRedis(logger *slog.Logger, rawURL string, opts RedisOptions) (*Redis, error) {
	prefix := opts.Prefix
	if prefix == "" {
		prefix = defaultRedisPrefix
	}
	if strings.ContainsAny(prefix, "{}") {
		return nil, fmt.Errorf("store: redis key prefix %q must not contain '{' or '}'", prefix)
	}
	o, err := resolveOpenOptions("redis", logger, opts.TTL, opts.ForgottenTTL, time.Millisecond)
	if err != nil {
		return nil, err
	}
	logger = o.logger

	u, err := parseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	client, addr, cluster, err := dialRedis(u, rawURL)
	if err != nil {
		return nil, err
	}
	trips := &roundTrips{}
	client.AddHook(trips)

	ctx, cancel := context.WithTimeout(context.Background(), redisOpenTimeout)
	defer cancel()
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("store: connecting to redis at %s://%s: %w", u.Scheme, addr, err)
	}

	r := &Redis{
		logger:     logger,
		client:     client,
		cas:        redis.NewScript(casScript),
		apply:      redis.NewScript(applyScript),
		ack:        redis.NewScript(ackScript),
		ackRelease: redis.NewScript(ackReleaseScript),
		acquire:    redis.NewScript(acquireScript),
		release:    redis.NewScript(releaseScript),
		wakeReset:  redis.NewScript(wakeResetScript),
		due:        redis.NewScript(dueScript),
		trips:      trips,
		prefix:     prefix,
		ttl:        o.ttl,
		hash:       NewChatHash(opts.HashSecret),
		forgotten:  o.forgotten,
	}
	switch n := opts.CachedSessions; {
	case n == 0:
		r.cache, r.records = newSessionCache(DefaultCachedSessions), newRecordCache(DefaultCachedSessions)
	case n > 0:
		r.cache, r.records = newSessionCache(n), newRecordCache(n)
	}
	if err := preloadScripts(ctx, client); err != nil {
		logger.Warn("store: could not preload the redis scripts", "addr", addr, "err", err)
	}
	logger.Info("store: using redis", "addr", addr, "cluster", cluster, "tls", u.Scheme == "rediss", "ttl", o.ttl)
	return r, nil
}

// parseRedisURL parses OpenRedis's URL; its errors never hold the password.
func parseRedisURL(rawURL string) (*url.URL, error) {
	if rawURL == "" {
		return nil, errors.New("store: no redis URL given (want redis://[user:password@]host:port/db)")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the whole URL, password included.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = &url.Error{Op: ue.Op, URL: "(redacted)", Err: ue.Err}
		}
		return nil, fmt.Errorf("store: invalid redis URL: %w", err)
	}
	return u, nil
}

// preloadScripts loads the scripts now so that the first calls need no
// EVAL fallback. Its error is not fatal: every call falls back to EVAL
// when its script is missing.
func preloadScripts(ctx context.Context, client redis.UniversalClient) error {
	sources := []string{casScript, applyScript, ackScript, ackReleaseScript, acquireScript, releaseScript,
		wakeResetScript, dueScript}
	if cc, ok := client.(*redis.ClusterClient); ok {
		// The cluster client loads each script on every master.
		for _, src := range sources {
			if err := cc.ScriptLoad(ctx, src).Err(); err != nil {
				return err
			}
		}
		return nil
	}
	_, err := client.Pipelined(ctx, func(p redis.Pipeliner) error {
		// Not Script.Load: in a pipeline it would record an empty digest.
		for _, src := range sources {
			p.ScriptLoad(ctx, src)
		}
		return nil
	})
	return err
}

// dialRedis builds the client for the URL: a cluster client when the URL
// names more than one node (?addr=host:port, repeatable) or its one node
// says it is part of a Redis Cluster, a plain client otherwise. addr is
// the first node's address, for messages.
func dialRedis(u *url.URL, rawURL string) (client redis.UniversalClient, addr string, cluster bool, err error) {
	if u.Query().Has("addr") {
		copt, err := redis.ParseClusterURL(rawURL)
		if err != nil {
			return nil, u.Host, true, fmt.Errorf("store: invalid redis cluster URL %s: %w", u.Redacted(), err)
		}
		client, err := newRedisClient(func() redis.UniversalClient { return redis.NewClusterClient(tuneCluster(copt)) })
		if err != nil {
			return nil, u.Host, true, fmt.Errorf("store: redis cluster client for %s: %w", u.Host, err)
		}
		return client, copt.Addrs[0], true, nil
	}
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		return nil, u.Host, false, fmt.Errorf("store: invalid redis URL %s: %w", u.Redacted(), err)
	}
	tune(&opt.DialTimeout, &opt.ReadTimeout, &opt.WriteTimeout)
	// Let the caller's context deadline bound each call, not only the
	// socket timeouts.
	opt.ContextTimeoutEnabled = true
	// Plain Redis sends no maintenance notifications; probing for them
	// costs a command on every new connection.
	opt.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	plain, err := newRedisClient(func() redis.UniversalClient { return redis.NewClient(opt) })
	if err != nil {
		return nil, opt.Addr, false, fmt.Errorf("store: redis client for %s: %w", opt.Addr, err)
	}

	// One node of a cluster answers only for its own slots: ask.
	ctx, cancel := context.WithTimeout(context.Background(), redisOpenTimeout)
	defer cancel()
	info, err := plain.(*redis.Client).Info(ctx, "cluster").Result()
	if err != nil && strings.Contains(err.Error(), "SELECT is not allowed in cluster mode") {
		// The connection's SELECT of a database other than 0 failed.
		_ = plain.Close()
		return nil, opt.Addr, true, fmt.Errorf("store: redis at %s is a cluster node, which has only database 0; drop /%d from REDIS_URL", opt.Addr, opt.DB)
	}
	if err != nil || !strings.Contains(info, "cluster_enabled:1") {
		// An unreachable server is reported by the caller's PING.
		return plain, opt.Addr, false, nil
	}
	_ = plain.Close()
	copt := &redis.ClusterOptions{
		Addrs:        []string{opt.Addr},
		Username:     opt.Username,
		Password:     opt.Password,
		TLSConfig:    opt.TLSConfig,
		DialTimeout:  opt.DialTimeout,
		ReadTimeout:  opt.ReadTimeout,
		WriteTimeout: opt.WriteTimeout,
		PoolSize:     opt.PoolSize,
		ClientName:   opt.ClientName,
	}
	client, err = newRedisClient(func() redis.UniversalClient { return redis.NewClusterClient(tuneCluster(copt)) })
	if err != nil {
		return nil, opt.Addr, true, fmt.Errorf("store: redis cluster client for %s: %w", opt.Addr, err)
	}
	return client, opt.Addr, true, nil
}

// tune applies the default timeouts the URL did not set.
func tune(dial, read, write *time.Duration) {
	if *dial == 0 {
		*dial = redisDialTimeout
	}
	if *read == 0 {
		*read = redisReadTimeout
	}
	if *write == 0 {
		*write = redisWriteTimeout
	}
}

func tuneCluster(o *redis.ClusterOptions) *redis.ClusterOptions {
	tune(&o.DialTimeout, &o.ReadTimeout, &o.WriteTimeout)
	o.ContextTimeoutEnabled = true
	o.MaintNotificationsConfig = &maintnotifications.Config{Mode: maintnotifications.ModeDisabled}
	return o
}

// newRedisClient builds a client, turning the panics go-redis reserves for
// impossible option values into an error.
func newRedisClient(build func() redis.UniversalClient) (client redis.UniversalClient, err error) {
	defer func() {
		if p := recover(); p != nil {
			client, err = nil, fmt.Errorf("invalid options: %v", p)
		}
	}()
	return build(), nil
}

// key is the chat's session key. Everything of one chat shares the
// "{chat:<id>}" hash tag.
func (r *Redis) key(chat int64) string {
	return r.chatKey(chat, "session")
}

// chatKey is the chat's key of the given kind: "session", "applied",
// "outbox" or "sender".
func (r *Redis) chatKey(chat int64, kind string) string {
	return r.prefix + "{chat:" + strconv.FormatInt(chat, 10) + "}:" + kind
}

// forgottenKey is where the chat's applied update ids survive its erasure:
// "<prefix>{<tag>}:forgotten:<name>", named by the chat's keyed hash, under
// a hash tag of letters that Redis Cluster puts in the slot of the chat's
// "{chat:<id>}", so that the apply script can move the ids there and
// consult them in the same atomic step.
func (r *Redis) forgottenKey(chat int64) string {
	return r.prefix + "{" + sameSlotTag("chat:"+strconv.FormatInt(chat, 10)) + "}:forgotten:" + r.hash.Name(chat)
}

// Get implements [Store].
func (r *Redis) Get(ctx context.Context, chat int64) ([]byte, bool, error) {
	s, err := r.client.HGet(ctx, r.key(chat), "data").Result()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: redis get: %w", err)
	}
	return []byte(s), true, nil
}

// Update implements [Store]. Uncontended, it makes two round trips: HMGET,
// then EVALSHA of the compare-and-set script (one when there was nothing to
// delete), or only the script when the session is cached (see Apply); a
// stale cached copy costs the script once more. After a lost race it pauses
// briefly and starts over, at most redisMaxAttempts times.
func (r *Redis) Update(ctx context.Context, chat int64, fn func(cur []byte) ([]byte, error)) error {
	key := r.key(chat)
	ttlMillis := strconv.FormatInt(r.ttl.Milliseconds(), 10)
	// A cached session saves the read; not a cached absence, which would
	// let a delete of a session written elsewhere be skipped below.
	rev, cur, known := r.cache.lookup(chat, 0)
	known = known && rev != ""
	for attempt := range redisMaxAttempts {
		if attempt > 1 {
			if err := pause(ctx, attempt-1); err != nil {
				return fmt.Errorf("store: redis update: %w", err)
			}
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: redis update: %w", err)
		}

		if !known {
			vals, err := r.client.HMGet(ctx, key, "rev", "data").Result()
			if err != nil {
				return fmt.Errorf("store: redis read: %w", err)
			}
			rev, cur = "", nil
			if len(vals) == 2 {
				rev, _ = vals[0].(string)
				if s, ok := vals[1].(string); ok {
					cur = []byte(s)
				}
			}
		}
		known = false

		next, err := fn(cur)
		if err != nil {
			return err
		}
		if next == nil && cur == nil && rev == "" {
			return nil // nothing there, nothing to delete
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("store: redis update: %w", err)
		}

		op := "1"
		newRev := rand.Text()
		if next == nil {
			op = "0"
		}
		res, err := r.cas.Run(ctx, r.client, []string{key}, rev, newRev, op, next, ttlMillis).Int64()
		if err != nil {
			r.cache.drop(chat)
			return fmt.Errorf("store: redis compare-and-set: %w", err)
		}
		if res == 1 {
			if next == nil {
				newRev = ""
			}
			r.cache.put(chat, newRev, next, 0)
			return nil
		}
		r.cache.drop(chat)
	}
	return fmt.Errorf("store: redis update: gave up after %d attempts: %w", redisMaxAttempts, ErrContention)
}

// pause waits a random time that grows with the attempt number, so that
// writers racing on one chat spread out; it returns early with ctx's error.
func pause(ctx context.Context, attempt int) error {
	ceiling := min(redisMaxBackoff, 500*time.Microsecond<<min(attempt-1, 10))
	t := time.NewTimer(mrand.N(ceiling) + 1)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Delete implements [Store].
func (r *Redis) Delete(ctx context.Context, chat int64) error {
	r.cache.drop(chat)
	if err := r.client.Del(ctx, r.key(chat)).Err(); err != nil {
		return fmt.Errorf("store: redis delete: %w", err)
	}
	return nil
}

// Ping implements [Store].
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("store: redis ping: %w", err)
	}
	return nil
}

// Close implements [Store]. Calling it again returns the first result.
func (r *Redis) Close() error {
	r.closeOnce.Do(func() {
		if err := r.client.Close(); err != nil {
			r.closeErr = fmt.Errorf("store: redis close: %w", err)
		}
	})
	return r.closeErr
}

// roundTrips is a go-redis hook counting the commands and pipelines sent.
type roundTrips struct{ n atomic.Uint64 }

func (c *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (c *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmd)
	}
}

func (c *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		c.n.Add(1)
		return next(ctx, cmds)
	}
}

// RoundTrips implements [Inspector].
func (r *Redis) RoundTrips() uint64 { return r.trips.n.Load() }

// onEveryMaster runs fn on every master of a Redis Cluster, concurrently
// (ForEachMaster), or on the one server otherwise: for what must see the
// whole keyspace, such as SCAN.
func (r *Redis) onEveryMaster(ctx context.Context, fn func(ctx context.Context, c redis.Cmdable) error) error {
	if cc, ok := r.client.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return fn(ctx, c) })
	}
	return fn(ctx, r.client)
}
