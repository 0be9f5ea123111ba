package handlers_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// archived waits until a task with the given id is archived and returns it.
func archived(t *testing.T, f *testenv.Fleet, queue, id string) *asynq.TaskInfo {
	t.Helper()
	return waitTask(t, f, queue, id, asynq.TaskStateArchived)
}

func sealedAnswer(t *testing.T, f *testenv.Fleet, jobID string) []byte {
	task, err := tasks.NewAnswerTask(f.Keys, tasks.Answer{JobID: jobID, AnswerID: "a", Round: 1, Answers: []mx.ChallengeAnswer{{GUID: "CRD-1", Value: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	return task.Payload()
}

func TestBadPayloadsAreArchivedOnceWithAReason(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	cases := []struct {
		name, typ, queue string
		payload          []byte
		reason           string
	}{
		{"malformed", tasks.TypeVerify, tasks.QueueJobs, []byte(`{"v":1,"job_id":`), "malformed JSON"},
		{"not-json", tasks.TypeIdentify, tasks.QueueJobs, []byte("password=hunter2"), "malformed JSON"},
		{"version", tasks.TypeVerify, tasks.QueueJobs, []byte(`{"v":99,"job_id":"x","user":{"id":"u"},"member":{"guid":"m"}}`), "payload version 99"},
		{"unknown-field", tasks.TypeVerify, tasks.QueueJobs, []byte(`{"v":1,"job_id":"x","user":{"id":"u"},"member":{"guid":"m"},"extra":1}`), "unknown field"},
		{"bad-id", tasks.TypeVerify, tasks.QueueJobs, []byte(`{"v":1,"job_id":"../../etc","user":{"id":"u"},"member":{"guid":"m"}}`), "invalid job id"},
		{"too-big", tasks.TypeVerify, tasks.QueueJobs, []byte(`{"v":1,"job_id":"x","user":{"id":"` + strings.Repeat("a", tasks.MaxPayload) + `"}}`), "limit"},
		{"poll-zero", tasks.TypePoll, tasks.QueuePolls, []byte(`{"v":1,"job_id":"x","n":0}`), "poll number"},
		{"answer-unsealed", tasks.TypeAnswer, tasks.QueueAnswers, []byte(`{"v":1,"job_id":"nope","answer_id":"a","round":1,"answers":[{"guid":"CRD-1","value":"hunter2"}]}`), "not a sealed value"},
		{"answer-unknown-job", tasks.TypeAnswer, tasks.QueueAnswers, sealedAnswer(t, f, "nope"), "unknown job"},
		{"credentials-unsealed", tasks.TypeVerify, tasks.QueueJobs, []byte(`{"v":1,"job_id":"x","user":{"id":"u"},"member":{"institution_code":"mxbank","credentials":{"password":"hunter2"}}}`), "not a sealed value"},
	}
	for _, c := range cases {
		id := "bad-" + c.name
		if _, err := f.Raw.EnqueueContext(ctx, asynq.NewTask(c.typ, c.payload), asynq.Queue(c.queue), asynq.TaskID(id), asynq.MaxRetry(5)); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range cases {
		ti := archived(t, f, c.queue, "bad-"+c.name)
		if ti.Retried != 0 {
			t.Errorf("%s: retried %d times, want 0", c.name, ti.Retried)
		}
		if !strings.Contains(ti.LastErr, c.reason) {
			t.Errorf("%s: last error %q, want it to say %q", c.name, ti.LastErr, c.reason)
		}
		if strings.Contains(ti.LastErr, "hunter2") {
			t.Errorf("%s: the error quotes the payload: %q", c.name, ti.LastErr)
		}
	}
	// The worker is still serving.
	sc := testenv.Scenario(t, "success")
	j, err := scenario.Run(ctx, f.Client, sc, store.KindVerify, "after-bad", "user-after-bad", nil)
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("job after bad payloads: %+v %v", j, err)
	}
}

func TestAnswersThatDoNotFitAreRefusedAndChangeNothing(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute })
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Answer(ctx, "no-such-job", map[string]string{"CRD-x": "y"}); !errors.Is(err, tasks.ErrNotFound) {
		t.Fatalf("unknown job: %v", err)
	}
	// A running job is not parked.
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "refuse", "user-refuse")); err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, "refuse", store.StateChallenged)
	if _, err := f.Client.Answer(ctx, j.ID, map[string]string{"CRD-wrong": "correct"}); !errors.Is(err, tasks.ErrChallengeMismatch) {
		t.Fatalf("wrong guid: %v", err)
	}
	// The same mismatch sent straight to the worker is archived, job untouched.
	task, err := tasks.NewAnswerTask(f.Keys, tasks.Answer{JobID: j.ID, AnswerID: "bad-guid", Round: j.Round, Answers: []mx.ChallengeAnswer{{GUID: "CRD-wrong", Value: "correct"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	ti := archived(t, f, tasks.QueueAnswers, "answer:"+j.ID+":bad-guid")
	if !strings.Contains(ti.LastErr, "do not match") {
		t.Fatalf("last error %q", ti.LastErr)
	}
	after, err := f.Client.Status(ctx, j.ID)
	if err != nil || after.State != store.StateChallenged || after.AnswerPending || after.Round != j.Round {
		t.Fatalf("job changed by a refused answer: %+v %v", after, err)
	}
	if _, err := f.Client.Answer(ctx, j.ID, scenario.Answers(j.Challenges, "correct")); err != nil {
		t.Fatal(err)
	}
	if j, err = f.Client.Wait(ctx, j.ID); err != nil || j.State != store.StateSucceeded {
		t.Fatalf("%+v %v", j, err)
	}
	if _, err := f.Client.Answer(ctx, j.ID, map[string]string{"CRD-x": "y"}); !errors.Is(err, tasks.ErrNotChallenged) {
		t.Fatalf("answer to an ended job: %v", err)
	}
}

func TestDeadlineEndsTheJobTimeout(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.JobDeadline = 700 * time.Millisecond }, mxsim.WithAggregationTime(time.Hour))
	ctx := testenv.Context(t, time.Minute)
	j, err := scenario.Run(ctx, f.Client, testenv.Scenario(t, "success"), store.KindVerify, "slow", "user-slow", nil)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != store.StateFailed || j.Error == nil || j.Error.Code != "timeout" {
		t.Fatalf("want failed/timeout, got %+v", j)
	}
}

func TestTransientMXErrorsAreRetried(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil, mxsim.WithFaults(mxsim.Faults{ErrorRate: 0.25, RateLimitRate: 0.1, RetryAfter: time.Second}))
	ctx := testenv.Context(t, 2*time.Minute)
	for _, name := range []string{"success", "challenge"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			sc := testenv.Scenario(t, name)
			j, err := scenario.Run(ctx, f.Client, sc, store.KindVerify, "flaky-"+name, "user-flaky-"+name, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := scenario.Check(sc, j); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Credentials sealed under the worker's key id but other key material fail
// the job with a clear error naming the key, not garbage.
func TestWrongKeyMaterialFailsTheJobNamingTheKey(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	other, err := seal.Generate("test") // the worker's key id, other bytes
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := tasks.ParseKeys(other)
	c := tasks.NewClient(f.Redis.Client, keys)
	defer c.Close()
	if _, err := c.Verify(ctx, scenario.Request(testenv.Scenario(t, "success"), "wrong-key", "user-wrong-key")); err != nil {
		t.Fatal(err)
	}
	j, err := f.Client.Wait(ctx, "wrong-key")
	if err != nil || j.State != store.StateFailed || j.Error.Code != "bad_payload" || !strings.Contains(j.Error.Message, `"test"`) {
		t.Fatalf("job %+v err %v", j, err)
	}
}

// A poll that runs before the start that enqueued it has recorded the MX
// job (the start enqueues first, then writes) waits for it: dropping it
// would leave the job running with nothing scheduled (seen under load).
func TestPollBeforeItsStartIsRecordedWaits(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	st := store.New(f.Redis.Client, f.Keys)
	if _, _, err := st.Create(ctx, &store.Job{Record: job.Record{ID: "early-poll", Kind: store.KindVerify, State: store.StatePending}}); err != nil {
		t.Fatal(err)
	}
	task, err := tasks.NewPollTask("early-poll", 1, time.Now(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	// a poll of a pending job waits in retry
	if ti := waitTask(t, f, tasks.QueuePolls, "poll:early-poll:1", asynq.TaskStateRetry); !strings.Contains(ti.LastErr, "not recorded as started yet") {
		t.Fatalf("poll retried for the wrong reason: %s", ti.LastErr)
	}
}
