package store

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/mx"
)

// MXLimiter paces MX calls across every worker pod through Redis: a GCRA
// rate limit (github.com/go-redis/redis_rate) and a fleet-wide pause set
// when MX answers 429. It implements mx.Limiter.
type MXLimiter struct {
	rdb     redis.UniversalClient
	rl      *redis_rate.Limiter
	limit   redis_rate.Limit
	maxWait time.Duration
	// clearUntil (unix ns): until then the pause key is taken as absent
	// without asking Redis. A pause set by another pod is seen within
	// PauseCheck; one set by this process at once.
	clearUntil atomic.Int64
	ownUntil   atomic.Int64 // unix ns: the end of the latest pause this process set
}

// PauseCheck is how long a limiter trusts that no fleet-wide 429 pause is
// set before it asks Redis again: one PTTL per PauseCheck per worker
// process instead of one per MX call.
const PauseCheck = 100 * time.Millisecond

// NewMXLimiter allows perSecond MX calls a second across the fleet (with a
// burst of the same size); 0 means no rate limit, only 429 pauses. A
// caller waits at most maxWait in place; a longer wait is returned as
// *mx.Throttled so that the task is rescheduled instead of holding its slot.
func NewMXLimiter(rdb redis.UniversalClient, perSecond int, maxWait time.Duration) *MXLimiter {
	l := &MXLimiter{rdb: rdb, maxWait: maxWait}
	if perSecond > 0 {
		l.rl = redis_rate.NewLimiter(rdb)
		l.limit = redis_rate.PerSecond(perSecond)
	}
	return l
}

// Wait returns when a call may go, or *mx.Throttled.
func (l *MXLimiter) Wait(ctx context.Context) error {
	for {
		if ttl, err := l.paused(ctx); err != nil {
			return fmt.Errorf("rate limit: %w", err)
		} else if ttl > l.maxWait {
			return &mx.Throttled{Wait: ttl, Reason: "MX answered 429: calls are paused fleet-wide"}
		} else if ttl > 0 {
			// A short pause is waited out in place: rescheduling for it
			// would spend the task's retries on MX's congestion.
			if err := sleep(ctx, ttl); err != nil {
				return err
			}
			continue
		}
		if l.rl == nil {
			return nil
		}
		res, err := l.rl.Allow(ctx, mxRateKey, l.limit)
		if err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		if res.Allowed > 0 {
			return nil
		}
		if res.RetryAfter > l.maxWait {
			return &mx.Throttled{Wait: res.RetryAfter, Reason: "fleet-wide MX rate limit"}
		}
		if err := sleep(ctx, res.RetryAfter); err != nil {
			return err
		}
	}
}

// paused is what is left of a fleet-wide 429 pause (0: none).
func (l *MXLimiter) paused(ctx context.Context) (time.Duration, error) {
	now := time.Now().UnixNano()
	if own := l.ownUntil.Load(); now < own {
		return time.Duration(own - now), nil
	}
	if now < l.clearUntil.Load() {
		return 0, nil
	}
	ttl, err := l.rdb.PTTL(ctx, mxPauseKey).Result()
	if err == nil && ttl <= 0 {
		l.clearUntil.Store(time.Now().Add(PauseCheck).UnixNano())
	}
	return max(ttl, 0), err
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Pause stops MX calls fleet-wide for d (extending, never shortening, a
// pause already set).
func (l *MXLimiter) Pause(ctx context.Context, d time.Duration) error {
	// Seen by this process at once, whatever a racing read cached.
	until := time.Now().Add(d).UnixNano()
	for own := l.ownUntil.Load(); own < until && !l.ownUntil.CompareAndSwap(own, until); own = l.ownUntil.Load() {
	}
	l.clearUntil.Store(0)
	if ttl, err := l.rdb.PTTL(ctx, mxPauseKey).Result(); err == nil && ttl >= d {
		return nil
	}
	return l.rdb.Set(ctx, mxPauseKey, "429", d).Err()
}
