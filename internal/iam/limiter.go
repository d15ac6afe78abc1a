package iam

import (
	"math"
	"sync"
	"time"

	"github.com/steadyhq/steady/internal/platform/clock"
)

// Limiter slows down password guessing: each key (an address, an account) has
// a bucket of attempts that refills over time. It lives in memory; on several
// replicas each one limits on its own, which still bounds guessing.
type Limiter struct {
	clock clock.Clock
	mu    sync.Mutex
	keys  map[string]*bucket
	// Burst attempts at once, then one more every Every.
	Burst int
	Every time.Duration
}

type bucket struct {
	tokens float64
	at     time.Time
}

// NewLimiter allows bursts of 5 attempts per key, then one every 20 seconds.
func NewLimiter(c clock.Clock) *Limiter {
	return &Limiter{clock: c, keys: map[string]*bucket{}, Burst: 5, Every: 20 * time.Second}
}

// Allow takes one attempt for every key, or none if any key is empty, and
// then says how many seconds to wait.
func (l *Limiter) Allow(keys ...string) (ok bool, retryAfter int) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.keys) > 100_000 {
		l.prune(now)
	}
	var wait float64
	bs := make([]*bucket, len(keys))
	for i, k := range keys {
		b := l.keys[k]
		if b == nil {
			b = &bucket{tokens: float64(l.Burst), at: now}
			l.keys[k] = b
		}
		b.tokens = math.Min(float64(l.Burst), b.tokens+now.Sub(b.at).Seconds()/l.Every.Seconds())
		b.at = now
		if b.tokens < 1 {
			wait = math.Max(wait, (1-b.tokens)*l.Every.Seconds())
		}
		bs[i] = b
	}
	if wait > 0 {
		return false, int(math.Ceil(wait))
	}
	for _, b := range bs {
		b.tokens--
	}
	return true, 0
}

// Reset forgets a key, after a successful login.
func (l *Limiter) Reset(key string) {
	l.mu.Lock()
	delete(l.keys, key)
	l.mu.Unlock()
}

func (l *Limiter) prune(now time.Time) {
	full := time.Duration(l.Burst) * l.Every
	for k, b := range l.keys {
		if now.Sub(b.at) > full {
			delete(l.keys, k)
		}
	}
}
