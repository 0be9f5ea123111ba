package store_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

func TestLimiterRateAndPause(t *testing.T) {
	r := testenv.NewRedis(t)
	ctx := context.Background()
	l := store.NewMXLimiter(r.Client, 2, 0) // 2/s, burst 2, never wait in place
	var throttled int
	for range 5 {
		err := l.Wait(ctx)
		var th *mx.Throttled
		if errors.As(err, &th) {
			throttled++
			if th.Wait <= 0 || th.Wait > time.Second {
				t.Fatalf("wait %s", th.Wait)
			}
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if throttled != 3 {
		t.Fatalf("%d of 5 immediate calls throttled at 2/s with a burst of 2, want 3", throttled)
	}
	// Another pod's limiter shares the budget through Redis.
	other := store.NewMXLimiter(r.Client, 2, 0)
	if err := other.Wait(ctx); !errors.As(err, new(*mx.Throttled)) {
		t.Fatalf("second limiter on the same Redis: %v", err)
	}
	free := store.NewMXLimiter(r.Client, 0, 0)
	if err := free.Wait(ctx); err != nil {
		t.Fatalf("no rate limit: %v", err)
	}
	if err := free.Pause(ctx, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	// The pod that paused sees it at once; others within PauseCheck.
	var th *mx.Throttled
	if err := free.Wait(ctx); !errors.As(err, &th) || th.Wait <= 2*time.Second {
		t.Fatalf("the pausing limiter, during its pause: %v", err)
	}
	var err error
	testenv.Until(t, ctx, "the other limiter seeing the pause", func() error {
		if err = other.Wait(ctx); errors.As(err, &th) && th.Wait > 2*time.Second {
			return nil
		}
		return fmt.Errorf("its Wait: %v", err)
	})
	if !mx.IsRetriable(err) || mx.RetryAfter(err) != th.Wait {
		t.Fatalf("during a pause: %v", err)
	}
	if err := free.Pause(ctx, time.Second); err != nil { // never shortens
		t.Fatal(err)
	}
	if err := free.Wait(ctx); !errors.As(err, &th) || th.Wait <= 2*time.Second {
		t.Fatalf("a shorter pause shortened the first: %v", err)
	}
}

// A 429 with Retry-After from MX pauses every client sharing the Redis: the
// next call does not reach MX.
func TestMX429PausesTheFleet(t *testing.T) {
	r := testenv.NewRedis(t)
	ctx := context.Background()
	sim := mxsim.New(mxsim.WithFaults(mxsim.Faults{RateLimitRate: 1, RetryAfter: 5 * time.Second}))
	hs := httptest.NewServer(sim)
	defer hs.Close()
	client := func() *mx.Client {
		c, err := mx.New(mx.WithBaseURL(hs.URL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey),
			mx.WithLimiter(store.NewMXLimiter(r.Client, 0, time.Second)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	a, b := client(), client()
	if _, err := a.ReadUser(ctx, "USR-1"); mx.StatusCode(err) != 429 {
		t.Fatalf("first call: %v", err)
	}
	sim.SetFaults(mxsim.Faults{})
	_, err := b.ReadUser(ctx, "USR-1")
	if !errors.As(err, new(*mx.Throttled)) || mx.RetryAfter(err) < 4*time.Second {
		t.Fatalf("another pod's call during the pause: %v", err)
	}
	if n := sim.Stats().Calls["readUser"]; n != 0 {
		t.Fatalf("MX saw %d readUser calls during the pause", n)
	}
}

// countHook counts the commands a client sends.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(int64(len(cmds))); return next(ctx, cmds) }
}

// Each process takes calls from the fleet-wide limit in batches (one
// Redis round trip per batch), yet the fleet never gets more calls than
// the limit grants: two pods at 100/s (burst 100) asking 400 times at
// once get about 100, and ask Redis far fewer times than they call.
func TestLimiterBudgetKeepsTheFleetLimit(t *testing.T) {
	r := testenv.NewRedis(t)
	ctx := context.Background()
	hook := &countHook{}
	c := r.Client // this test's own redis-server
	c.AddHook(hook)
	a, b := store.NewMXLimiter(c, 100, 0), store.NewMXLimiter(c, 100, 0)
	start := time.Now()
	allowed := 0
	for i := range 400 {
		l := a
		if i%2 == 1 {
			l = b
		}
		if err := l.Wait(ctx); err == nil {
			allowed++
		} else if !errors.As(err, new(*mx.Throttled)) {
			t.Fatal(err)
		}
	}
	// The limit grants the burst plus 100/s of the time taken; a call
	// may go up to BudgetHold after its grant.
	took := time.Since(start)
	most := 100 + int(100*(took+store.BudgetHold).Seconds()) + 1
	if allowed < 100 || allowed > most {
		t.Fatalf("%d of 400 immediate calls allowed at 100/s with a burst of 100, want 100..%d", allowed, most)
	}
	// 5 calls per round trip while the burst lasts (100/20): 20 round
	// trips for it, plus one per throttled call (the budget is empty
	// then), one per call the refill grants as it trickles in, and a pause
	// check per PauseCheck. Without the budget: one per call.
	if n := hook.n.Load(); n > int64((400-allowed)+(allowed-100)+100/5+int(took/store.PauseCheck)+5) {
		t.Fatalf("%d Redis commands for %d allowed and %d throttled calls: the budget saved nothing", n, allowed, 400-allowed)
	}
	// A budget is not kept past BudgetHold: after it, calls ask Redis again.
	a2 := store.NewMXLimiter(c, 100, 0)
	testenv.Until(t, ctx, "the limit refilling", func() error {
		err := a2.Wait(ctx)
		if err != nil && !errors.As(err, new(*mx.Throttled)) {
			t.Fatal(err)
		}
		return err
	})
	before := hook.n.Load()
	// Not a wait for a condition: what is tested is that a budget ages out
	// after BudgetHold of wall-clock time (the limiter reads time.Now, and a
	// call spends the budget, so no state shows it aging before it is used).
	time.Sleep(store.BudgetHold + 10*time.Millisecond)
	if err := a2.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	if hook.n.Load() == before {
		t.Fatal("a call after BudgetHold spent a budget taken before it")
	}
}
