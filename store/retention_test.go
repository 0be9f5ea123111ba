package store_test

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// The member index is for jobs that have not ended: the write that ends a
// job deletes it with the live entry.
func TestEndingAJobDropsItsMemberIndex(t *testing.T) {
	r := testenv.NewRedis(t)
	keys := seal.Ephemeral()
	s := store.New(r.Client, keys, store.WithRetention(time.Hour))
	ctx := context.Background()
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "a", State: store.StatePending, MemberGUID: "MBR-1"}}); err != nil {
		t.Fatal(err)
	}
	j, err := s.Update(ctx, "a", func(j *store.Job) error {
		j.State, j.Deadline, j.Attempt, j.Triggered, j.TriggeredAt, j.PollMark = store.StateRunning, s.Now().Add(time.Hour), 1, 1, s.Now(), 1
		j.Round, j.ParkedAt, j.ChallengeExp, j.ResumeBy, j.ResumeClaim, j.Answered, j.ResumeSent = 1, s.Now(), s.Now(), "task-1", "ans-1", []string{"CRD-1"}, true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.JobByMember(ctx, "MBR-1"); err != nil || id != "a" {
		t.Fatalf("running job's member index: %q %v", id, err)
	}
	parkedAt := j.ParkedAt
	end := func(j *store.Job) error {
		j.State, j.Result = store.StateSucceeded, &store.Result{AccountNumbers: []store.AccountNumber{{AccountNumber: "1"}}}
		return nil
	}
	if j, err = s.UpdateFrom(ctx, j, end); err != nil {
		t.Fatal(err)
	}
	if !j.ParkedAt.Equal(parkedAt) {
		t.Error("the caller's copy lost ParkedAt (metrics read it after the write)")
	}
	if _, err := s.JobByMember(ctx, "MBR-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended job's member index: %v", err)
	}
	if n, _ := r.Client.Exists(ctx, "mxfleet:{store}:member:MBR-1").Result(); n != 0 {
		t.Fatal("member key still there")
	}
	if live, _ := s.Quiet(ctx, time.UnixMilli(0), s.Now().Add(time.Hour), 0, 10); len(live) != 0 {
		t.Fatalf("ended job still live: %v", live)
	}
	got, err := s.Get(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if got.Round != 1 || got.ResumeClaim != "ans-1" || got.Result == nil || got.MemberGUID != "MBR-1" || got.State != store.StateSucceeded {
		t.Errorf("ended record lost what it needs: %+v", got)
	}
	if ttl := r.Client.PTTL(ctx, "mxfleet:{store}:job:a").Val(); ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("ended record's TTL %s, want the retention", ttl)
	}

	// A webhook for the member now finds nothing, without error: not
	// found by the member, or the ended job by the payload's job id.
	c := tasks.NewClient(r.Client, keys, store.WithRetention(time.Hour))
	t.Cleanup(func() { _ = c.Close() })
	if id, woke, err := c.Wake(ctx, "MBR-1", "", ""); !errors.Is(err, store.ErrNotFound) || woke || id != "" {
		t.Fatalf("webhook by member after the end: %q %v %v", id, woke, err)
	}
	if id, woke, err := c.Wake(ctx, "MBR-1", "a", ""); err != nil || woke || id != "a" {
		t.Fatalf("webhook naming the ended job: %q %v %v", id, woke, err)
	}

	// A later job follows the member; the ended job written again (ending
	// twice, a retried task) leaves the new job's index alone.
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "b", State: store.StateRunning, MemberGUID: "MBR-1"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "a", func(j *store.Job) error { j.Fail("late", "ended twice"); return nil }); err != nil {
		t.Fatal(err)
	}
	if id, err := s.JobByMember(ctx, "MBR-1"); err != nil || id != "b" {
		t.Fatalf("ending job a again touched job b's index: %q %v", id, err)
	}
	// A webhook whose payload names a job the store no longer holds
	// (purged) is late: it is not taken for the member's later job.
	if id, woke, err := c.Wake(ctx, "MBR-1", "purged-job", ""); !errors.Is(err, store.ErrNotFound) || woke || id != "" {
		t.Fatalf("webhook naming a purged job, its member followed by job b: %q %v %v", id, woke, err)
	}
	if _, err := s.Update(ctx, "b", func(j *store.Job) error { j.Fail("x", "y"); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JobByMember(ctx, "MBR-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("job b ended, its index stays: %v", err)
	}
	// Created already ended: no index at all.
	if _, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "c", State: store.StateFailed, MemberGUID: "MBR-2"}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JobByMember(ctx, "MBR-2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("job created ended has an index: %v", err)
	}
}

