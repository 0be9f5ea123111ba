package handlers_test

import (
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// waitTask waits until the task is in one of the states.
func waitTask(t *testing.T, f *testenv.Fleet, queue, id string, states ...asynq.TaskState) *asynq.TaskInfo {
	t.Helper()
	var ti *asynq.TaskInfo
	testenv.Until(t, testenv.Context(t, 30*time.Second), fmt.Sprintf("task %s %v", id, states), func() (err error) {
		if ti, err = f.Inspector.GetTaskInfo(queue, id); err == nil && slices.Contains(states, ti.State) {
			return nil
		}
		return fmt.Errorf("%+v %v", ti, err)
	})
	return ti
}

// An expiry run before the round is due (asynqmon's "Run", a forged task)
// does not end the job: the round's own task reads MX once and waits for
// its time; a task of that type under another id is dropped.
func TestEarlyExpiryDoesNotEndTheJob(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute })
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "early", "user-early")); err != nil {
		t.Fatal(err)
	}
	j := f.Record(t, ctx, testenv.WaitState(t, ctx, f.Client, "early", store.StateChallenged).ID) // ChallengeExp: the record's
	id := tasks.ExpireID(j.ID, j.Round)
	reads := f.Sim.Stats().Members[j.MemberGUID]["readMemberStatus"]
	if err := f.Inspector.RunTask(tasks.QueueAnswers, id); err != nil { // the operator's "Run"
		t.Fatal(err)
	}
	ti := waitTask(t, f, tasks.QueueAnswers, id, asynq.TaskStateRetry)
	if ti.Retried != 0 || !strings.Contains(ti.LastErr, "waiting") {
		t.Fatalf("early expiry: %+v", ti)
	}
	// It runs again at its next status check, before the expiry.
	if now := time.Now(); ti.NextProcessAt.Before(now.Add(5*time.Second)) || ti.NextProcessAt.After(j.ChallengeExp.Add(time.Second)) {
		t.Fatalf("early expiry runs again at %s (now %s, expiry %s)", ti.NextProcessAt, now, j.ChallengeExp)
	}
	if n := f.Sim.Stats().Members[j.MemberGUID]["readMemberStatus"] - reads; n != 1 {
		t.Fatalf("the early expiry read the member status %d times, want 1", n)
	}
	// A forged expiry, another id: dropped, with a line.
	forged := asynq.NewTask(tasks.TypeExpire, []byte(`{"v":1,"job_id":"early","round":1}`))
	if _, err := f.Raw.EnqueueContext(ctx, forged, asynq.Queue(tasks.QueueAnswers), asynq.TaskID("forged")); err != nil {
		t.Fatal(err)
	}
	gone(t, f, tasks.QueueAnswers, "forged")
	if lines := logLines(t, f, map[string]string{"message": "task dropped", "task_id": "forged", "job": "early"}); len(lines) != 1 ||
		!strings.Contains(lines[0]["reason"].(string), "not the round's expiry task") {
		t.Fatalf("forged expiry: %v", lines)
	}
	if cur, err := f.Client.Status(ctx, j.ID); err != nil || cur.State != store.StateChallenged {
		t.Fatalf("job after early expiries: %+v %v", cur, err)
	}
	if _, err := f.Client.Answer(ctx, j.ID, scenario.Answers(j.Challenges, "correct")); err != nil {
		t.Fatal(err)
	}
	if j, err := f.Client.Wait(ctx, j.ID); err != nil || j.State != store.StateSucceeded {
		t.Fatalf("%+v %v", j, err)
	}
}

// An answer enqueued before the round expired wins over the expiry even
// when it is processed after it: here the only worker lacks the answer's
// key (as a worker that died holding it would leave it: waiting for a
// retry), so the expiry comes first, finds the answer in asynq and waits
// for it.
func TestAnswerInTimeWinsOverTheExpiry(t *testing.T) {
	t.Parallel()
	k1, err := seal.Generate("k1")
	if err != nil {
		t.Fatal(err)
	}
	k2, err := seal.Generate("k2")
	if err != nil {
		t.Fatal(err)
	}
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.SecretKeys, c.ChallengeTTL = k2, 2*time.Second })
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "in-time", "user-in-time")); err != nil {
		t.Fatal(err)
	}
	j := f.Record(t, ctx, testenv.WaitState(t, ctx, f.Client, "in-time", store.StateChallenged).ID) // ChallengeExp: the record's
	keys, err := tasks.ParseKeys(k1 + "," + k2)
	if err != nil {
		t.Fatal(err)
	}
	other := tasks.NewClient(f.Redis.Client, keys) // seals with k1
	defer other.Close()
	answerID, err := other.Answer(ctx, j.ID, scenario.Answers(j.Challenges, "correct"))
	if err != nil {
		t.Fatal(err)
	}
	if time.Now().After(j.ChallengeExp) {
		t.Fatal("the answer came after the expiry: the test is too slow for its TTL")
	}
	// The expiry task runs at ChallengeExp: wait until it has, and waited
	// for the answer, rather than past the TTL.
	testenv.Until(t, ctx, "the expiry waiting for the answer", func() error {
		if len(logLines(t, f, map[string]string{"message": "task waits", "task_id": tasks.ExpireID(j.ID, j.Round)})) == 0 {
			return fmt.Errorf("no wait logged:\n%s", f.Logs)
		}
		return nil
	})
	if cur, err := f.Client.Status(ctx, j.ID); err != nil || cur.State != store.StateChallenged {
		t.Fatalf("job past its expiry with an answer waiting: %+v %v", cur, err)
	}
	// A worker with the key comes.
	f.StopWorker()
	f.Config.SecretKeys = k2 + "," + k1
	f.StartWorker(t)
	done, err := f.Client.Wait(ctx, j.ID)
	if err != nil || done.State != store.StateSucceeded {
		t.Fatalf("job: %+v %v", done, err)
	}
	// The claim is bookkeeping: the record says it, not the view.
	if rec := f.Record(t, ctx, j.ID); rec.ResumeClaim != "" && rec.ResumeClaim != answerID {
		t.Fatalf("job: %+v", rec)
	}
}

