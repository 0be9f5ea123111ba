package api_test

import (
	"context"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/learn"
	"github.com/mxfleet/mxfleet/internal/pollplan"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// A running job's view says when it is expected to end, from the fleet's
// shared learned run times read by the API's own read-only learner; a
// parked job says it waits on the end user; a key with too few runs
// learned says there is no estimate yet; an ended job has none.
func TestJobViewETA(t *testing.T) {
	// mxbank's verify runs last two minutes here; identify keeps the
	// simulator's 2 s, to be challenged at once.
	e := newEnv(t, nil, mxsim.WithAggregationDistribution(map[string]mxsim.LogNormal{"mxbank/verify": {Median: 2 * time.Minute}}, 1))
	now := time.Now()
	learned := pollplan.NewEstimate(learn.DefaultHalfLife)
	for i := range 100 {
		learned.Observe(time.Duration(20+i%20)*time.Second, now) // 20–39 s
	}
	few := pollplan.NewEstimate(learn.DefaultHalfLife)
	few.Observe(10*time.Second, now)
	fields := map[string]string{}
	for k, est := range map[string]*pollplan.Estimate{pollplan.Key("mxbank", "verify", false): learned, pollplan.Key("mxbank_noid", "verify", false): few} {
		b, err := est.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		fields[k] = string(b)
	}
	if _, _, err := store.NewPollPlan(e.f.Redis.Client).Merge(context.Background(), -1, func(map[string]string) (map[string]string, []string, error) {
		return fields, nil, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The test fleet polls faster than MX allows, so it keeps the backoff
	// (fleet.Config.ETAs is nil): the API gets a read-only learner of its
	// own over what was shared above.
	e.f.Client.SetEstimator(learn.New(store.NewPollPlan(e.f.Redis.Client), learn.Options{ReadEvery: learn.DefaultSync}))
	for id, body := range map[string]map[string]any{
		"eta-running": {"kind": "verify", "user": map[string]string{"id": "eta-u1"}, "member": mxbank("good")},
		"eta-parked":  {"kind": "identify", "user": map[string]string{"id": "eta-u2"}, "member": mxbank("challenge")},
		"eta-few": {"kind": "verify", "user": map[string]string{"id": "eta-u3"},
			"member": map[string]any{"institution_code": "mxbank_noid", "credentials": map[string]string{"username": "mxuser", "password": "good"}}},
	} {
		body["id"] = id
		if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
			t.Fatalf("create %s: %d %s", id, code, b)
		}
	}
	run := e.waitFor(t, "eta-running", func(v store.View) bool { return v.ETA != nil && v.ETA.Basis == store.ETALearned })
	if run.State != store.StateRunning || run.ETA.P50 == nil || run.ETA.P90 == nil || run.ETA.WaitingOn != "" {
		t.Fatalf("running job's eta: %s %+v", run.State, run.ETA)
	}
	if p50, p90 := *run.ETA.P50, *run.ETA.P90; p50.Before(run.CreatedAt.Add(19*time.Second)) || p90.Before(p50) || p90.After(time.Now().Add(time.Minute)) {
		t.Errorf("running job: p50 %s p90 %s, created %s: want within the learned 20–39 s", p50, p90, run.CreatedAt)
	}
	parked := e.waitFor(t, "eta-parked", func(v store.View) bool { return v.State == store.StateChallenged })
	if parked.ETA == nil || parked.ETA.WaitingOn != store.ETAEndUser || parked.ETA.Basis != store.ETANone || parked.ETA.P50 != nil {
		t.Errorf("parked job's eta: %+v", parked.ETA)
	}
	few1 := e.waitFor(t, "eta-few", func(v store.View) bool { return v.State != store.StatePending })
	if few1.State == store.StateRunning && (few1.ETA == nil || few1.ETA.Basis != store.ETANone || few1.ETA.P50 != nil) {
		t.Errorf("a key with one run learned: %+v", few1.ETA)
	}
	ended := e.waitFor(t, "eta-few", func(v store.View) bool { return v.State.Terminal() })
	if ended.ETA != nil {
		t.Errorf("ended job's eta: %+v", ended.ETA)
	}
	e.v.check(t)
}
