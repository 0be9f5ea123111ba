package tasks_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// A round another answer has claimed (being applied) is refused at the
// producer, with ErrAlreadyAnswered, not queued to be refused by the worker.
func TestAnswerToAClaimedRoundIsRefused(t *testing.T) {
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute })
	ctx := ctxT(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(testenv.Scenario(t, "challenge"), "claimed", "user-claimed")); err != nil {
		t.Fatal(err)
	}
	j, err := f.Client.Watch(ctx, "claimed", func(j *store.View) bool { return j.State != store.StateChallenged })
	if err != nil || j.State != store.StateChallenged {
		t.Fatalf("%+v %v", j, err)
	}
	f.StopWorker() // the claiming delivery is "still applying" its answer
	st := store.New(f.Redis.Client, f.Keys)
	if _, err := st.Update(ctx, j.ID, func(j *store.Job) error {
		j.ResumeClaim, j.ResumeBy = "first-answer", "answer:claimed:first-answer"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	_, err = f.Client.Answer(ctx, j.ID, scenario.Answers(j.Challenges, "correct"))
	if !errors.Is(err, tasks.ErrAlreadyAnswered) || errors.Is(err, tasks.ErrNotChallenged) || !strings.Contains(err.Error(), "first-answer") {
		t.Fatalf("answer to a claimed round: %v", err)
	}
	if n, err := f.Inspector.GetQueueInfo(tasks.QueueAnswers); err != nil || n.Pending != 0 {
		t.Fatalf("a refused answer was queued: %+v", n)
	}
}