// The end is one compare-and-set script: an end decided on a stale copy
// writes nothing (no index deleted, no live entry removed), and the end
// decided again on the record as it stands does it all.
func TestAStaleEndWritesNothing(t *testing.T) {
	r := testenv.NewRedis(t)
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	stale, _, err := s.Create(ctx, &store.Job{Record: job.Record{ID: "s", State: store.StateRunning, MemberGUID: "MBR-S"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Update(ctx, "s", func(j *store.Job) error { j.Polls = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, err = s.UpdateFrom(ctx, stale, func(j *store.Job) error {
		calls++
		if j.Polls != 0 {
			return store.ErrNoChange // on the current record: not ending it after all
		}
		j.Fail("x", "stale")
		return nil
	})
	if err != nil || calls != 2 {
		t.Fatalf("update: %v after %d calls", err, calls)
	}
	if id, err := s.JobByMember(ctx, "MBR-S"); err != nil || id != "s" {
		t.Fatalf("a failed compare-and-set deleted the index: %q %v", id, err)
	}
	if live, _ := s.Quiet(ctx, time.UnixMilli(0), s.Now().Add(time.Hour), 0, 10); len(live) != 1 {
		t.Fatalf("a failed compare-and-set changed the live set: %v", live)
	}
}

// TestRetainedBytesPerJob measures what the fleet keeps in Redis per job:
// N ended jobs written to a fresh redis-server (used_memory delta / N) and
// MEMORY USAGE of one ended record; and the same for jobs waiting (record,
// member index, live entry). The jobs are shaped like a verify job that
// succeeded with one account number and a callback URL. Run with -v to
// see the figures (README Operations sizing).
func TestRetainedBytesPerJob(t *testing.T) {
	r := testenv.NewRedis(t)
	if !r.Real {
		t.Skip("needs redis-server: miniredis has no INFO memory")
	}
	s := store.New(r.Client, seal.Ephemeral())
	ctx := context.Background()
	const n = 2000
	guid := func(p string, i int) string { return fmt.Sprintf("%s-%08d-1b2c-4d5e-8f90-%012d", p, i, i) }
	job := func(i int) *store.Job {
		return &store.Job{Record: job.Record{ID: fmt.Sprintf("job-%08d-%d", i, i), Kind: store.KindVerify, State: store.StatePending,
			UserGUID: guid("USR", i), MemberGUID: guid("MBR", i), InstitutionCode: "mxbank",
			CallbackURL: "https://callbacks.example.com/mx/jobs"}}
	}
	run := func(i int, j *store.Job) (*store.Job, error) {
		return s.UpdateFrom(ctx, j, func(j *store.Job) error {
			j.State, j.ConnectionStatus, j.Polls = store.StateRunning, "SYNCING", 5
			j.Deadline, j.Attempt, j.Triggered, j.TriggeredAt, j.SawRunning, j.PollMark = s.Now().Add(10*time.Minute), 1, 1, s.Now(), true, 1
			return nil
		})
	}
	succeed := func(i int, j *store.Job) (*store.Job, error) {
		return s.UpdateFrom(ctx, j, func(j *store.Job) error {
			j.State, j.ConnectionStatus = store.StateSucceeded, "CONNECTED"
			j.Result = &store.Result{AccountNumbers: []store.AccountNumber{{GUID: guid("ACN", i), AccountGUID: guid("ACT", i),
				MemberGUID: j.MemberGUID, UserGUID: j.UserGUID, AccountNumber: "1234567890", RoutingNumber: "068499246", PassedValidation: true}}}
			return nil
		})
	}
	used := func() int64 {
		info := r.Client.Info(ctx, "memory").Val()
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
				n, _ := strconv.ParseInt(v, 10, 64)
				return n
			}
		}
		t.Fatal("no used_memory in INFO memory")
		return 0
	}
	usage := func(key string) int64 {
		v, err := r.Client.MemoryUsage(ctx, key, 0).Result()
		if err != nil && !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
		return v
	}
	write := func(base int, end bool) []*store.Job {
		out := make([]*store.Job, n)
		for i := range n {
			j, _, err := s.Create(ctx, job(base+i))
			if err == nil {
				j, err = run(base+i, j)
			}
			if err == nil && end {
				j, err = succeed(base+i, j)
			}
			if err != nil {
				t.Fatal(err)
			}
			out[i] = j
		}
		return out
	}
	// a first batch, so the live set, the script cache and the key
	// dictionaries exist before measuring
	write(10*n, true)

	before := used()
	ended := write(0, true)
	endedPer := float64(used()-before) / n
	before = used()
	waiting := write(n, false)
	waitingPer := float64(used()-before) / n
	// and what asynq keeps for a waiting job: its scheduled poll task
	q := asynq.NewClientFromRedisClient(r.Client)
	before = used()
	for _, j := range waiting {
		task, err := tasks.NewPollTask(j.ID, 6, time.Now(), time.Now().Add(time.Minute))
		if err == nil {
			_, err = q.EnqueueContext(ctx, task)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	pollPer := float64(used()-before) / n

	if keys := r.Client.Keys(ctx, "mxfleet:{store}:member:*").Val(); len(keys) != n {
		t.Errorf("%d member index keys, want %d (the waiting jobs' only)", len(keys), n)
	}
	e, w := ended[0], waiting[0]
	t.Logf("ended job:   %.0f B/job used_memory delta over %d; MEMORY USAGE record %d B (JSON %d B)",
		endedPer, n, usage("mxfleet:{store}:job:"+e.ID), r.Client.StrLen(ctx, "mxfleet:{store}:job:"+e.ID).Val())
	t.Logf("waiting job: %.0f B/job used_memory delta over %d; MEMORY USAGE record %d B (JSON %d B), member index %d B, live set %d B for %d entries",
		waitingPer, n, usage("mxfleet:{store}:job:"+w.ID), r.Client.StrLen(ctx, "mxfleet:{store}:job:"+w.ID).Val(),
		usage("mxfleet:{store}:member:"+w.MemberGUID), usage("mxfleet:{store}:live"), r.Client.ZCard(ctx, "mxfleet:{store}:live").Val())
	t.Logf("waiting job's scheduled poll task (asynq): %.0f B/job used_memory delta over %d", pollPer, n)
	if endedPer > 2048 {
		t.Errorf("an ended job keeps %.0f B in Redis; it was ~2.07 KB before the member index and bookkeeping went", endedPer)
	}
}
