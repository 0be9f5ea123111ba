package handlers_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// logLines returns the worker's JSON log lines that have every field given.
func logLines(t *testing.T, f *testenv.Fleet, fields map[string]string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(f.Logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		ok := true
		for k, v := range fields {
			if s, _ := m[k].(string); s != v {
				ok = false
				break
			}
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

// gone waits until a task has left asynq (done, not retained).
func gone(t *testing.T, f *testenv.Fleet, queue, id string) {
	t.Helper()
	testenv.Until(t, testenv.Context(t, 20*time.Second), "task "+id+" gone", func() error {
		if ti, err := f.Inspector.GetTaskInfo(queue, id); !errors.Is(err, asynq.ErrTaskNotFound) {
			return fmt.Errorf("still there: %+v %v", ti, err)
		}
		return nil
	})
}

// A wait is no failure: a task that waits for the step before it (a poll
// for its start, a trigger for the poll that recorded its attempt, a
// callback for the record of its event) longer than its retries would last
// spends none of them, never ends the job retries_exhausted, and is logged
// at debug, not as a failed task.
func TestWaitingSpendsNoRetries(t *testing.T) {
	t.Parallel()
	var delivered atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { delivered.Add(1) }))
	defer rcv.Close()
	f := testenv.NewFleet(t, func(c *fleet.Config) {
		c.CallbackAllow, c.CallbackSecret = "127.0.0.1", "0123456789abcdef"
	})
	ctx := testenv.Context(t, time.Minute)
	st := store.New(f.Redis.Client, f.Keys)
	for _, c := range []struct {
		name, queue, id, why string
		job                  store.Job
		task                 func() (*asynq.Task, error)
	}{
		{"poll", tasks.QueuePolls, tasks.PollID("wait-poll", 1), "not recorded as started yet",
			store.Job{Record: job.Record{ID: "wait-poll", State: store.StatePending}},
			func() (*asynq.Task, error) { return tasks.NewPollTask("wait-poll", 1, time.Now(), time.Now()) }},
		{"trigger", tasks.QueuePolls, tasks.TriggerID("wait-trigger", 2), "attempt 2 not recorded yet",
			store.Job{Record: job.Record{ID: "wait-trigger", State: store.StateRunning, Attempt: 1, Triggered: 1}},
			func() (*asynq.Task, error) { return tasks.NewTriggerTask("wait-trigger", 2, time.Now(), time.Now()) }},
		{"callback", tasks.QueueCallbacks, "callback:" + tasks.EventID("wait-callback", store.StateFailed, 0), "has not recorded it yet",
			store.Job{Record: job.Record{ID: "wait-callback", State: store.StateRunning, Attempt: 1, Triggered: 1, CallbackURL: rcv.URL}},
			func() (*asynq.Task, error) {
				return tasks.NewCallbackTask(tasks.Callback{JobID: "wait-callback", State: store.StateFailed, Error: &store.JobError{Code: "x", Message: "x"}})
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.job.Kind = store.KindVerify
			if _, _, err := st.Create(ctx, &c.job); err != nil {
				t.Fatal(err)
			}
			task, err := c.task()
			if err != nil {
				t.Fatal(err)
			}
			// One retry only: a failure on the second run would end the job.
			if _, err := f.Raw.EnqueueContext(ctx, task, asynq.MaxRetry(1)); err != nil {
				t.Fatal(err)
			}
			waits := func() int {
				return len(logLines(t, f, map[string]string{"message": "task waits", "task_id": c.id, "level": "debug"}))
			}
			testenv.Until(t, ctx, "the task waiting 3 times", func() error {
				if n := waits(); n < 3 {
					return fmt.Errorf("the task waited %d times", n)
				}
				return nil
			})
			ti, err := f.Inspector.GetTaskInfo(c.queue, c.id)
			if err != nil || ti.Retried != 0 || ti.State == asynq.TaskStateArchived {
				t.Fatalf("waiting task: %+v %v; want it still waiting with no retry spent", ti, err)
			}
			if !strings.Contains(ti.LastErr, c.why) {
				t.Fatalf("waiting task's last error %q", ti.LastErr)
			}
			if j, err := st.Get(ctx, c.job.ID); err != nil || j.State != c.job.State {
				t.Fatalf("job after the waits: %+v %v", j, err)
			}
			if n := len(logLines(t, f, map[string]string{"message": "task failed", "task_id": c.id})); n != 0 {
				t.Fatalf("a wait was logged as a failed task %d times", n)
			}
			if qi, err := f.Inspector.GetQueueInfo(c.queue); err != nil || qi.Failed != 0 {
				t.Fatalf("queue stats count waits as failures: %+v %v", qi, err)
			}
		})
	}
	// Once the record gets there, the waiting callback goes out.
	if _, err := st.Update(ctx, "wait-callback", func(j *store.Job) error { j.Fail("x", "x"); return nil }); err != nil {
		t.Fatal(err)
	}
	waitTask(t, f, tasks.QueueCallbacks, "callback:"+tasks.EventID("wait-callback", store.StateFailed, 0), asynq.TaskStateCompleted)
	if delivered.Load() != 1 {
		t.Fatalf("%d deliveries, want 1", delivered.Load())
	}
}

// A start task for a job with no record (a raw enqueue) is archived with a
// warning and runs nothing: the producer writes the record first.
func TestStartWithoutARecordIsArchived(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	task, err := tasks.NewJobTask(f.Keys, store.KindVerify, tasks.Job{JobID: "no-record", User: tasks.User{ID: "u-no-record"},
		Member: tasks.Member{InstitutionCode: "mxbank", Credentials: map[string]string{"username": "mxuser", "password": "correct"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	ti := archived(t, f, tasks.QueueJobs, tasks.StartID("no-record"))
	if ti.Retried != 0 || !strings.Contains(ti.LastErr, "no record") {
		t.Fatalf("archived start: retried %d, last error %q", ti.Retried, ti.LastErr)
	}
	if _, err := f.Client.Status(ctx, "no-record"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the start made a record: %v", err)
	}
	if n := f.Sim.Stats().Calls["createUser"]; n != 0 {
		t.Fatalf("the start called MX: %d createUser", n)
	}
	if len(logLines(t, f, map[string]string{"level": "warn", "job": "no-record", "task_type": tasks.TypeVerify,
		"message": "start task for a job with no record: archived (producers record a job before enqueueing its start; submit it through the API, the CLI or tasks.Client)"})) != 1 {
		t.Fatalf("no warning for the start without a record:\n%s", f.Logs)
	}
}

// Well-formed tasks with nothing to do (their job unknown, or past their
// step) are dropped with an info line naming the task type, the job and why.
func TestTasksWithNothingToDoAreLogged(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	j, err := scenario.Run(ctx, f.Client, testenv.Scenario(t, "success"), store.KindVerify, "done", "user-done", nil)
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("%+v %v", j, err)
	}
	type drop struct {
		typ, queue, id, job, why string
		task                     func() (*asynq.Task, error)
	}
	for _, d := range []drop{
		{tasks.TypePoll, tasks.QueuePolls, tasks.PollID("ghost", 1), "ghost", "no job record",
			func() (*asynq.Task, error) { return tasks.NewPollTask("ghost", 1, time.Now(), time.Now()) }},
		{tasks.TypeTrigger, tasks.QueuePolls, tasks.TriggerID("ghost", 2), "ghost", "no job record",
			func() (*asynq.Task, error) { return tasks.NewTriggerTask("ghost", 2, time.Now(), time.Now()) }},
		{tasks.TypeExpire, tasks.QueueAnswers, tasks.ExpireID("ghost", 1), "ghost", "no job record",
			func() (*asynq.Task, error) { return tasks.NewExpireTask("ghost", 1, time.Now(), time.Now()) }},
		{tasks.TypePoll, tasks.QueuePolls, tasks.PollID("done", 1), "done", "poll 1 is not due: the job is succeeded",
			func() (*asynq.Task, error) { return tasks.NewPollTask("done", 1, time.Now(), time.Now()) }},
		{tasks.TypeExpire, tasks.QueueAnswers, tasks.ExpireID("done", 1), "done", "round 1 is over: the job is succeeded",
			func() (*asynq.Task, error) { return tasks.NewExpireTask("done", 1, time.Now(), time.Now()) }},
	} {
		task, err := d.task()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
			t.Fatal(err)
		}
		gone(t, f, d.queue, d.id)
		lines := logLines(t, f, map[string]string{"level": "info", "message": "task dropped", "task_type": d.typ, "task_id": d.id, "job": d.job})
		if len(lines) != 1 || !strings.Contains(lines[0]["reason"].(string), d.why) {
			t.Errorf("%s %s: dropped lines %v, want one saying %q", d.typ, d.id, lines, d.why)
		}
	}
}

// RetryDelay: a wait runs again when it says, not on the failure backoff.
func TestRetryDelayOfAWait(t *testing.T) {
	t.Parallel()
	rd := handlers.RetryDelay(time.Now, time.Minute, time.Hour)
	if d := rd(5, &handlers.WaitError{Reason: "x", Delay: time.Second}, nil); d < time.Second || d > 1500*time.Millisecond {
		t.Fatalf("short wait: %s", d)
	}
	until := time.Now().Add(90 * time.Second)
	d := rd(0, &handlers.WaitError{Reason: "x", Until: until}, nil)
	// asynq keeps whole seconds and runs a task once its second comes:
	// the delay reaches the next whole second at or after until.
	if at := time.Now().Add(d).Truncate(time.Second); at.Before(until) || d > 92*time.Second {
		t.Fatalf("wait until %s: delay %s", until, d)
	}
	if !errors.Is(&handlers.WaitError{}, handlers.ErrWait) || handlers.IsFailure(&handlers.WaitError{}) || !handlers.IsFailure(errors.New("x")) {
		t.Fatal("a wait must be ErrWait and no failure; other errors failures")
	}
}
