package api_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// A full Redis (maxmemory reached, maxmemory-policy noeviction) refuses
// every write that would grow it with OOM. The API then refuses new jobs
// with 503 unavailable and Retry-After, leaving nothing of them behind; the
// workers' jobs wait, none failed; once memory is freed every job accepted
// before ends as its scenario says, and the refused ones go through when
// sent again.
func TestFullRedisLosesNothingAccepted(t *testing.T) {
	// MX takes a second to aggregate: jobs are still running when Redis fills.
	e := newEnv(t, nil, mxsim.WithAggregationTime(time.Second))
	if !e.f.Redis.Real {
		t.Skip("miniredis has no maxmemory: needs redis-server")
	}
	ctx := testenv.Context(t, 40*time.Second)
	rdb := e.f.Redis.Client
	sc := testenv.Scenario(t, "success")
	body := func(id string) map[string]any {
		return map[string]any{"kind": "verify", "id": id, "user": map[string]string{"id": "user-" + id},
			"member": map[string]any{"institution_code": sc.InstitutionCode, "credentials": sc.Credentials}}
	}
	if policy := rdb.ConfigGet(ctx, "maxmemory-policy").Val()["maxmemory-policy"]; policy != "noeviction" {
		t.Fatalf("maxmemory-policy %q, want noeviction (redis-server's default)", policy)
	}
	var accepted, refused []string
	submit := func(id string) {
		t.Helper()
		code, h, b := e.req(t, "POST", "/v1/jobs", token, body(id))
		switch {
		case code == 202:
			accepted = append(accepted, id)
		case code == 503 && errCode(b) == "unavailable":
			if ra, err := strconv.Atoi(h.Get("Retry-After")); err != nil || ra < 1 {
				t.Errorf("job %s refused with Retry-After %q", id, h.Get("Retry-After"))
			}
			if msg := string(b); !strings.Contains(msg, "full") || strings.Contains(msg, "OOM") || strings.Contains(msg, "maxmemory") {
				t.Errorf("job %s refused without saying the store is full, or naming internals: %s", id, msg)
			}
			refused = append(refused, id)
		default:
			t.Fatalf("job %s: %d %s, want 202, or 503 unavailable once Redis is full", id, code, b)
		}
	}
	// MX answers slowly, so that steps are under way, waiting for MX
	// before they write, when Redis fills.
	e.f.Sim.SetFaults(mxsim.Faults{Latency: time.Second})
	for i := range 5 {
		submit(fmt.Sprintf("early-%d", i))
	}
	testenv.Until(t, ctx, "a poll under way", func() error {
		active, err := e.f.Inspector.ListActiveTasks(tasks.QueuePolls)
		if len(active) == 0 {
			return fmt.Errorf("no active poll (%v)", err)
		}
		return nil
	})
	// Room for a few more jobs, then Redis is full.
	used, err := usedMemory(t, e)
	if err != nil {
		t.Fatal(err)
	}
	if err := rdb.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used+128<<10, 10)).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = rdb.ConfigSet(ctx, "maxmemory", "0").Err() })
	for i := 0; len(refused) < 3; i++ {
		if i == 2000 {
			t.Fatalf("Redis never filled: %d jobs accepted", len(accepted))
		}
		submit(fmt.Sprintf("late-%d", i))
	}
	t.Logf("%d jobs accepted, then %d refused", len(accepted), len(refused))
	// Full it stays (as deletes and ended tasks free a little, a write
	// could slip in at the edge): the steps under way meet it.
	if err := rdb.ConfigSet(ctx, "maxmemory", strconv.FormatInt(used/2, 10)).Err(); err != nil {
		t.Fatal(err)
	}

	// The Go client refuses as clearly, and leaves nothing either.
	_, _, err = e.f.Client.Submit(ctx, store.KindVerify, scenario.Request(sc, "by-client", "user-by-client"))
	if !store.Full(err) || !strings.Contains(err.Error(), "full") {
		t.Fatalf("submit to a full Redis: %v, want an error saying Redis is full", err)
	}
	refused = append(refused, "by-client")
	// Nothing half-written: no record, no start task.
	for _, id := range refused {
		if code, b := e.do(t, "GET", "/v1/jobs/"+id, token, nil); code != 404 {
			t.Errorf("refused job %s: GET %d %s, want 404", id, code, b)
		}
		if _, err := e.f.Inspector.GetTaskInfo(tasks.QueueJobs, tasks.StartID(id)); !errors.Is(err, asynq.ErrTaskNotFound) {
			t.Errorf("refused job %s: its start task: %v, want none", id, err)
		}
	}

	// The workers' writes are refused too (asynq hands out no task while
	// Redis is full: a step under way meets it): wait until a step was
	// refused, and see that no job failed for it.
	testenv.Until(t, ctx, "a step refused by the full Redis", func() error {
		if refusedSteps(e.f.Logs.String()) == 0 {
			return fmt.Errorf("none refused; logs:\n%s", e.f.Logs.String())
		}
		return nil
	})
	for _, id := range accepted {
		if r := e.f.Record(t, ctx, id); r.State == store.StateFailed {
			t.Errorf("job %s failed while Redis was full: %+v", id, r.Error)
		}
	}

	t.Logf("%d steps refused by the full Redis", refusedSteps(e.f.Logs.String()))

	// Memory freed: every accepted job ends as the scenario says.
	e.f.Sim.SetFaults(mxsim.Faults{})
	if err := rdb.ConfigSet(ctx, "maxmemory", "0").Err(); err != nil {
		t.Fatal(err)
	}
	endAsExpected := func(what string, ids []string) {
		t.Helper()
		for _, id := range ids {
			v, err := e.f.Client.Watch(ctx, id, func(v *store.View) bool { return !v.State.Terminal() })
			if err == nil {
				err = scenario.Check(sc, v)
			}
			if err != nil {
				t.Errorf("job %s %s: %v", id, what, err)
			}
		}
	}
	endAsExpected("accepted before Redis filled", accepted)
	// The refused ones go through when sent again, with the same ids.
	for _, id := range refused {
		if code, b := e.do(t, "POST", "/v1/jobs", token, body(id)); code != 202 {
			t.Fatalf("refused job %s sent again: %d %s, want 202", id, code, b)
		}
	}
	endAsExpected("sent again", refused)
	for _, q := range []string{tasks.QueueJobs, tasks.QueuePolls} {
		if archived, _ := e.f.Inspector.ListArchivedTasks(q); len(archived) > 0 {
			t.Errorf("queue %s: %d tasks archived (given up on)", q, len(archived))
		}
	}
	e.v.check(t)
}

// usedMemory is Redis's used_memory (INFO memory), in bytes.
func usedMemory(t testing.TB, e *env) (int64, error) {
	info, err := e.f.Redis.Client.Info(testenv.Context(t, 5*time.Second), "memory").Result()
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			return strconv.ParseInt(v, 10, 64)
		}
	}
	return 0, errors.New("no used_memory in INFO memory")
}

// refusedSteps counts the task runs the worker logged as refused by a
// full Redis: they wait for room (handlers.wrap).
func refusedSteps(logs string) int {
	n := 0
	for _, l := range strings.Split(logs, "\n") {
		var line struct {
			TaskID string `json:"task_id"`
			Reason string `json:"reason"`
		}
		if json.Unmarshal([]byte(l), &line) == nil && line.TaskID != "" && strings.Contains(line.Reason, "Redis is full") {
			n++
		}
	}
	return n
}
