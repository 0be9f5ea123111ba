package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Jobs run through a Sentinel-managed Redis; mid-run the primary is killed
// and the Sentinel promotes the replica. Replication is asynchronous, so
// writes acknowledged by the dying primary in its last moments can be gone,
// a job's next task among them; the sweeper finds such jobs and drives them
// on. No job whose record survived may be left without an end and without
// a task to drive it, and the fleet keeps working on the new primary.
func TestSentinelFailoverMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("fails a Redis primary over")
	}
	t.Parallel()
	s := testenv.NewSentinel(t)
	f := testenv.NewFleetOn(t, s.Redis, func(c *fleet.Config) { c.JobDeadline = 45 * time.Second },
		mxsim.WithAggregationTime(2*time.Second))
	ctx := testenv.Context(t, 2*time.Minute)
	sc := testenv.Scenario(t, "success")
	const n = 20
	for i := range n {
		id := fmt.Sprintf("sentinel-%d", i)
		if _, err := f.Client.Verify(ctx, scenario.Request(sc, id, "user-"+id)); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Until(t, ctx, "every job running, polls scheduled", func() error {
		for i := range n {
			if j, err := f.Store.Get(ctx, fmt.Sprintf("sentinel-%d", i)); err != nil || j.State == store.StatePending {
				return fmt.Errorf("sentinel-%d: %+v %v", i, j, err)
			}
		}
		if polls, err := f.Inspector.ListScheduledTasks(tasks.QueuePolls); err != nil || len(polls) == 0 {
			return fmt.Errorf("no poll scheduled (%v)", err)
		}
		return nil
	})
	if err := s.Primary.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	failedOver := time.Now()
	testenv.Until(t, ctx, "the Sentinel promoting the replica", func() error { return f.Redis.Client.Ping(ctx).Err() })
	t.Logf("Redis answers again %s after the primary died", time.Since(failedOver).Round(100*time.Millisecond))
	// Sweeps as a worker would, but often (testenv.Fleet.SweepOften).
	stopSweeps := f.SweepOften(t, ctx)
	// Give every job until 40 s after the failover to end.
	settle := failedOver.Add(40 * time.Second)
	succeeded, gone := 0, 0
	var stuck []string // not ended, and no task left to drive them
	for i := range n {
		id := fmt.Sprintf("sentinel-%d", i)
		var j *store.Job // the record: Attempt names the task that drives it
		var err error
		sctx, cancel := context.WithDeadline(ctx, settle)
		// a job not ended by then is judged below, not failed here: Poll
		testenv.Poll(sctx, 100*time.Millisecond, func() bool {
			j, err = f.Store.Get(ctx, id)
			return err == nil && j.State.Terminal()
		})
		cancel()
		switch {
		case errors.Is(err, store.ErrNotFound):
			gone++ // written in the primary's last moments: lost with it, tasks and all
			t.Logf("job %s: record lost with the primary", id)
		case err != nil:
			stuck = append(stuck, id)
			t.Logf("job %s: %v", id, err)
		case !j.State.Terminal():
			// Not ended yet, so it must still have a task to drive it. One
			// a worker took from the dying primary but whose end the new
			// primary never saw stays active until asynq hands it out again,
			// a minute or two after its lease ran out.
			held := ""
			for _, tk := range []struct{ q, id string }{{tasks.QueueJobs, tasks.StartID(id)},
				{tasks.QueuePolls, tasks.TriggerID(id, j.Attempt)}, {tasks.QueuePolls, tasks.PollID(id, j.Polls+1)}} {
				if ti, err := f.Inspector.GetTaskInfo(tk.q, tk.id); err == nil {
					held = fmt.Sprintf("%s (%s)", tk.id, ti.State)
				}
			}
			t.Logf("job %s not ended 40 s after the failover: %s, polls %d; its task: %q", id, j.State, j.Polls, held)
			if held == "" {
				stuck = append(stuck, id)
			}
		case j.State == store.StateSucceeded:
			succeeded++
		default:
			t.Logf("job %s ended %s: %+v", id, j.State, j.Error)
		}
	}
	repaired := stopSweeps()
	t.Logf("Sentinel failover mid-run: %d of %d jobs succeeded, %d records lost, %d jobs repaired by the sweeper",
		succeeded, n, gone, repaired)
	if len(stuck) > 0 {
		t.Errorf("jobs left with nothing to drive them: %v", stuck)
	}
	// The fleet works on the new primary.
	actx, cancel := ctxWithTimeout(context.Background(), time.Minute)
	defer cancel()
	j, err := scenario.Run(actx, f.Client, sc, store.KindVerify, "after-failover", "user-after-failover", nil)
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("a job after the failover: %+v %v", j, err)
	}
}
