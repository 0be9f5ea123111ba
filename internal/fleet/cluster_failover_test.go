package fleet_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// standstill is how long the fleet may take, after the cluster has
// recovered, to write again before the test calls it stuck. It is a
// liveness bound, not a speed claim: the figure (goal ≤ 5 s) is reported
// by this test's log and in docs/BENCHMARKS.md. Before the fix the fleet
// stood still for 35–50 s (go-redis re-read the slot map every 60 s).
const standstill = 30 * time.Second

// A Redis Cluster of three masters and three replicas loses the master
// serving the store's slot mid-run (SIGKILL). The cluster promotes the
// replica; the fleet (two workers and a producer on
// MXFLEET_REDIS_CLUSTER_ADDRS) must pick the new topology up at once.
// Replication is asynchronous, so writes the dying master acknowledged in
// its last moments can be gone (a record rolled back behind the task that
// already ran on another master): as in TestSentinelFailoverMidRun, the
// sweeper drives such jobs on, and every job must end — as its scenario
// expects, or task_lost where its start was lost — or have lost its record
// with the master.
func TestClusterFailoverMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a six-node cluster")
	}
	r := testenv.NewClusterWithReplicas(t)
	// MFA rounds outlast the outage: an answer cannot be written during it.
	f := testenv.NewFleetOn(t, r, func(c *fleet.Config) { c.JobDeadline, c.ChallengeTTL = 2*time.Minute, 20*time.Second },
		mxsim.WithAggregationTime(time.Second))
	f.StartWorker(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	type run struct {
		sc  mxsim.Scenario
		id  string
		job *store.View
		err error
	}
	var mu sync.Mutex
	var runs []*run
	var wg sync.WaitGroup
	start := func(sc mxsim.Scenario, kind, id string) {
		ru := &run{sc: sc, id: id}
		mu.Lock()
		runs = append(runs, ru)
		mu.Unlock()
		wg.Go(func() {
			if kind == "" { // submitted already: watched to its end
				ru.job, ru.err = f.Client.Wait(ctx, id)
				return
			}
			ru.job, ru.err = scenario.Run(ctx, f.Client, sc, store.Kind(kind), id, "user-"+id, nil)
		})
	}
	// Every scenario of both kinds in flight when the master dies.
	for _, sc := range mxsim.Scenarios() {
		for _, kind := range sc.Kinds {
			start(sc, kind, "fo-"+sc.Name+"-"+kind)
		}
	}
	// The probe: a producer submitting a verify job every 20 ms (the same id
	// again until it is accepted) records when each write succeeded.
	var success mxsim.Scenario
	for _, sc := range mxsim.Scenarios() {
		if sc.Name == "success" {
			success = sc
		}
	}
	stopProbe := make(chan struct{})
	var accepted []time.Time
	var probes []string
	failed := 0
	var probing sync.WaitGroup
	probing.Go(func() {
		for i := 0; ; i++ {
			id := fmt.Sprintf("probe-%d", i)
			for {
				_, err := f.Client.Verify(ctx, scenario.Request(success, id, "user-"+id))
				mu.Lock()
				if err == nil {
					accepted, probes = append(accepted, time.Now()), append(probes, id)
				} else {
					failed++
				}
				mu.Unlock()
				if err == nil || ctx.Err() != nil {
					break
				}
				time.Sleep(20 * time.Millisecond) // the probe's pace, not a wait
			}
			select {
			case <-stopProbe:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	})

	// Not a wait for a condition: the jobs and the probe run for a while
	// before the master dies, so that it dies under load.
	time.Sleep(1500 * time.Millisecond)
	killedAt := time.Now()
	dead, slot := r.KillMasterOf(t, "mxfleet:{store}:job:x")
	recovered, err := r.WaitRecovered(ctx, dead, slot)
	if err != nil {
		t.Fatal(err)
	}
	var firstWrite time.Time
	wctx, cancel := context.WithDeadline(ctx, recovered.Add(standstill))
	testenv.Poll(wctx, testenv.Tick, func() bool { // judged below
		mu.Lock()
		defer mu.Unlock()
		for _, a := range accepted {
			if a.After(recovered) {
				firstWrite = a
				return true
			}
		}
		return false
	})
	cancel()
	time.Sleep(time.Second) // jobs submitted after the recovery run too: load, not a wait
	close(stopProbe)
	probing.Wait()
	if firstWrite.IsZero() {
		t.Fatalf("no write by the fleet's producer succeeded within %s of the cluster recovering (master %s killed)", standstill, dead)
	}
	for _, id := range probes {
		start(success, "", id)
	}

	// Sweeps as a worker would, but often (testenv.Fleet.SweepOften).
	stopSweeps := f.SweepOften(t, ctx)
	wg.Wait()
	repaired := stopSweeps()

	var firstEnd time.Time // the workers' writes: the first job they ended after the recovery
	asExpected, taskLost, gone := 0, 0, 0
	for _, ru := range runs {
		switch {
		case errors.Is(ru.err, store.ErrNotFound):
			gone++ // written in the master's last moments and lost with it
		case ru.err != nil:
			t.Errorf("%s: %v\n%s", ru.id, ru.err, jobLog(f.Logs.String(), ru.id))
		case scenario.Check(ru.sc, ru.job) == nil:
			asExpected++
		case ru.job.State == store.StateFailed && ru.job.Error != nil && ru.job.Error.Code == "task_lost":
			taskLost++
		default:
			t.Errorf("%s: %v\n%s", ru.id, scenario.Check(ru.sc, ru.job), jobLog(f.Logs.String(), ru.id))
		}
		if ru.job != nil && ru.job.UpdatedAt.After(recovered) && (firstEnd.IsZero() || ru.job.UpdatedAt.Before(firstEnd)) {
			firstEnd = ru.job.UpdatedAt
		}
	}
	t.Logf("failover: master %s (slot %d) killed; cluster_state:ok and a new master %s later; "+
		"first successful producer write %s after that; first job ended by a worker %s after it; "+
		"%d probe writes failed meanwhile; %d jobs: %d as expected, %d task_lost, %d records lost with the master; %d repaired by the sweeper",
		dead, slot, recovered.Sub(killedAt).Round(time.Millisecond), firstWrite.Sub(recovered).Round(time.Millisecond),
		firstEnd.Sub(recovered).Round(time.Millisecond), failed, len(runs), asExpected, taskLost, gone, repaired)
}

// jobLog is what the workers logged about one job.
func jobLog(all, id string) string {
	var b strings.Builder
	for _, l := range strings.Split(all, "\n") {
		if strings.Contains(l, `"`+id+`"`) || strings.Contains(l, ":"+id+`"`) || strings.Contains(l, ":"+id+":") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}
