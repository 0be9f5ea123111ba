package learn_test

import (
	"context"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/learn"
	"github.com/mxfleet/mxfleet/internal/pollplan"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

var t0 = time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)

func planConfig() pollplan.Config {
	p := pollplan.DefaultConfig()
	p.Initial, p.Max = 3*time.Second, time.Minute
	return p
}

func record() *job.Record {
	return &job.Record{ID: "j1", Kind: job.KindVerify, InstitutionCode: "mxbank", State: job.StateRunning,
		Attempt: 1, Triggered: 1, TriggeredAt: t0}
}

// clock is a settable fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// seen makes l observe a job of inst that MX finished exactly d after it
// was asked (successfully_aggregated_at), seen at that time.
func seen(l *learn.Learner, inst string, d time.Duration, now time.Time) { seenAt(l, inst, d, now) }

func seenAt(l *learn.Learner, inst string, d time.Duration, now time.Time) {
	r := record()
	r.InstitutionCode, r.TriggeredAt = inst, now.Add(-d)
	l.Seen(r, 1, job.Read{ConnectionStatus: "CONNECTED", AggregatedAt: now.Format(time.RFC3339)}, now.Format(time.RFC3339), now)
}

// TestSharedThroughRedis: two pods (two learners on one redis-server)
// observe, sync, and both read the merged estimate, whose weight is the
// sum; concurrent syncs lose nothing; an estimate decayed below one
// observation is swept.
func TestSharedThroughRedis(t *testing.T) {
	rdb := testenv.NewRedis(t).Client
	ctx := testenv.Context(t, time.Minute)
	c := &clock{t: t0}
	a := learn.New(store.NewPollPlan(rdb), learn.Options{Plan: planConfig(), Now: c.now})
	b := learn.New(store.NewPollPlan(rdb), learn.Options{Plan: planConfig(), Now: c.now})
	for i := range 30 {
		seen(a, "mxbank", time.Duration(5+i%5)*time.Second, c.now())
	}
	for i := range 25 {
		seen(b, "mxbank", time.Duration(6+i%5)*time.Second, c.now())
	}
	seen(b, "filler_bank_01", 4*time.Second, c.now())
	for _, l := range []*learn.Learner{a, b, a} {
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	key := pollplan.Key("mxbank", "verify", false)
	for name, l := range map[string]*learn.Learner{"a": a, "b": b} {
		est := l.Estimates()
		if w := est[key].Weight(c.now()); math.Abs(w-55) > 0.01 {
			t.Errorf("pod %s: weight %.3f, want 55", name, w)
		}
		if _, ok := l.Plan(key); !ok {
			t.Errorf("pod %s: 55 observations not trusted", name)
		}
		if w := est[pollplan.Key("filler_bank_01", "verify", false)].Weight(c.now()); math.Abs(w-1) > 0.01 {
			t.Errorf("pod %s: filler_bank_01 weight %.3f, want 1", name, w)
		}
	}
	// Concurrent syncs: each of 4 pods observes 200 jobs, syncing after
	// every 10; every observation is there once.
	pods := []*learn.Learner{a, b, learn.New(store.NewPollPlan(rdb), learn.Options{Plan: planConfig(), Now: c.now}), learn.New(store.NewPollPlan(rdb), learn.Options{Plan: planConfig(), Now: c.now})}
	var wg sync.WaitGroup
	for _, l := range pods {
		wg.Go(func() {
			for i := range 200 {
				seen(l, "mxbank", 7*time.Second, c.now())
				if i%10 == 9 {
					if err := l.Sync(ctx); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	for _, l := range pods {
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for i, l := range pods {
		if w := l.Estimates()[key].Weight(c.now()); math.Abs(w-855) > 0.01 {
			t.Errorf("pod %d after concurrent syncs: weight %.3f, want 855", i, w)
		}
	}
	// Twenty half-lives later filler_bank_01's one observation weighs
	// less than 1 and is swept; mxbank's 855 weigh 0.0008 together, and
	// one new observation keeps the key (weight about 1: not trusted).
	c.add(20 * learn.DefaultHalfLife)
	seen(a, "mxbank", 7*time.Second, c.now())
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	fields, err := rdb.HKeys(ctx, "mxfleet:{store}:pollplan").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) != 2 { // #v and mxbank/verify
		t.Errorf("after the sweep the hash holds %v, want #v and %s", fields, key)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if est := b.Estimates(); len(est) != 1 || est[key] == nil {
		t.Errorf("pod b after the sweep: %v", est)
	}
	if _, ok := b.Plan(key); ok {
		t.Error("a decayed estimate is still trusted")
	}
}

// TestSyncKeepsDeltasOnFailure: a sync that cannot reach Redis keeps the
// pod's deltas for the next one.
func TestSyncKeepsDeltasOnFailure(t *testing.T) {
	r := testenv.NewRedis(t)
	ctx := testenv.Context(t, time.Minute)
	c := &clock{t: t0}
	l := learn.New(store.NewPollPlan(r.Client), learn.Options{Plan: planConfig(), Now: c.now})
	seen(l, "mxbank", 5*time.Second, c.now())
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if err := l.Sync(cctx); err == nil {
		t.Fatal("a sync with a cancelled context succeeded")
	}
	seen(l, "mxbank", 5*time.Second, c.now())
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if w := l.Estimates()[pollplan.Key("mxbank", "verify", false)].Weight(c.now()); math.Abs(w-2) > 0.01 {
		t.Errorf("weight %.3f, want 2", w)
	}
}

// TestSharedOnACluster: the hash lives under the store's hash tag, so the
// compare-and-set works on a Redis Cluster too.
func TestSharedOnACluster(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts a Redis Cluster")
	}
	r := testenv.NewCluster(t)
	ctx := testenv.Context(t, time.Minute)
	a := learn.New(store.NewPollPlan(r.Client), learn.Options{Plan: planConfig(), Now: func() time.Time { return t0 }})
	b := learn.New(store.NewPollPlan(r.Client), learn.Options{Plan: planConfig(), Now: func() time.Time { return t0 }})
	for range 3 {
		seen(a, "mxbank", 5*time.Second, t0)
		seen(b, "mxbank", 6*time.Second, t0)
	}
	for _, l := range []*learn.Learner{a, b, a} {
		if err := l.Sync(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if w := a.Estimates()[pollplan.Key("mxbank", "verify", false)].Weight(t0); math.Abs(w-6) > 0.01 {
		t.Errorf("weight %.3f on the cluster, want 6", w)
	}
}
