package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/metrics"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

const liveKey = "mxfleet:{store}:live"

// sweep runs one sweep and checks how many jobs it repaired.
func sweep(t *testing.T, h *handlers.Handlers, want int) {
	t.Helper()
	n, err := h.Sweep(t.Context())
	if err != nil || n != want {
		t.Fatalf("sweep repaired %d jobs (%v), want %d", n, err, want)
	}
}

// waitFor reads the job's record (bookkeeping included) until ready
// holds for it.
func waitFor(t *testing.T, ctx context.Context, f *testenv.Fleet, id string, ready func(*store.Job) bool) *store.Job {
	t.Helper()
	var j *store.Job
	testenv.Until(t, ctx, "job "+id+" where the test wants it", func() (err error) {
		if j, err = f.Store.Get(ctx, id); err == nil && ready(j) {
			return nil
		}
		if err == nil && j.State.Terminal() {
			t.Fatalf("job %s ended elsewhere: %+v", id, j)
		}
		return fmt.Errorf("%+v %v", j, err)
	})
	return j
}

// lose stops the fleet's worker, so the job stays where it is, and
// deletes the job's next task as a failover that loses it would. It
// returns the record as it stands.
func lose(t *testing.T, ctx context.Context, f *testenv.Fleet, id string, next func(*store.Job) (queue, task string)) *store.Job {
	t.Helper()
	f.StopWorker()
	j, err := f.Store.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	q, task := next(j)
	if err := f.Inspector.DeleteTask(q, task); err != nil {
		t.Fatalf("job %s (%s, polls %d): its next task %s: %v", id, j.State, j.Polls, task, err)
	}
	return j
}

// taskThere checks that the sweeper put a task back and returns it.
func taskThere(t *testing.T, f *testenv.Fleet, queue, id string) *asynq.TaskInfo {
	t.Helper()
	ti, err := f.Inspector.GetTaskInfo(queue, id)
	if err != nil {
		t.Fatalf("task %s after the sweep: %v", id, err)
	}
	return ti
}

// ends starts a worker again and waits for the job's end.
func ends(t *testing.T, ctx context.Context, f *testenv.Fleet, id string, state store.State, code string) *store.View {
	t.Helper()
	f.StartWorker(t)
	j, err := f.Client.Wait(ctx, id)
	if err != nil || j.State != state || code != "" && (j.Error == nil || j.Error.Code != code) {
		t.Fatalf("job %s after the repair: %+v (error %+v) %v; want %s %s", id, j, j.Error, err, state, code)
	}
	return j
}

