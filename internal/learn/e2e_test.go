package learn_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/learn"
	"github.com/mxfleet/mxfleet/internal/pollplan"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// TestFleetWithLearnedSchedules: a fleet with learned schedules on, the
// simulator drawing realistic (log-normal, seeded) run times per
// institution. One institution's estimate is trusted from the start (60
// jobs another pod saw), the other's is not (the backoff). Every job ends
// as it would with the backoff, and the fleet learns from its own polls:
// the shared estimates grow by the jobs it ran. No timing is asserted.
func TestFleetWithLearnedSchedules(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: jobs wait seconds for MX, as MX asks")
	}
	r := testenv.NewRedis(t)
	ctx := testenv.Context(t, 3*time.Minute)
	times := map[string]mxsim.LogNormal{"filler_bank_01": {Median: 4 * time.Second, Sigma: 0.3}, "filler_bank_02": {Median: 5 * time.Second, Sigma: 0.4}}
	// Another pod saw 60 filler_bank_01 jobs.
	other := learn.New(store.NewPollPlan(r.Client), learn.Options{})
	now := time.Now()
	for i := range 60 {
		seenAt(other, "filler_bank_01", time.Duration(3000+40*i)*time.Millisecond, now)
	}
	if err := other.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	f := testenv.NewFleetOn(t, r, func(c *fleet.Config) {
		c.PollInitial, c.PollMax, c.PollSchedule = 3*time.Second, 10*time.Second, "learned"
		c.SchedulerInterval, c.JobDeadline = 200*time.Millisecond, 2*time.Minute
	}, mxsim.WithAggregationDistribution(times, 7))
	// A worker whose metrics the test reads runs the jobs.
	w := f.StartWorker(t)
	f.StopWorker()
	sc := testenv.Scenario(t, "success")
	var wg sync.WaitGroup
	const perBank = 6
	for _, bank := range []string{"filler_bank_01", "filler_bank_02"} {
		for i := range perBank {
			wg.Go(func() {
				s := sc
				s.InstitutionCode = bank
				id := fmt.Sprintf("%s-%d", bank, i)
				v, err := scenario.Run(ctx, f.Client, s, store.KindVerify, id, "user-"+id, nil)
				if err != nil {
					t.Errorf("job %s: %v", id, err)
					return
				}
				if v.State != store.StateSucceeded || len(v.Result.AccountNumbers) == 0 {
					t.Errorf("job %s ended %s (%v)", id, v.State, v.Error)
				}
			})
		}
	}
	wg.Wait()
	// filler_bank_01's polls followed its plan; filler_bank_02's the
	// backoff, until learned.
	for rule, want := range map[string]bool{"planned": true, "fallback": true} {
		if got := scheduled(t, w, rule); (got > 0) != want {
			t.Errorf("%g polls scheduled by rule %s", got, rule)
		}
	}
	// The worker syncs every 5 s, and as it stops: the fleet's
	// observations reach Redis.
	w.Shutdown()
	if err := other.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	est := other.Estimates()
	now = time.Now()
	for bank, want := range map[string]float64{"filler_bank_01": 60 + perBank, "filler_bank_02": perBank} {
		k := pollplan.Key(bank, "verify", false)
		if e := est[k]; e == nil || e.Weight(now) < want-0.5 {
			t.Errorf("%s: the shared estimate is %v, want the weight of %v jobs", k, e, want)
		}
	}
	if _, ok := other.Plan(pollplan.Key("filler_bank_01", "verify", false)); !ok {
		t.Error("filler_bank_01 is not learned")
	}
}

// scheduled reads mxfleet_polls_scheduled_total{rule} from w's metrics.
func scheduled(t *testing.T, w *fleet.Worker, rule string) float64 {
	t.Helper()
	mfs, err := w.Metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "mxfleet_polls_scheduled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "rule" && l.GetValue() == rule {
					return m.GetCounter().GetValue()
				}
			}
		}
	}
	t.Fatalf("no mxfleet_polls_scheduled_total{rule=%q}", rule)
	return 0
}
