package api_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// An answer the worker refuses shows in the job's JSON as
// last_refused_answer, the job still challenged; an answer to a round
// another answer has claimed is 409 already_answered; the right answer is
// still taken and clears the refusal.
func TestRefusedAnswersOverHTTP(t *testing.T) {
	e := newEnv(t, func(c *fleet.Config) { c.ChallengeTTL = time.Minute })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	body := map[string]any{"kind": "verify", "id": "api-refused", "user": map[string]string{"id": "api-refused-user"}, "member": mxbank("challenge")}
	if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
		t.Fatalf("create: %d %s", code, b)
	}
	v := e.waitFor(t, "api-refused", func(v store.View) bool { return v.State == store.StateChallenged })
	guid := v.Challenges[0].GUID

	// Sealed under a key id the worker does not hold, on its last try.
	k, err := seal.Generate("elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	other, err := tasks.ParseKeys(k)
	if err != nil {
		t.Fatal(err)
	}
	j, err := e.f.Client.Status(ctx, v.ID)
	if err != nil {
		t.Fatal(err)
	}
	task, err := tasks.NewAnswerTask(other, tasks.Answer{JobID: v.ID, AnswerID: "other-key", Round: j.Round, Answers: []mx.ChallengeAnswer{{GUID: guid, Value: "correct"}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.f.Raw.EnqueueContext(ctx, task, asynq.MaxRetry(0)); err != nil {
		t.Fatal(err)
	}
	v = e.waitFor(t, v.ID, func(v store.View) bool { return v.LastRefusedAnswer != nil })
	if ra := v.LastRefusedAnswer; ra.AnswerID != "other-key" || !strings.Contains(ra.Reason, "unknown key") || ra.At.IsZero() || v.State != store.StateChallenged {
		t.Fatalf("refused answer: %+v %+v", ra, v)
	}
	_, b := e.do(t, "GET", "/v1/jobs/"+v.ID, token, nil)
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil || !strings.Contains(string(raw["last_refused_answer"]), `"answer_id":"other-key"`) {
		t.Fatalf("job JSON: %s", b)
	}

	// Another answer claimed the round and is being applied.
	st := store.New(e.f.Redis.Client, e.f.Keys)
	claim := func(id string) {
		if _, err := st.Update(ctx, v.ID, func(j *store.Job) error { j.ResumeClaim = id; return nil }); err != nil {
			t.Fatal(err)
		}
	}
	claim("first-answer")
	if _, b := e.do(t, "GET", "/v1/jobs/"+v.ID, token, nil); !strings.Contains(string(b), `"answer_pending":true`) || strings.Contains(string(b), "first-answer") {
		t.Fatalf("a claimed round shows as answer_pending, never by its claim: %s", b)
	}
	answer := map[string]any{"answers": map[string]string{guid: "correct"}}
	if code, b := e.do(t, "POST", "/v1/jobs/"+v.ID+"/answers", token, answer); code != 409 || errCode(b) != "already_answered" {
		t.Fatalf("answer to a claimed round: %d %s", code, b)
	}
	claim("") // that answer's delivery went away before resuming

	if code, b := e.do(t, "POST", "/v1/jobs/"+v.ID+"/answers", token, answer); code != 202 {
		t.Fatalf("answer: %d %s", code, b)
	}
	v = e.waitFor(t, v.ID, func(v store.View) bool { return v.State.Terminal() })
	if v.State != store.StateSucceeded || v.LastRefusedAnswer != nil {
		t.Fatalf("job: %+v", v)
	}
}
