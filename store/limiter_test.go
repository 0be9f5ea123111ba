package store_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/testenv"
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
	time.Sleep(store.PauseCheck)
	if err := other.Wait(ctx); !errors.As(err, &th) || th.Wait <= 2*time.Second || !mx.IsRetriable(err) || mx.RetryAfter(err) != th.Wait {
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
