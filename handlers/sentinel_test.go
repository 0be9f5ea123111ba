package handlers_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/testenv"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// Jobs run through a Sentinel-managed Redis; mid-run the primary is killed
// and the Sentinel promotes the replica. The test reports how many jobs were
// lost (replication is asynchronous, so writes acknowledged by the dying
// primary in its last moments can be gone) and checks that the fleet keeps
// working on the new primary.
func TestSentinelFailoverMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("fails a Redis primary over")
	}
	t.Parallel()
	s := testenv.NewSentinel(t)
	f := testenv.NewFleetOn(t, s.Redis, func(c *fleet.Config) { c.JobDeadline = 45 * time.Second },
		mxsim.WithAggregationTime(2*time.Second))
	ctx := ctxT(t, 2*time.Minute)
	sc := scenarioByName(t, "success")
	const n = 20
	for i := range n {
		id := fmt.Sprintf("sentinel-%d", i)
		if _, err := f.Client.Verify(ctx, scenario.Request(sc, id, "user-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(time.Second) // jobs are running, polls are scheduled
	if err := s.Primary.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	failedOver := time.Now()
	for ctx.Err() == nil { // until the Sentinel has promoted the replica
		if f.Redis.Client.Ping(ctx).Err() == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("Redis answers again %s after the primary died", time.Since(failedOver).Round(100*time.Millisecond))
	succeeded, lost := 0, 0
	for i := range n {
		id := fmt.Sprintf("sentinel-%d", i)
		wctx, cancel := ctxWithTimeout(ctx, 60*time.Second)
		j, err := f.Client.Wait(wctx, id)
		cancel()
		switch {
		case err == nil && j.State == store.StateSucceeded:
			succeeded++
		default:
			lost++
			t.Logf("job %s after failover: %+v %v", id, j, err)
		}
	}
	t.Logf("Sentinel failover mid-run: %d of %d jobs succeeded, %d lost or not ended; all settled %s after the primary died",
		succeeded, n, lost, time.Since(failedOver).Round(time.Second))
	// The fleet works on the new primary.
	j, err := scenario.Run(ctx, f.Client, sc, store.KindVerify, "after-failover", "user-after-failover", nil)
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("a job after the failover: %+v %v", j, err)
	}
	if succeeded == 0 {
		t.Fatal("no job survived the failover")
	}
}
