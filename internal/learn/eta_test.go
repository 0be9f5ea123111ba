package learn_test

import (
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/learn"
	"github.com/mxfleet/mxfleet/store"
)

// A read-only learner (the API's) gives running jobs the ETA of what the
// workers shared, reads the hash at most once per ReadEvery whatever the
// number of views, and writes nothing.
func TestReadOnlyETA(t *testing.T) {
	rdb := testenv.NewRedis(t).Client
	ctx := testenv.Context(t, time.Minute)
	c := &clock{t: t0}
	worker := learn.New(store.NewPollPlan(rdb), learn.Options{Plan: planConfig(), Now: c.now})
	api := learn.New(store.NewPollPlan(rdb), learn.Options{Plan: planConfig(), Now: c.now, ReadEvery: 5 * time.Second})
	r := record()
	if got := api.ETA(ctx, r); got.Basis != store.ETANone || got.P50 != nil {
		t.Fatalf("nothing learned: %+v", got)
	}
	for range 60 {
		seen(worker, "mxbank", 20*time.Second, c.now())
	}
	if err := worker.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := api.ETA(ctx, r); got.Basis != store.ETANone {
		t.Fatalf("read again before ReadEvery: %+v", got)
	}
	c.add(5 * time.Second)
	r.TriggeredAt = c.now()
	got := api.ETA(ctx, r)
	if got.Basis != store.ETALearned || got.P50 == nil || got.P90 == nil {
		t.Fatalf("after ReadEvery: %+v", got)
	}
	// The fleet learns MX's end at a planned read, which may run up to
	// ReadDelay late: the p50 is one.
	plan, ok := api.Plan("mxbank/verify")
	if !ok {
		t.Fatal("the read-only view has no plan")
	}
	p50 := got.P50.Sub(r.TriggeredAt)
	onRead := false
	for _, at := range plan.Times {
		onRead = onRead || at+planConfig().ReadDelay == p50
	}
	if !onRead || p50 < 19*time.Second || got.P90.Before(*got.P50) {
		t.Errorf("p50 %s (plan %v), p90 %s", p50, plan.Times, got.P90.Sub(r.TriggeredAt))
	}
	if v, err := rdb.HGet(ctx, "mxfleet:{store}:pollplan", "#v").Int(); err != nil || v != 1 {
		t.Errorf("the hash's version %d (%v): the read-only learner wrote", v, err)
	}
	// A followed member (no institution) has no estimate.
	r.InstitutionCode = ""
	if got := api.ETA(ctx, r); got.Basis != store.ETANone {
		t.Errorf("followed member: %+v", got)
	}
}