func repairedTotal(t *testing.T, m *metrics.Metrics, reason string) float64 {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "mxfleet_jobs_repaired_total" {
			continue
		}
		for _, pm := range mf.GetMetric() {
			if pm.GetLabel()[0].GetValue() == reason {
				return pm.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// Each way a job can lose the one task that drives it, built for real on a
// fleet: the job runs until it is there, the worker stops, the task is
// deleted. One sweep repairs it, a second finds nothing to do, and the job
// ends as it should once a worker runs again.
func TestSweepRepairsJobsThatLostTheirNextTask(t *testing.T) {
	t.Parallel()
	// A poll deleted (lost with a primary) or archived (asynq archives a
	// task whose lease ran out on its last retry without running the
	// handler that would have ended the job; its id would also refuse a
	// new one): either way it will never run.
	for _, archived := range []bool{false, true} {
		name, id := "poll", "lost-poll"
		if archived {
			name, id = "archived poll", "archived-poll"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := testenv.NewFleet(t, nil, mxsim.WithAggregationTime(3*time.Second))
			ctx := testenv.Context(t, time.Minute)
			if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "success"), id, "u1")); err != nil {
				t.Fatal(err)
			}
			waitFor(t, ctx, f, id, func(j *store.Job) bool { return j.State == store.StateRunning && j.Polls >= 1 })
			var j *store.Job
			if archived {
				f.StopWorker()
				var err error
				if j, err = f.Store.Get(ctx, id); err != nil {
					t.Fatal(err)
				}
				if err := f.Inspector.ArchiveTask(tasks.QueuePolls, tasks.PollID(j.ID, j.Polls+1)); err != nil {
					t.Fatal(err)
				}
			} else {
				j = lose(t, ctx, f, id, func(j *store.Job) (string, string) {
					return tasks.QueuePolls, tasks.PollID(j.ID, j.Polls+1)
				})
			}
			h, m := f.Sweeper(t, 0)
			sweep(t, h, 1)
			sweep(t, h, 0)
			if ti := taskThere(t, f, tasks.QueuePolls, tasks.PollID(j.ID, j.Polls+1)); ti.State == asynq.TaskStateArchived {
				t.Fatalf("the poll is still archived after the sweep")
			}
			if n := repairedTotal(t, m, "poll"); n != 1 {
				t.Errorf("mxfleet_jobs_repaired_total{reason=poll} = %v, want 1", n)
			}
			if !strings.Contains(f.Logs.String(), `"lost_task":"poll:`+id+`:`) {
				t.Errorf("the repair was not logged:\n%s", f.Logs.String())
			}
			ends(t, ctx, f, id, store.StateSucceeded, "")
		})
	}

	t.Run("trigger of a restart", func(t *testing.T) {
		t.Parallel()
		f := testenv.NewFleet(t, func(c *fleet.Config) { c.RetryLaterDelay = time.Minute })
		ctx := testenv.Context(t, time.Minute)
		if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "degraded"), "lost-trigger", "u1")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, f, "lost-trigger", func(j *store.Job) bool { return j.Attempt == 2 })
		j := lose(t, ctx, f, "lost-trigger", func(j *store.Job) (string, string) {
			return tasks.QueuePolls, tasks.TriggerID(j.ID, 2)
		})
		h, _ := f.Sweeper(t, 0)
		sweep(t, h, 1)
		sweep(t, h, 0)
		// Due when the lost one was: RetryLaterDelay after the poll that asked for it.
		ti := taskThere(t, f, tasks.QueuePolls, tasks.TriggerID(j.ID, 2))
		if due := j.UpdatedAt.Add(time.Minute); ti.NextProcessAt.Sub(due).Abs() > 2*time.Second {
			t.Errorf("restart due at %s, want %s", ti.NextProcessAt, due)
		}
		if err := f.Inspector.RunTask(tasks.QueuePolls, ti.ID); err != nil { // don't wait the minute
			t.Fatal(err)
		}
		ends(t, ctx, f, "lost-trigger", store.StateSucceeded, "")
	})

	t.Run("start after the member exists", func(t *testing.T) {
		t.Parallel()
		f := testenv.NewFleet(t, nil)
		ctx := testenv.Context(t, time.Minute)
		mxc, err := mx.New(mx.WithBaseURL(f.SimURL), mx.WithCredentials(f.Config.MXClientID, f.Config.MXAPIKey))
		if err != nil {
			t.Fatal(err)
		}
		u, err := mxc.CreateUser(ctx, mx.UserCreate{ID: "lost-start-user"})
		if err != nil {
			t.Fatal(err)
		}
		// MX fails every call: the start records the job running with its
		// user and member, and waits to ask MX to verify it again.
		f.Sim.SetFaults(mxsim.Faults{ErrorRate: 1})
		if _, err := f.Client.Verify(ctx, tasks.Request{ID: "lost-start", User: tasks.User{GUID: u.GUID},
			Member: tasks.Member{GUID: testenv.Scenario(t, "test_nexus_member").MemberGUID}}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, f, "lost-start", func(j *store.Job) bool { return j.State == store.StateRunning })
		lose(t, ctx, f, "lost-start", func(j *store.Job) (string, string) { return tasks.QueueJobs, tasks.StartID(j.ID) })
		f.Sim.SetFaults(mxsim.Faults{})
		h, _ := f.Sweeper(t, 0)
		sweep(t, h, 1)
		sweep(t, h, 0)
		taskThere(t, f, tasks.QueuePolls, tasks.TriggerID("lost-start", 1))
		ends(t, ctx, f, "lost-start", store.StateSucceeded, "")
	})

	t.Run("expiry", func(t *testing.T) {
		t.Parallel()
		f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute })
		ctx := testenv.Context(t, time.Minute)
		if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "lost-expiry", "u1")); err != nil {
			t.Fatal(err)
		}
		testenv.WaitState(t, ctx, f.Client, "lost-expiry", store.StateChallenged)
		j := lose(t, ctx, f, "lost-expiry", func(j *store.Job) (string, string) {
			return tasks.QueueAnswers, tasks.ExpireID(j.ID, j.Round)
		})
		h, _ := f.Sweeper(t, 0)
		sweep(t, h, 1)
		sweep(t, h, 0)
		ti := taskThere(t, f, tasks.QueueAnswers, tasks.ExpireID(j.ID, j.Round))
		if ti.NextProcessAt.Sub(j.ChallengeExp).Abs() > 2*time.Second {
			t.Errorf("expiry due at %s, want %s", ti.NextProcessAt, j.ChallengeExp)
		}
		// Don't wait the minute: as if it had passed (an expiry run
		// before the record's time only checks MX and waits).
		if _, err := store.New(f.Redis.Client, f.Keys).Update(ctx, j.ID, func(j *store.Job) error {
			j.ChallengeExp = time.Now()
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if err := f.Inspector.RunTask(tasks.QueueAnswers, ti.ID); err != nil {
			t.Fatal(err)
		}
		ends(t, ctx, f, "lost-expiry", store.StateFailed, job.CodeChallengeExpired)
	})

	// An answer claims the round, MX fails the resume, and the answer's
	// task is lost while it waits for its retry.
	claimed := func(t *testing.T, id string) (*testenv.Fleet, context.Context, *store.Job, map[string]string) {
		f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute })
		ctx := testenv.Context(t, time.Minute)
		if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), id, "u1")); err != nil {
			t.Fatal(err)
		}
		j := f.Record(t, ctx, testenv.WaitState(t, ctx, f.Client, id, store.StateChallenged).ID)
		answers := scenario.Answers(j.Challenges, "correct")
		f.Sim.SetFaults(mxsim.Faults{ErrorRate: 1})
		if _, err := f.Client.Answer(ctx, id, answers); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, f, id, func(j *store.Job) bool { return j.ResumeClaim != "" })
		j = lose(t, ctx, f, id, func(j *store.Job) (string, string) { return tasks.QueueAnswers, j.ResumeBy })
		f.Sim.SetFaults(mxsim.Faults{})
		if j.State != store.StateChallenged || j.ResumeSent {
			t.Fatalf("job %s: %+v, want claimed and not sent", id, j)
		}
		return f, ctx, j, answers
	}

	t.Run("answer before the resume", func(t *testing.T) {
		t.Parallel()
		f, ctx, j, answers := claimed(t, "lost-answer")
		h, _ := f.Sweeper(t, 0)
		sweep(t, h, 1)
		sweep(t, h, 0)
		// Parked again: the round can be answered again, or expire.
		if p, err := f.Client.Parked(ctx); err != nil || len(p) != 1 || p[0].JobID != j.ID || p[0].Round != j.Round {
			t.Fatalf("parked after the repair: %+v %v", p, err)
		}
		taskThere(t, f, tasks.QueueAnswers, tasks.ExpireID(j.ID, j.Round))
		if _, err := f.Client.Answer(ctx, j.ID, answers); err != nil {
			t.Fatal(err)
		}
		ends(t, ctx, f, j.ID, store.StateSucceeded, "")
	})

	t.Run("answer after the resume", func(t *testing.T) {
		t.Parallel()
		f, ctx, j, answers := claimed(t, "lost-answer-sent")
		// As if the task's retry had sent the answers and recorded it,
		// and then been lost.
		mxc, err := mx.New(mx.WithBaseURL(f.SimURL), mx.WithCredentials(f.Config.MXClientID, f.Config.MXAPIKey))
		if err != nil {
			t.Fatal(err)
		}
		var plain []mx.ChallengeAnswer
		for g, v := range answers {
			plain = append(plain, mx.ChallengeAnswer{GUID: g, Value: v})
		}
		if _, err := mxc.ResumeMember(ctx, j.UserGUID, j.MemberGUID, plain); err != nil {
			t.Fatal(err)
		}
		st := store.New(f.Redis.Client, f.Keys)
		if _, err := st.Update(ctx, j.ID, func(j *store.Job) error { j.ResumeSent = true; return nil }); err != nil {
			t.Fatal(err)
		}
		h, _ := f.Sweeper(t, 0)
		sweep(t, h, 1)
		sweep(t, h, 0)
		if got, _ := f.Client.Status(ctx, j.ID); got.State != store.StateRunning {
			t.Fatalf("after the repair: %+v", got)
		}
		taskThere(t, f, tasks.QueuePolls, tasks.PollID(j.ID, j.Polls+1))
		ends(t, ctx, f, j.ID, store.StateSucceeded, "")
		if n := f.Sim.Stats().Members[j.MemberGUID]["resumeAggregation"]; n != 1 {
			t.Errorf("resumeAggregation reached MX %d times, want once: the repair does not send the answers again", n)
		}
	})

	// The start task, the only place that holds the credentials, is lost
	// before the job has a member: the job fails task_lost, whether it was
	// still pending or had started.
	t.Run("start", func(t *testing.T) {
		t.Parallel()
		f := testenv.NewFleet(t, nil)
		ctx := testenv.Context(t, time.Minute)
		sc := testenv.Scenario(t, "success")
		f.Sim.SetFaults(mxsim.Faults{ErrorRate: 1}) // the start records the job running and waits for MX
		if _, err := f.Client.Verify(ctx, scenario.Request(sc, "lost-start-running", "u1")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, f, "lost-start-running", func(j *store.Job) bool { return j.State == store.StateRunning })
		start := func(j *store.Job) (string, string) { return tasks.QueueJobs, tasks.StartID(j.ID) }
		lose(t, ctx, f, "lost-start-running", start)
		f.Sim.SetFaults(mxsim.Faults{})
		if _, err := f.Client.Verify(ctx, scenario.Request(sc, "lost-start-pending", "u2")); err != nil {
			t.Fatal(err)
		}
		lose(t, ctx, f, "lost-start-pending", start)
		h, m := f.Sweeper(t, 0)
		sweep(t, h, 2)
		sweep(t, h, 0)
		if n := repairedTotal(t, m, "task_lost"); n != 2 {
			t.Errorf("mxfleet_jobs_repaired_total{reason=task_lost} = %v, want 2", n)
		}
		for _, id := range []string{"lost-start-running", "lost-start-pending"} {
			j := ends(t, ctx, f, id, store.StateFailed, job.CodeTaskLost)
			if !strings.Contains(j.Error.Message, "submit it again") {
				t.Errorf("job %s: message %q does not say what to do", id, j.Error.Message)
			}
		}
	})

	t.Run("entry of an ended job", func(t *testing.T) {
		t.Parallel()
		f := testenv.NewFleet(t, nil)
		ctx := testenv.Context(t, time.Minute)
		if j, err := scenario.Run(ctx, f.Client, testenv.Scenario(t, "success"), store.KindVerify, "ended", "u1", nil); err != nil || j.State != store.StateSucceeded {
			t.Fatalf("%+v %v", j, err)
		}
		// Left behind by a worker that does not keep the set (an older
		// version), or by a record that expired.
		if err := f.Redis.Client.ZAdd(ctx, liveKey, redisZ("ended"), redisZ("expired")).Err(); err != nil {
			t.Fatal(err)
		}
		h, _ := f.Sweeper(t, 0)
		sweep(t, h, 0)
		if n, err := f.Redis.Client.ZCard(ctx, liveKey).Result(); err != nil || n != 0 {
			t.Fatalf("live entries left: %d %v", n, err)
		}
		if j, _ := f.Client.Status(ctx, "ended"); j.State != store.StateSucceeded {
			t.Fatalf("the ended job changed: %+v", j)
		}
	})
}

