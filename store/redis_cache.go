package store

import (
	"bytes"
	"container/list"
	"sync"
)

// sessionCache keeps, for the chats this process wrote last, the session and
// its revision as written, so that Apply and Update can write without
// reading first: their scripts check the revision and, when another writer
// changed it meanwhile, nothing is written (Apply's script then answers the
// current session, for the next attempt). A cached session is therefore
// never trusted, only tried; a stale one costs a round trip, not a wrong
// write.
//
// It also remembers the highest update id this process applied to each
// chat: an update id not above it (a repeated delivery, most likely) is
// checked against Redis before Apply calls fn, as the Store contract asks.
// Telegram's update ids grow, so a new update is above it.
//
// At most max chats are kept; the one used longest ago goes first.
type sessionCache lru[int64, cached]

type cached struct {
	rev     string // "" when the chat had no session
	data    []byte
	applied int64 // the highest update id applied through this process
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, m: make(map[int64]*list.Element)}
}

func (c *sessionCache) lru() *lru[int64, cached] { return (*lru[int64, cached])(c) }

// lookup returns the chat's cached session (a copy) and revision. ok is
// false when there is none, or when updateID is not above the highest this
// process applied to the chat: that must be checked in Redis before fn runs.
func (c *sessionCache) lookup(chat, updateID int64) (rev string, data []byte, ok bool) {
	x, found := c.lru().get(chat)
	if !found || (updateID > 0 && updateID <= x.applied) {
		return "", nil, false
	}
	return x.rev, bytes.Clone(x.data), true
}

// put records that the chat's session is data at revision rev (rev "" and
// data nil: no session), and that updateID (when positive) was applied.
func (c *sessionCache) put(chat int64, rev string, data []byte, updateID int64) {
	c.lru().set(chat, func(x *cached) {
		x.rev, x.data = rev, bytes.Clone(data)
		x.applied = max(x.applied, updateID)
	})
}

// drop forgets the chat; clear forgets every chat.
func (c *sessionCache) drop(chat int64) { c.lru().drop(chat) }
func (c *sessionCache) clear()          { c.lru().clear() }

// recordCache is sessionCache for records, by their Redis key: UpdateRecord
// tries the record as this process last wrote it, and the compare-and-set
// script refuses a stale one. Reads (GetRecord) never use it.
type recordCache lru[string, cachedRecord]

type cachedRecord struct {
	rev  string
	data []byte
}

func newRecordCache(max int) *recordCache {
	return &recordCache{max: max, m: make(map[string]*list.Element)}
}

func (c *recordCache) lru() *lru[string, cachedRecord] { return (*lru[string, cachedRecord])(c) }

// drop forgets the record at key; clear forgets every record.
func (c *recordCache) drop(key string) { c.lru().drop(key) }
func (c *recordCache) clear()          { c.lru().clear() }

// lookup returns the record as last written here (a copy), if known.
func (c *recordCache) lookup(key string) (rev string, data []byte, ok bool) {
	x, found := c.lru().get(key)
	return x.rev, bytes.Clone(x.data), found
}

// put records that the record at key is data at revision rev.
func (c *recordCache) put(key, rev string, data []byte) {
	c.lru().set(key, func(x *cachedRecord) { x.rev, x.data = rev, bytes.Clone(data) })
}

// lru is a bounded map that forgets the entry used longest ago first; safe
// for concurrent use. Every method does nothing on a nil *lru (caching off).
type lru[K comparable, V any] struct {
	mu  sync.Mutex
	max int
	m   map[K]*list.Element // of *lruEntry[K, V]
	l   list.List           // front: used last
}

type lruEntry[K comparable, V any] struct {
	key K
	v   V
}

// get returns the entry (its byte slices shared: callers copy what they
// keep) and marks it used.
func (c *lru[K, V]) get(k K) (V, bool) {
	var zero V
	if c == nil {
		return zero, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[k]
	if !found {
		return zero, false
	}
	c.l.MoveToFront(e)
	return e.Value.(*lruEntry[K, V]).v, true
}

// set changes the entry (the zero V when new) with fn and marks it used.
func (c *lru[K, V]) set(k K, fn func(v *V)) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[k]
	if !found {
		e = c.l.PushFront(&lruEntry[K, V]{key: k})
		c.m[k] = e
		for c.l.Len() > c.max {
			old := c.l.Back()
			c.l.Remove(old)
			delete(c.m, old.Value.(*lruEntry[K, V]).key)
		}
	} else {
		c.l.MoveToFront(e)
	}
	fn(&e.Value.(*lruEntry[K, V]).v)
}

// drop forgets k.
func (c *lru[K, V]) drop(k K) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, found := c.m[k]; found {
		c.l.Remove(e)
		delete(c.m, k)
	}
}

// clear forgets everything.
func (c *lru[K, V]) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = make(map[K]*list.Element)
	c.l.Init()
}
