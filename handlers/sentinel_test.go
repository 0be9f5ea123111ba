package handlers_test

import (
	"context"
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
	// Give every job until 40 s after the failover to end.
	settle := time.Now().Add(40 * time.Second)
	succeeded, lost := 0, 0
	for i := range n {
		id := fmt.Sprintf("sentinel-%d", i)
		var j *store.Job
		for {
			var err error
			j, err = f.Client.Status(ctx, id)
			if err == nil && j.State.Terminal() || time.Now().After(settle) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if j != nil && j.State == store.StateSucceeded {
			succeeded++
		} else {
			lost++
			if j != nil {
				t.Logf("job %s not ended 40 s after the failover: state %s, polls %d (its next task was lost with the primary)", id, j.State, j.Polls)
			} else {
				t.Logf("job %s: record lost with the primary", id)
			}
		}
	}
	t.Logf("Sentinel failover mid-run: %d of %d jobs succeeded, %d lost or not ended 40 s after the primary died",
		succeeded, n, lost)
	// The fleet works on the new primary.
	actx, cancel := ctxWithTimeout(context.Background(), time.Minute)
	defer cancel()
	j, err := scenario.Run(actx, f.Client, sc, store.KindVerify, "after-failover", "user-after-failover", nil)
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("a job after the failover: %+v %v", j, err)
	}
}
