package store

import (
	"context"
	"fmt"
	"sync"
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

	// A local budget: up to batch calls are taken from the fleet-wide
	// limit in one Redis round trip and spent here until budgetUntil (at
	// most BudgetHold after they were taken); what is left then is
	// dropped, never handed back, so the budget can only under-use the
	// limit, never add calls to it.
	batch       int
	mu          sync.Mutex
	budget      int
	budgetUntil time.Time
}

// BudgetHold is how long a limiter keeps calls it took from the
// fleet-wide rate limit ahead of need (see NewMXLimiter).
const BudgetHold = 100 * time.Millisecond

// PauseCheck is how long a limiter trusts that no fleet-wide 429 pause is
// set before it asks Redis again: one PTTL per PauseCheck per worker
// process instead of one per MX call.
const PauseCheck = 100 * time.Millisecond

// NewMXLimiter allows perSecond MX calls a second across the fleet (with a
// burst of the same size); 0 means no rate limit, only 429 pauses. A
// caller waits at most maxWait in place; a longer wait is returned as
// *mx.Throttled so that the task is rescheduled instead of holding its slot.
//
// Each process takes up to perSecond/20 calls (50 ms of the fleet's rate,
// at least 1) from the limit per Redis round trip and spends them within
// BudgetHold: one round trip per batch instead of one per MX call. Every
// call is still granted by the fleet-wide limit; a call may go up to
// BudgetHold after its grant, so over any window T the fleet makes at
// most perSecond × (T + BudgetHold) + the burst calls.
func NewMXLimiter(rdb redis.UniversalClient, perSecond int, maxWait time.Duration) *MXLimiter {
	l := &MXLimiter{rdb: rdb, maxWait: maxWait, batch: max(1, perSecond/20)}
	if perSecond > 0 {
		l.rl = redis_rate.NewLimiter(rdb)
		l.limit = redis_rate.PerSecond(perSecond)
	}
	return l
}

// spend takes one call from the local budget; false when it is empty or
// past its hold.
func (l *MXLimiter) spend() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.budget > 0 && time.Now().Before(l.budgetUntil) {
		l.budget--
		return true
	}
	l.budget = 0
	return false
}

// keep adds n calls just granted to the local budget. Calls still held
// keep their earlier deadline, which the new ones share: none is held
// longer than BudgetHold.
func (l *MXLimiter) keep(n int) {
	if n <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.budget == 0 || !now.Before(l.budgetUntil) {
		l.budget, l.budgetUntil = 0, now.Add(BudgetHold)
	}
	l.budget += n
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
		if l.rl == nil || l.spend() {
			return nil
		}
		res, err := l.rl.AllowAtMost(ctx, mxRateKey, l.limit, l.batch)
		if err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		if res.Allowed > 0 {
			l.keep(res.Allowed - 1)
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
