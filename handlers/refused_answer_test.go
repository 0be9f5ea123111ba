package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// waitRefused reads the job's record until it shows answerID as its last
// refused answer; the record, so that the test sees the claim too.
func waitRefused(t *testing.T, ctx context.Context, f *testenv.Fleet, jobID, answerID string) *store.Job {
	t.Helper()
	var j *store.Job
	testenv.Until(t, ctx, "job "+jobID+" showing answer "+answerID+" refused", func() (err error) {
		if j, err = f.Store.Get(ctx, jobID); err == nil && j.LastRefusedAnswer != nil && j.LastRefusedAnswer.AnswerID == answerID {
			return nil
		}
		return fmt.Errorf("%+v %v", j, err)
	})
	return j
}

// An answer the worker refuses for what the producer could not see (a key
// it does not hold, challenges that do not match) shows on the job, which
// stays challenged and takes a right answer afterwards; that clears it.
func TestRefusedAnswerShowsOnTheJob(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute })
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "refused", "user-refused")); err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, "refused", store.StateChallenged)

	// Sealed under a key id the worker does not have.
	k, err := seal.Generate("elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	other, err := tasks.ParseKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	answers := func(value string) []mx.ChallengeAnswer {
		var out []mx.ChallengeAnswer
		for _, ch := range j.Challenges {
			out = append(out, mx.ChallengeAnswer{GUID: ch.GUID, Value: value})
		}
		return out
	}
	task, err := tasks.NewAnswerTask(other, tasks.Answer{JobID: j.ID, AnswerID: "other-key", Round: j.Round, Answers: answers("correct")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	got := waitRefused(t, ctx, f, j.ID, "other-key")
	ra := got.LastRefusedAnswer
	if !strings.Contains(ra.Reason, "cannot open the answer") || !strings.Contains(ra.Reason, `"elsewhere"`) || ra.At.IsZero() {
		t.Fatalf("refusal: %+v", ra)
	}
	if strings.Contains(ra.Reason, "correct") {
		t.Fatalf("the reason quotes the answer: %q", ra.Reason)
	}
	if got.State != store.StateChallenged || got.ResumeClaim != "" || got.Round != j.Round {
		t.Fatalf("job changed by a refused answer: %+v", got)
	}
	if v := got.View(); v.LastRefusedAnswer == nil || v.LastRefusedAnswer.AnswerID != "other-key" {
		t.Fatalf("view: %+v", v)
	}

	// Retried meanwhile (another worker may hold the key): not archived.
	if ti, err := f.Inspector.GetTaskInfo(tasks.QueueAnswers, "answer:"+j.ID+":other-key"); err != nil || ti.State == asynq.TaskStateArchived {
		t.Fatalf("answer under a key this worker lacks: %+v %v", ti, err)
	}
	testenv.Until(t, ctx, "the retried answer deleted", func() error {
		return f.Inspector.DeleteTask(tasks.QueueAnswers, "answer:"+j.ID+":other-key")
	})

	// Its last try refuses it for good and leaves the job challenged
	// (it used to end the job retries_exhausted).
	task, err = tasks.NewAnswerTask(other, tasks.Answer{JobID: j.ID, AnswerID: "other-key-last", Round: j.Round, Answers: answers("correct")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task, asynq.MaxRetry(0)); err != nil {
		t.Fatal(err)
	}
	archived(t, f, tasks.QueueAnswers, "answer:"+j.ID+":other-key-last")
	got = waitRefused(t, ctx, f, j.ID, "other-key-last")
	if got.State != store.StateChallenged || got.Error != nil {
		t.Fatalf("job changed by an answer refused on its last try: %+v", got)
	}

	// Challenge guids that do not match, straight to the worker.
	task, err = tasks.NewAnswerTask(f.Keys, tasks.Answer{JobID: j.ID, AnswerID: "bad-guid", Round: j.Round, Answers: []mx.ChallengeAnswer{{GUID: "CRD-wrong", Value: "correct"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	got = waitRefused(t, ctx, f, j.ID, "bad-guid")
	if !strings.Contains(got.LastRefusedAnswer.Reason, "do not match") || got.State != store.StateChallenged {
		t.Fatalf("mismatch: %+v", got)
	}

	// The right answer is taken, and clears the refusal.
	if _, err := f.Client.Answer(ctx, j.ID, scenario.Answers(j.Challenges, "correct")); err != nil {
		t.Fatal(err)
	}
	done, err := f.Client.Wait(ctx, j.ID)
	if err != nil || done.State != store.StateSucceeded {
		t.Fatalf("%+v %v", done, err)
	}
	if done.LastRefusedAnswer != nil {
		t.Fatalf("refusal kept after an answer was accepted: %+v", done.LastRefusedAnswer)
	}
}
