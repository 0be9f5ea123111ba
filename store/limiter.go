package store

import (
	"context"
	"fmt"
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
}

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
		if ttl, err := l.rdb.PTTL(ctx, mxPauseKey).Result(); err != nil {
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
	if ttl, err := l.rdb.PTTL(ctx, mxPauseKey).Result(); err == nil && ttl >= d {
		return nil
	}
	return l.rdb.Set(ctx, mxPauseKey, "429", d).Err()
}
