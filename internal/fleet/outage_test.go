package fleet_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// A handler in the middle of an MX call when Redis goes away fails on its
// next Redis write. asynq must record that failure in Redis to run the
// task again; if the handler returned while Redis was still down, the task
// would stay active until its lease ran out and asynq's recoverer found it
// (30 s to 90 s: past this fleet's one-minute job deadline). The worker
// waits for Redis to answer, and the job ends as it should, with no retry
// spent.
func TestHandlerFailingInAnOutageWaitsForRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("stops Redis")
	}
	f := testenv.NewFleet(t, nil, mxsim.WithFaults(mxsim.Faults{Latency: time.Second}))
	if !f.Redis.Real {
		t.Skip("needs redis-server (Stop and Start)")
	}
	ctx := t.Context()
	var success mxsim.Scenario
	for _, sc := range mxsim.Scenarios() {
		if sc.Name == "success" {
			success = sc
		}
	}
	if _, err := f.Client.Verify(ctx, scenario.Request(success, "outage-1", "user-outage-1")); err != nil {
		t.Fatal(err)
	}
	// The start handler is in its MX calls (1 s each, about three before it
	// writes the record) when Redis stops for longer than they take.
	testenv.Until(t, ctx, "the start handler calling MX", func() error {
		if calls := f.Sim.Stats().Calls; len(calls) == 0 {
			return fmt.Errorf("no MX call yet")
		}
		return nil
	})
	f.Redis.Stop(t)
	// Not a wait for a condition: the outage's length is what is tested.
	time.Sleep(4 * time.Second)
	f.Redis.Start(t)
	j, err := f.Client.Wait(ctx, "outage-1")
	if err != nil {
		t.Fatal(err)
	}
	if j.State != store.StateSucceeded {
		t.Fatalf("job ended %s (%+v); the worker logged:\n%s", j.State, j.Error, jobLog(f.Logs.String(), "outage-1"))
	}
	if !strings.Contains(f.Logs.String(), "task failed while Redis could not be reached") {
		t.Fatalf("no handler failed during the outage; the test did not test it:\n%s", jobLog(f.Logs.String(), "outage-1"))
	}
}
