package store

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync"

	"github.com/aimabot/aimabot/flows"
)

// ChatHash names a chat without its id: HMAC-SHA256, keyed with
// "aimabot-log:" followed by a secret, of the chat id in decimal. The bot
// names chats in its logs with [ChatHash.Log] and the stores name what an
// erasure leaves with [ChatHash.Name], both from the same secret (the bot
// token in serve), so that the same chat has the same name in every
// process and across restarts, and one name is the start of the other.
// Without the secret, the name cannot be turned back into the id; with it,
// only by trying ids.
type ChatHash struct{ key []byte }

// NewChatHash returns the hash keyed by secret. An empty secret keys it
// with "aimabot-log:" alone: a fixed key that anyone reading this source
// knows, for tests and for stores opened without one.
func NewChatHash(secret string) ChatHash {
	return ChatHash{key: []byte("aimabot-log:" + secret)}
}

func (h ChatHash) sum(chat int64) []byte {
	key := h.key
	if key == nil {
		key = []byte("aimabot-log:")
	}
	m := hmac.New(sha256.New, key)
	m.Write(strconv.AppendInt(nil, chat, 10))
	return m.Sum(nil)
}

// Log is the chat's name in logs: the first 6 bytes of the hash, in hex.
func (h ChatHash) Log(chat int64) string { return hex.EncodeToString(h.sum(chat)[:6]) }

// Name is the chat's name in a stored key: the first 16 bytes of the hash,
// in hex, long enough that two chats never share one.
func (h ChatHash) Name(chat int64) string { return hex.EncodeToString(h.sum(chat)[:16]) }

// ForgottenTTL is how long a chat's applied update ids survive its erasure
// (Change.Forget), under [ChatHash.Name], so that Telegram delivering one
// of those updates again is recognised: Telegram keeps an update it could
// not deliver for 24 hours, and two hours more cover a delivery begun just
// before that end and retried. It is flows.ForgottenIDsKept, which /privacy
// tells the applicant.
const ForgottenTTL = flows.ForgottenIDsKept

// crc16 is Redis Cluster's key hash (CRC-16/XMODEM).
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// redisSlots is how many slots a Redis Cluster has.
const redisSlots = 16384

// slotTagLetters is how many letters a slot tag has: five letters of a..p
// (four leave two slots out).
const slotTagLetters = 5

// slotTag encodes n in slotTagLetters letters a..p.
func slotTag(n uint32) string {
	b := make([]byte, slotTagLetters)
	for i := range b {
		b[slotTagLetters-1-i] = 'a' + byte(n>>(4*i)&0xf)
	}
	return string(b)
}

// slotTags gives, for each Redis Cluster slot, a short tag of letters only
// that hashes to it: the hash tag of a key that must sit in the same slot
// as a chat's keys without naming the chat. Computed once (65536 hashes of
// five bytes, a few milliseconds) and never changed.
var slotTags = sync.OnceValue(func() []uint32 {
	tags := make([]uint32, redisSlots)
	found := make([]bool, redisSlots)
	left := redisSlots
	for n := uint32(0); n < 1<<(4*slotTagLetters) && left > 0; n++ {
		if s := crc16(slotTag(n)) % redisSlots; !found[s] {
			tags[s], found[s] = n, true
			left--
		}
	}
	if left > 0 {
		panic("store: a Redis Cluster slot has no tag") // impossible: TestSlotTags checks every slot
	}
	return tags
})

// sameSlotTag is a tag of letters (no digit) in the Redis Cluster slot of
// the hash tag given.
func sameSlotTag(tag string) string {
	return slotTag(slotTags()[crc16(tag)%redisSlots])
}
