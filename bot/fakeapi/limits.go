package fakeapi

import (
	"math"
	"time"
)

// bucket is a token bucket: capacity tokens, refilled at rate per second.
type bucket struct {
	capacity float64
	rate     float64
	tokens   float64
	last     time.Time
}

func (b *bucket) refill(now time.Time) {
	if b.last.IsZero() {
		b.tokens, b.last = b.capacity, now
		return
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(b.capacity, b.tokens+dt*b.rate)
		b.last = now
	}
}

// wait is how long until a token is available (0 if one is).
func (b *bucket) wait() time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// limiter emulates Telegram's flood limits with a global bucket and one per
// chat. It runs on the real clock, since clients wait retry_after for real.
type limiter struct {
	on        bool
	global    bucket
	chatRate  float64
	chatBurst float64
	groupRate float64
	groupCap  float64
	chats     map[int64]*bucket
}

func newLimiter(o Options) limiter {
	return limiter{
		on:        o.Limits,
		global:    bucket{capacity: o.GlobalPerSecond, rate: o.GlobalPerSecond},
		chatRate:  o.ChatPerSecond,
		chatBurst: float64(o.ChatBurst),
		groupRate: float64(o.GroupPerMinute) / 60,
		groupCap:  float64(o.GroupPerMinute),
		chats:     map[int64]*bucket{},
	}
}

// take spends one message to chat, or answers 429 with the seconds to wait.
func (l *limiter) take(chat int64, now time.Time) *apiError {
	if !l.on {
		return nil
	}
	cb := l.chats[chat]
	if cb == nil {
		cb = &bucket{capacity: l.chatBurst, rate: l.chatRate}
		if chat < 0 {
			cb = &bucket{capacity: l.groupCap, rate: l.groupRate}
		}
		l.chats[chat] = cb
	}
	cb.refill(now)
	l.global.refill(now)
	wait := max(cb.wait(), l.global.wait())
	if wait > 0 {
		return tooManyRequests(int(math.Ceil(wait.Seconds())))
	}
	cb.tokens--
	l.global.tokens--
	return nil
}
