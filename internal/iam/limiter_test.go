package iam

import (
	"testing"
	"time"

	"github.com/steadyhq/steady/internal/platform/clock"
)

func TestLimiter(t *testing.T) {
	c := clock.NewFake(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	l := NewLimiter(c)
	allow := func(keys ...string) (bool, int) { return l.Allow(keys...) }

	t.Run("burst then wait", func(t *testing.T) {
		for i := range l.Burst {
			if ok, _ := allow("a"); !ok {
				t.Fatalf("attempt %d of the burst refused", i+1)
			}
		}
		ok, wait := allow("a")
		if ok || wait != int(l.Every.Seconds()) {
			t.Fatalf("attempt past the burst: %v, retry after %d; want refused, %v", ok, wait, l.Every)
		}
		c.Advance(l.Every / 2)
		if ok, wait := allow("a"); ok || wait != int(l.Every.Seconds())/2 {
			t.Fatalf("half a period later: %v, retry after %d", ok, wait)
		}
		c.Advance(l.Every / 2)
		if ok, _ := allow("a"); !ok {
			t.Fatal("refused after a full period")
		}
		if ok, _ := allow("a"); ok {
			t.Fatal("a refilled bucket gave more than one attempt")
		}
	})

	t.Run("refill is capped at the burst", func(t *testing.T) {
		c.Advance(24 * time.Hour)
		n := 0
		for {
			if ok, _ := allow("a"); !ok {
				break
			}
			n++
		}
		if n != l.Burst {
			t.Fatalf("%d attempts after a long pause; want %d", n, l.Burst)
		}
	})

	t.Run("keys are independent", func(t *testing.T) {
		if ok, _ := allow("b"); !ok {
			t.Fatal("a fresh key is refused")
		}
	})

	t.Run("one empty key refuses all and takes from none", func(t *testing.T) {
		// "a" is empty now; "c" is fresh.
		for range 3 {
			if ok, wait := allow("a", "c"); ok || wait <= 0 {
				t.Fatalf("allowed with an empty key: %v %d", ok, wait)
			}
		}
		n := 0
		for {
			if ok, _ := allow("c"); !ok {
				break
			}
			n++
		}
		if n != l.Burst {
			t.Fatalf("key c had %d attempts left; want %d (a refusal must not take any)", n, l.Burst)
		}
	})

	t.Run("several keys each pay", func(t *testing.T) {
		for i := range l.Burst {
			if ok, _ := allow("ip:1", "acct:x"); !ok {
				t.Fatalf("attempt %d refused", i+1)
			}
		}
		if ok, _ := allow("acct:x"); ok {
			t.Fatal("the account key was not charged")
		}
		if ok, _ := allow("ip:1"); ok {
			t.Fatal("the address key was not charged")
		}
	})

	t.Run("reset", func(t *testing.T) {
		l.Reset("acct:x")
		if ok, _ := allow("acct:x"); !ok {
			t.Fatal("refused after Reset")
		}
		if ok, _ := allow("ip:1"); ok {
			t.Fatal("Reset of one key reset another")
		}
	})

	t.Run("retry after rounds up", func(t *testing.T) {
		l := &Limiter{clock: c, keys: map[string]*bucket{}, Burst: 1, Every: 1500 * time.Millisecond}
		l.Allow("k")
		if ok, wait := l.Allow("k"); ok || wait != 2 {
			t.Fatalf("%v %d; want refused, retry after 2", ok, wait)
		}
	})
}

func TestLimiterPrunesIdleKeys(t *testing.T) {
	c := clock.NewFake(time.Unix(0, 0))
	l := NewLimiter(c)
	for i := range 100_001 {
		l.keys[itoa(int64(i))] = &bucket{tokens: 1, at: c.Now()}
	}
	c.Advance(time.Duration(l.Burst)*l.Every + time.Second)
	l.Allow("fresh")
	if len(l.keys) != 1 {
		t.Fatalf("%d keys left; want only the fresh one", len(l.keys))
	}
}