// A healthy fleet mid-run has nothing to repair, even swept without any
// quiet period while its handlers move every job: each job always has its
// next task. Every scenario still ends as expected.
func TestSweepOnAHealthyFleetRepairsNothing(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, 2*time.Minute)
	type run struct {
		sc   mxsim.Scenario
		kind store.Kind
		id   string
		job  *store.View
		err  error
	}
	var runs []*run
	for _, sc := range mxsim.Scenarios() {
		for _, kind := range sc.Kinds {
			r := &run{sc: sc, kind: store.Kind(kind), id: "healthy-" + sc.Name + "-" + kind}
			// Submitted before the sweeps start: a record whose start task is
			// not enqueued yet is what the quiet period is for.
			if _, _, err := f.Client.Submit(ctx, r.kind, scenario.Request(r.sc, r.id, "user-"+r.id)); err != nil {
				t.Fatal(err)
			}
			runs = append(runs, r)
		}
	}
	var wg sync.WaitGroup
	for _, r := range runs {
		wg.Go(func() { r.job, r.err = scenario.Run(ctx, f.Client, r.sc, r.kind, r.id, "user-"+r.id, nil) })
	}
	done := make(chan struct{})
	repaired, sweeps := 0, 0
	var sweepErr error
	var sw sync.WaitGroup
	sw.Go(func() {
		h, _ := f.Sweeper(t, 0)
		for {
			select {
			case <-done:
				return
			case <-time.After(20 * time.Millisecond):
			}
			n, err := h.Sweep(ctx)
			repaired, sweeps = repaired+n, sweeps+1
			if err != nil && sweepErr == nil {
				sweepErr = err
			}
		}
	})
	wg.Wait()
	close(done)
	sw.Wait()
	if repaired != 0 || sweepErr != nil {
		t.Fatalf("%d sweeps of a healthy fleet repaired %d jobs (%v); log:\n%s", sweeps, repaired, sweepErr, f.Logs.String())
	}
	t.Logf("%d sweeps while %d jobs ran", sweeps, len(runs))
	for _, r := range runs {
		if r.err != nil {
			t.Fatalf("%s: %v", r.id, r.err)
		}
		if err := scenario.Check(r.sc, r.job); err != nil {
			t.Errorf("%s: %v", r.id, err)
		}
	}
}

func redisZ(id string) redis.Z { return redis.Z{Score: 1, Member: id} }