// MX expires a challenge on its own clock, which can be shorter than the
// fleet's TTL: a parked job reads its member's status once per check
// interval and ends challenge_expired when MX shows EXPIRED, without
// waiting for its TTL or for an answer.
func TestMXExpiryEndsTheParkedJob(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = 30 * time.Second }, mxsim.WithMFAWindow(3*time.Second))
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "mx-expired", "user-mx-expired")); err != nil {
		t.Fatal(err)
	}
	j := f.Record(t, ctx, testenv.WaitState(t, ctx, f.Client, "mx-expired", store.StateChallenged).ID) // ChallengeExp: the record's
	reads := f.Sim.Stats().Members[j.MemberGUID]["readMemberStatus"]
	end, err := f.Client.Wait(ctx, j.ID)
	if err != nil || end.State != store.StateFailed || end.Error == nil || end.Error.Code != job.CodeChallengeExpired {
		t.Fatalf("job: %+v %v", end, err)
	}
	if !strings.Contains(end.Error.Message, "EXPIRED") {
		t.Fatalf("ended by %q, want MX's EXPIRED", end.Error.Message)
	}
	// The check interval is max(TTL/5, POLL_MAX) = 6 s: the first check
	// saw it, well before the fleet's own expiry.
	if !end.UpdatedAt.Before(j.ChallengeExp.Add(-10 * time.Second)) {
		t.Fatalf("ended at %s; the round expired at %s", end.UpdatedAt, j.ChallengeExp)
	}
	if n := f.Sim.Stats().Members[j.MemberGUID]["readMemberStatus"] - reads; n != 1 {
		t.Fatalf("%d status reads while parked, want 1", n)
	}
}

// While parked, a job reads its member's status no more than once per
// check interval and still ends at the fleet's expiry when MX does not
// expire the challenge first.
func TestParkedJobChecksAreBounded(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = 5 * time.Second })
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "checks", "user-checks")); err != nil {
		t.Fatal(err)
	}
	j := f.Record(t, ctx, testenv.WaitState(t, ctx, f.Client, "checks", store.StateChallenged).ID) // ChallengeExp: the record's
	reads := f.Sim.Stats().Members[j.MemberGUID]["readMemberStatus"]
	end, err := f.Client.Wait(ctx, j.ID)
	if err != nil || end.State != store.StateFailed || end.Error.Code != job.CodeChallengeExpired || end.UpdatedAt.Before(j.ChallengeExp) {
		t.Fatalf("job: %+v (%+v) %v; want challenge_expired after %s", end, end.Error, err, j.ChallengeExp)
	}
	// Interval max(5s/5, 500ms) = 1s: checks at about 1, 2, 3 and 4 s.
	if n := f.Sim.Stats().Members[j.MemberGUID]["readMemberStatus"] - reads; n < 2 || n > 5 {
		t.Fatalf("%d status reads in a 5 s park with 1 s checks", n)
	}
}

// The simulator's MFA window outlasts the fleet's default challenge TTL
// (plus the poll that notices the challenge): a job answered just before
// the fleet would expire it is not refused by MX as EXPIRED.
func TestSimulatorMFAWindowOutlastsTheDefaultTTL(t *testing.T) {
	t.Parallel()
	var skew atomic.Int64 // the simulator's clock runs ahead by this
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute }, mxsim.WithClock(clock))
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "late", "user-late")); err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, "late", store.StateChallenged)
	def := handlers.DefaultConfig()
	skew.Store(int64(def.ChallengeTTL + def.PollMax - time.Second))
	if _, err := f.Client.Answer(ctx, j.ID, scenario.Answers(j.Challenges, "correct")); err != nil {
		t.Fatal(err)
	}
	if end, err := f.Client.Wait(ctx, j.ID); err != nil || end.State != store.StateSucceeded {
		t.Fatalf("answered %s after MX challenged it: %+v (%+v) %v", def.ChallengeTTL+def.PollMax, end, end.Error, err)
	}
}
