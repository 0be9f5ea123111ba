package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

func TestCreateIsIdempotent(t *testing.T) {
	r := testenv.NewRedis(t)
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	j, created, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "a", Kind: store.KindVerify, State: store.StatePending}})
	if err != nil || !created {
		t.Fatalf("first create: %v %v", created, err)
	}
	again, created, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "a", Kind: store.KindIdentify, State: store.StatePending}})
	if err != nil || created || again.Kind != store.KindVerify || !again.CreatedAt.Equal(j.CreatedAt) {
		t.Fatalf("second create changed the job: %+v %v %v", again, created, err)
	}
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "bad id!"}}); err == nil {
		t.Fatal("a bad id was accepted")
	}
	if _, err := s.Get(ctx, "missing"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
}

func TestUpdateIsCompareAndSet(t *testing.T) {
	r := testenv.NewRedis(t)
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "n", State: store.StateRunning}}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Update(ctx, "n", func(j *store.Job) error { j.Polls++; return nil }); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	j, _ := s.Get(ctx, "n")
	if j.Polls != 20 {
		t.Fatalf("20 concurrent increments gave %d", j.Polls)
	}
}

func TestParkedHashFollowsTheRecord(t *testing.T) {
	r := testenv.NewRedis(t)
	s := store.New(r.Client, seal.Ephemeral(), store.WithRetention(time.Minute))
	ctx := context.Background()
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "p", State: store.StateRunning, UserGUID: "USR-1", MemberGUID: "MBR-1"}}); err != nil {
		t.Fatal(err)
	}
	chs := []store.Challenge{{GUID: "CRD-1", Label: "City?", Type: "TEXT"}}
	if _, err := s.Update(ctx, "p", func(j *store.Job) error {
		j.State, j.Challenges, j.Round = store.StateChallenged, chs, 1
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	p, err := s.GetParked(ctx, "p")
	if err != nil || p.MemberGUID != "MBR-1" || p.Round != 1 || len(p.Challenges) != 1 {
		t.Fatalf("parked: %+v %v", p, err)
	}
	if all, _ := s.Parked(ctx); len(all) != 1 {
		t.Fatalf("parked list: %+v", all)
	}
	// Claimed: no longer waiting for answers.
	if _, err := s.Update(ctx, "p", func(j *store.Job) error { j.ResumeClaim = "a1"; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetParked(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("claimed job still parked: %v", err)
	}
	if _, err := s.Update(ctx, "p", func(j *store.Job) error { j.Fail("x", "y"); return nil }); err != nil {
		t.Fatal(err)
	}
	ttl := r.Client.TTL(ctx, "mxfleet:{store}:job:p").Val()
	if ttl <= 0 || ttl > time.Minute {
		t.Fatalf("ended job TTL %s, want the retention (1m)", ttl)
	}
	if err := s.Delete(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "p"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted job: %v", err)
	}
}

// The live set follows the record: a job is in it, scored by its last
// write, from its creation until it ends or is deleted.
func TestLiveSetFollowsTheRecord(t *testing.T) {
	r := testenv.NewRedis(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s := store.New(r.Client, seal.Ephemeral(), store.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: id, State: store.StatePending, MemberGUID: "MBR-" + id}}); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Second)
	}
	if id, err := s.JobByMember(ctx, "MBR-b"); err != nil || id != "b" {
		t.Fatalf("member index written with the record: %q %v", id, err)
	}
	ids := func(before time.Time, limit int) []string {
		t.Helper()
		live, err := s.Quiet(ctx, time.Time{}, before, 0, limit)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, l := range live {
			out = append(out, l.ID)
		}
		return out
	}
	start := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	if got := ids(start.Add(1500*time.Millisecond), 10); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("written before 12:00:01.5: %v", got)
	}
	if got := ids(now, 2); !slices.Equal(got, []string{"a", "b"}) {
		t.Fatalf("oldest two: %v", got)
	}
	// A write moves the job to the end; ending it takes it out.
	if _, err := s.Update(ctx, "a", func(j *store.Job) error { j.State = store.StateRunning; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "b", func(j *store.Job) error { j.Fail("x", "y"); return nil }); err != nil {
		t.Fatal(err)
	}
	if got := ids(now.Add(time.Second), 10); !slices.Equal(got, []string{"c", "a"}) {
		t.Fatalf("after a write and an end: %v", got)
	}
	// Forget drops an entry only as it was listed: not one written since.
	live, _ := s.Quiet(ctx, time.Time{}, now.Add(time.Second), 0, 10)
	now = now.Add(time.Second)
	if _, err := s.Update(ctx, "a", func(j *store.Job) error { j.Polls++; return nil }); err != nil {
		t.Fatal(err)
	}
	for _, l := range live {
		removed, err := s.Forget(ctx, l)
		if err != nil || removed != (l.ID == "c") {
			t.Fatalf("forget %s: %v %v", l.ID, removed, err)
		}
	}
	if err := s.Delete(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := ids(now.Add(time.Hour), 10); len(got) != 0 {
		t.Fatalf("left in the live set: %v", got)
	}
}

// Jobs written in the same millisecond share a score; pages over them go
// on by skipping those listed, so a sweep reaches all of them.
func TestQuietPagesThroughOneMillisecond(t *testing.T) {
	r := testenv.NewRedis(t)
	now := time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)
	s := store.New(r.Client, seal.Ephemeral(), store.WithClock(func() time.Time { return now }))
	ctx := context.Background()
	for i := range 5 {
		if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: fmt.Sprint("same-", i), State: store.StatePending}}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	for skip := 0; ; skip += 2 {
		page, err := s.Quiet(ctx, now, now.Add(time.Second), skip, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range page {
			seen[l.ID] = true
		}
		if len(page) < 2 {
			break
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paged over %d of 5 jobs written in one millisecond: %v", len(seen), seen)
	}
}

// Peek reads an ended record whose result no key opens any more (the key
// rotated away): a webhook still finds the job, and opens nothing.
func TestPeekOpensNothing(t *testing.T) {
	r := testenv.NewRedis(t)
	ctx := context.Background()
	old := store.New(r.Client, seal.Ephemeral())
	if _, _, err := old.Create(ctx, &store.Job{Record: job.Record{ID: "p", State: store.StateRunning, MemberGUID: "MBR-p"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := old.Update(ctx, "p", func(j *store.Job) error {
		j.State, j.Result = store.StateSucceeded, &store.Result{AccountNumbers: []store.AccountNumber{{AccountNumber: "123"}}}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	rotated := store.New(r.Client, seal.Ephemeral())
	if _, err := rotated.Get(ctx, "p"); err == nil {
		t.Fatal("the result opened with another key")
	}
	rec, err := rotated.Peek(ctx, "p")
	if err != nil || rec.State != store.StateSucceeded || rec.MemberGUID != "MBR-p" {
		t.Fatalf("peek: %+v %v", rec, err)
	}
	if _, err := rotated.Peek(ctx, "gone"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("peek of no record: %v", err)
	}
}

// SinceDelivery reads how long ago a job's latest delivery came, from the
// delivery set alone: none before the first, a fresh one after it.
func TestSinceDelivery(t *testing.T) {
	r := testenv.NewRedis(t)
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	if _, ok, err := s.SinceDelivery(ctx, "d"); err != nil || ok {
		t.Fatalf("no delivery yet: ok %v, %v", ok, err)
	}
	if _, err := s.FirstDelivery(ctx, "d", "digest-1"); err != nil {
		t.Fatal(err)
	}
	since, ok, err := s.SinceDelivery(ctx, "d")
	if err != nil || !ok || since < 0 || since > time.Minute {
		t.Fatalf("after a delivery: %s %v %v, want a fresh one", since, ok, err)
	}
}

// A webhook delivery is first once per job; Delete forgets the deliveries.
func TestFirstDelivery(t *testing.T) {
	r := testenv.NewRedis(t)
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := s.FirstDelivery(ctx, "d", "digest-1")
			if err != nil {
				t.Error(err)
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Fatalf("12 concurrent copies of a delivery: %d firsts, want 1", firsts)
	}
	if first, err := s.FirstDelivery(ctx, "d", "digest-2"); err != nil || !first {
		t.Fatalf("another delivery: %v %v", first, err)
	}
	if first, _ := s.FirstDelivery(ctx, "other", "digest-1"); !first {
		t.Fatal("the same delivery for another job is that job's first")
	}
	ttl := r.Client.PTTL(ctx, "mxfleet:{store}:hooks:d").Val()
	if ttl <= store.DeliveryWindow-time.Minute || ttl > store.DeliveryWindow {
		t.Errorf("deliveries kept for %s, want MX's retry window %s", ttl, store.DeliveryWindow)
	}
	if err := s.Delete(ctx, "d"); err != nil {
		t.Fatal(err)
	}
	if first, _ := s.FirstDelivery(ctx, "d", "digest-1"); !first {
		t.Fatal("a deleted job's deliveries are remembered")
	}
}
