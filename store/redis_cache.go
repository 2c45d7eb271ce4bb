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
type sessionCache struct {
	mu  sync.Mutex
	max int
	m   map[int64]*list.Element // of *cached
	lru list.List               // front: used last
}

type cached struct {
	chat    int64
	rev     string // "" when the chat had no session
	data    []byte
	applied int64 // the highest update id applied through this process
}

func newSessionCache(max int) *sessionCache {
	return &sessionCache{max: max, m: make(map[int64]*list.Element)}
}

// lookup returns the chat's cached session (a copy) and revision. ok is
// false when there is none, or when updateID is not above the highest this
// process applied to the chat: that must be checked in Redis before fn runs.
func (c *sessionCache) lookup(chat, updateID int64) (rev string, data []byte, ok bool) {
	if c == nil {
		return "", nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[chat]
	if !found {
		return "", nil, false
	}
	x := e.Value.(*cached)
	if updateID > 0 && updateID <= x.applied {
		return "", nil, false
	}
	c.lru.MoveToFront(e)
	return x.rev, bytes.Clone(x.data), true
}

// put records that the chat's session is data at revision rev (rev "" and
// data nil: no session), and that updateID (when positive) was applied.
func (c *sessionCache) put(chat int64, rev string, data []byte, updateID int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, found := c.m[chat]
	if !found {
		e = c.lru.PushFront(&cached{chat: chat})
		c.m[chat] = e
		for c.lru.Len() > c.max {
			old := c.lru.Back()
			c.lru.Remove(old)
			delete(c.m, old.Value.(*cached).chat)
		}
	} else {
		c.lru.MoveToFront(e)
	}
	x := e.Value.(*cached)
	x.rev, x.data = rev, bytes.Clone(data)
	x.applied = max(x.applied, updateID)
}

// drop forgets the chat.
func (c *sessionCache) drop(chat int64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, found := c.m[chat]; found {
		c.lru.Remove(e)
		delete(c.m, chat)
	}
}

// clear forgets every chat.
func (c *sessionCache) clear() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.m = make(map[int64]*list.Element)
	c.lru.Init()
}
