package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// hookTarget is what a storm of webhooks is about: a job (or none) and the
// member (or micro-deposit) guid MX names.
type hookTarget struct {
	name, jobID, member, user string
	md                        bool // micro-deposit: MX's microdeposit webhook
	live                      bool // a webhook may wake it
}

// delivery is one webhook as MX sends it: body and X-CALLBACK-PAYLOAD.
type delivery struct {
	target  *hookTarget
	body    string
	payload string
}

// deliveries are the webhooks MX sends about t, in the shapes the
// simulator sends them (mx/mxsim/webhooks.go and microdeposits.go, from
// docs.mx.com/resources/webhooks/member and …/microdeposits): MEMBER and
// VERIFICATION carry the job's X-CALLBACK-PAYLOAD, CONNECTION_STATUS
// does not.
func (t *hookTarget) deliveries() []delivery {
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	now := time.Now().Unix()
	if t.md {
		return []delivery{{target: t, body: js(map[string]any{"action": "updated", "version": 1, "micro_deposit": map[string]any{
			"account_number": "333355555", "account_type": 1, "created_at": "2026-12-08T00:00:00.000+00:00", "guid": t.member,
			"institution_guid": nil, "routing_number": "091000019", "status": 1, "status_name": "REQUESTED",
			"updated_at": "2026-12-08T00:00:01.000+00:00", "user_guid": t.user, "user_id": nil, "verified_at": nil}})}}
	}
	payload := ""
	if t.jobID != "" {
		payload = base64.StdEncoding.EncodeToString([]byte(t.jobID))
	}
	return []delivery{
		{target: t, payload: payload, body: js(map[string]any{"type": "MEMBER", "action": "UPDATED", "guid": t.member, "member_guid": t.member,
			"user_guid": t.user, "user_id": nil, "id": nil, "institution_code": "mxbank", "connection_status": "CONNECTED",
			"connection_status_id": 6, "connection_status_message": "Connected to MX Bank.", "is_being_aggregated": false,
			"aggregated_at": now, "created_at": now})},
		{target: t, payload: payload, body: js(map[string]any{"type": "VERIFICATION", "action": "member_data_updated", "member_guid": t.member,
			"user_guid": t.user, "user_id": nil, "accounts": []string{}, "completed_at": now, "completed_on": time.Unix(now, 0).UTC().Format(time.DateOnly)})},
		{target: t, body: js(map[string]any{"type": "CONNECTION_STATUS", "action": "CHANGED", "member_guid": t.member, "user_guid": t.user,
			"connection_status": "DENIED", "connection_status_id": 2, "connection_status_message": "The credentials were refused."})},
	}
}

// hookAnswer is what the API answered one delivery.
type hookAnswer struct {
	d    delivery
	code int
	out  struct {
		JobID   string `json:"job_id"`
		Woke    bool   `json:"woke"`
		Ignored string `json:"ignored"`
	}
}

// storm sends each delivery copies times, all at once (MX's retries and
// duplicates arriving together), and returns every answer.
func (e *env) storm(t *testing.T, ds []delivery, copies int) []hookAnswer {
	t.Helper()
	jobs := make(chan delivery)
	var mu sync.Mutex
	var answers []hookAnswer
	var wg sync.WaitGroup
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range jobs {
				a := hookAnswer{d: d}
				req, _ := http.NewRequest("POST", e.url+"/v1/mx/webhooks", strings.NewReader(d.body))
				req.Header.Set("Content-Type", "application/json; charset=utf-8")
				req.SetBasicAuth("mx", webhookSecret)
				if d.payload != "" {
					req.Header.Set("X-CALLBACK-PAYLOAD", d.payload)
				}
				resp, err := e.hc.Do(req)
				if err != nil {
					t.Error(err)
					continue
				}
				a.code = resp.StatusCode
				_ = json.NewDecoder(resp.Body).Decode(&a.out)
				resp.Body.Close()
				mu.Lock()
				answers = append(answers, a)
				mu.Unlock()
			}
		}()
	}
	for range copies {
		for _, d := range ds {
			jobs <- d
		}
	}
	close(jobs)
	wg.Wait()
	return answers
}

// keyspace is every key in Redis with its DUMP (the value, not the TTL).
func (e *env) keyspace(t *testing.T, ctx context.Context) map[string]string {
	t.Helper()
	out := map[string]string{}
	it := e.f.Redis.Client.Scan(ctx, 0, "*", 1000).Iterator()
	for it.Next(ctx) {
		if v, err := e.f.Redis.Client.Dump(ctx, it.Val()).Result(); err == nil {
			out[it.Val()] = v
		}
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// calls is how many commands Redis has run (INFO commandstats, the
// commands of scripts included) that count says to count.
func (e *env) calls(t *testing.T, ctx context.Context, count func(name string) bool) int64 {
	t.Helper()
	info, err := e.f.Redis.Client.Info(ctx, "commandstats").Result()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(info, "\n") {
		name, stats, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":")
		if !ok || !count(strings.ReplaceAll(name, "|", " ")) {
			continue
		}
		c, _, _ := strings.Cut(strings.TrimPrefix(stats, "calls="), ",")
		v, _ := strconv.ParseInt(c, 10, 64)
		n += v
	}
	return n
}

// writes is how many write commands (the @write category) Redis has run.
func (e *env) writes(t *testing.T, ctx context.Context) int64 {
	t.Helper()
	names, err := e.f.Redis.Client.Do(ctx, "COMMAND", "LIST", "FILTERBY", "ACLCAT", "write").StringSlice()
	if err != nil {
		t.Fatal(err)
	}
	return e.calls(t, ctx, func(name string) bool { return slices.Contains(names, name) })
}

// fleetCalls counts the commands the fleet runs, not the test's own
// (INFO, COMMAND, SCAN, DUMP).
func fleetCalls(name string) bool {
	return !slices.Contains([]string{"info", "command list", "scan", "dump"}, name)
}

// until waits for cond, checking every 20 ms, failing the test after 30 s.
func until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("still waiting for %s", what)
		case <-tick.C:
		}
	}
}

// MX retries a webhook it did not see acknowledged, up to 12 times over
// about 24 hours (docs.mx.com/resources/webhooks), so the fleet gets late
// deliveries (the job ended or was purged since), deliveries about
// nothing it knows, and copies. A storm of them, MX's member and
// microdeposit shapes, 12 copies each sent at once and twice over:
// every one is answered 200; the late and unknown ones change nothing in
// Redis (no write command at all, no task enqueued, no record touched);
// each live job is woken once, its scheduled poll run early, and MX's
// copies of the deliveries wake nothing more after that poll ran.
func TestLateAndDuplicateWebhooksChangeNothing(t *testing.T) {
	// Micro-deposits stay REQUESTED (deposits an hour away): a
	// micro-deposit job keeps polling.
	e := newEnv(t, func(c *fleet.Config) { c.JobDeadline = 30 * time.Minute },
		mxsim.WithMicrodepositTiming(mxsim.MicrodepositTiming{Refresh: 100 * time.Millisecond, Deposit: time.Hour}))
	ctx := context.Background()
	submit := func(body map[string]any) *hookTarget {
		t.Helper()
		id := body["id"].(string)
		if code, b := e.do(t, "POST", "/v1/jobs", token, body); code != 202 {
			t.Fatalf("create %s: %d %s", id, code, b)
		}
		return &hookTarget{name: id, jobID: id, md: body["kind"] == "microdeposit"}
	}
	verify := func(id, password string) *hookTarget {
		return submit(map[string]any{"kind": "verify", "id": id, "user": map[string]string{"id": "u-" + id}, "member": mxbank(password)})
	}
	account := map[string]string{"account_number": "333355555", "routing_number": "091000019", "account_type": "CHECKING",
		"first_name": "Dave", "last_name": "Doe", "email": "dave@example.com"}
	microdeposit := func(id string) *hookTarget {
		return submit(map[string]any{"kind": "microdeposit", "id": id, "user": map[string]string{"id": "u-" + id}, "account": account})
	}
	fill := func(h *hookTarget) {
		t.Helper()
		v := e.job(t, h.jobID)
		h.member, h.user = v.MemberGUID, v.UserGUID
	}

	// Ended jobs, and one purged once it ended (fast polls).
	succeeded, failed, purged := verify("ended-ok", "correct"), verify("ended-failed", "UNAUTHORIZED"), verify("purged", "correct")
	for _, h := range []*hookTarget{succeeded, failed, purged} {
		v := e.waitFor(t, h.jobID, func(v store.View) bool { return v.State.Terminal() })
		fill(h)
		if want := map[*hookTarget]store.State{succeeded: store.StateSucceeded, failed: store.StateFailed, purged: store.StateSucceeded}[h]; v.State != want {
			t.Fatalf("%s: %s, want %s", h.name, v.State, want)
		}
	}

	// Live jobs: their next polls ten minutes away, so only a webhook
	// runs them during the test.
	e.f.StopWorker()
	e.f.Config.PollInitial, e.f.Config.PollMax, e.f.Config.MicrodepositPoll = 10*time.Minute, 20*time.Minute, 10*time.Minute
	w := e.f.StartWorker(t)
	live1, live2, mdLive, mdPurged := verify("live-1", "correct"), verify("live-2", "correct"), microdeposit("md-live"), microdeposit("md-purged")
	scheduled := func(id string) (job.Task, bool) {
		rec, err := e.f.Store.Peek(ctx, id)
		if err != nil {
			return job.Task{}, false
		}
		poll, ok := job.WebhookPoll(rec)
		if !ok {
			return job.Task{}, false
		}
		ti, err := e.f.Inspector.GetTaskInfo(tasks.QueuePolls, poll.ID)
		return poll, err == nil && ti.State == asynq.TaskStateScheduled
	}
	woken := map[string]job.Task{}
	for _, h := range []*hookTarget{live1, live2, mdLive, mdPurged} {
		until(t, h.name+"'s scheduled poll", func() bool { _, ok := scheduled(h.jobID); return ok })
		woken[h.jobID], _ = scheduled(h.jobID)
		fill(h)
		h.live = true
	}
	// From here no worker runs: what changes in Redis is the webhooks'.
	w.Shutdown()
	for _, h := range []*hookTarget{purged, mdPurged} {
		if code, b := e.do(t, "DELETE", "/v1/jobs/"+h.jobID, token, nil); code != 204 {
			t.Fatalf("purge %s: %d %s", h.jobID, code, b)
		}
		h.live = false
	}
	delete(woken, mdPurged.jobID)
	late := []*hookTarget{succeeded, failed, purged, mdPurged,
		{name: "unknown member, unknown job", jobID: "never-was", member: "MBR-never", user: "USR-never"},
		{name: "unknown member", member: "MBR-nobody", user: "USR-nobody"},
		{name: "unknown micro-deposit", member: "MIC-never", user: "USR-never", md: true},
	}
	var lateDs, allDs []delivery
	for _, h := range late {
		lateDs = append(lateDs, h.deliveries()...)
	}
	allDs = append(allDs, lateDs...)
	for _, h := range []*hookTarget{live1, live2, mdLive} {
		allDs = append(allDs, h.deliveries()...)
	}
	check := func(as []hookAnswer) map[string]int {
		t.Helper()
		wakes := map[string]int{}
		for _, a := range as {
			if a.code != 200 {
				t.Errorf("%s: answered %d", a.d.target.name, a.code)
			}
			if a.out.Woke {
				if !a.d.target.live || a.out.JobID != a.d.target.jobID {
					t.Errorf("%s: woke job %q", a.d.target.name, a.out.JobID)
				}
				wakes[a.out.JobID]++
			}
		}
		return wakes
	}

	// 1. Only late and unknown deliveries: Redis runs no write command
	// and holds exactly what it held.
	before, writes := e.keyspace(t, ctx), e.writes(t, ctx)
	commands := e.calls(t, ctx, fleetCalls)
	start := time.Now()
	answers := e.storm(t, lateDs, 24)
	took := time.Since(start)
	commands = e.calls(t, ctx, fleetCalls) - commands
	if wakes := check(answers); len(wakes) > 0 {
		t.Errorf("late deliveries woke %v", wakes)
	}
	if n := e.writes(t, ctx) - writes; n != 0 {
		t.Errorf("%d late deliveries ran %d write commands", len(answers), n)
	}
	after := e.keyspace(t, ctx)
	for k, v := range after {
		if before[k] != v {
			t.Errorf("key %s changed or appeared", k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok {
			t.Errorf("key %s is gone", k)
		}
	}
	t.Logf("%d late deliveries (%d distinct, 24 copies each, 32 at a time) in %s: %.0f/s, %.2f Redis commands each (reads)",
		len(answers), len(lateDs), took.Round(time.Millisecond), float64(len(answers))/took.Seconds(), float64(commands)/float64(len(answers)))

	// 2. Late and live ones together: each live job woken exactly once,
	// its scheduled poll made pending; nothing else moves.
	before = e.keyspace(t, ctx)
	start = time.Now()
	answers = e.storm(t, allDs, 24)
	took = time.Since(start)
	wakes := check(answers)
	for id := range woken {
		if wakes[id] != 1 {
			t.Errorf("job %s woken %d times, want once", id, wakes[id])
		}
	}
	t.Logf("%d deliveries (%d distinct, 24 copies each, 32 at a time) in %s: %.0f/s", len(answers), len(allDs), took.Round(time.Millisecond), float64(len(answers))/took.Seconds())
	after = e.keyspace(t, ctx)
	pollsKey := func(s string) string { return "asynq:{" + tasks.QueuePolls + "}:" + s }
	mayChange := map[string]bool{pollsKey("pending"): true, pollsKey("scheduled"): true}
	for id, poll := range woken {
		ti, err := e.f.Inspector.GetTaskInfo(tasks.QueuePolls, poll.ID)
		if err != nil || ti.State != asynq.TaskStatePending {
			t.Errorf("job %s: its woken poll %s: %v %v", id, poll.ID, ti, err)
		}
		mayChange[pollsKey("t:"+poll.ID)] = true
		mayChange["mxfleet:{store}:hooks:"+id] = true
	}
	for k, v := range after {
		if before[k] != v && !mayChange[k] {
			t.Errorf("key %s changed or appeared", k)
		}
	}
	for k := range before {
		if _, ok := after[k]; !ok && !mayChange[k] { // the scheduled set empties
			t.Errorf("key %s is gone", k)
		}
	}
	pending, err := e.f.Inspector.ListPendingTasks(tasks.QueuePolls)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, ti := range pending {
		ids = append(ids, ti.ID)
	}
	var want []string
	for _, poll := range woken {
		want = append(want, poll.ID)
	}
	slices.Sort(ids)
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("pending polls %v, want the woken ones %v", ids, want)
	}

	// 3. The woken polls run; MX's copies of every delivery arriving
	// after wake nothing more: the micro-deposit job's next poll stays
	// scheduled ten minutes away.
	e.f.StartWorker(t)
	polled := map[string]int{}
	for id, poll := range woken {
		until(t, id+"'s woken poll", func() bool {
			rec, err := e.f.Store.Peek(ctx, id)
			return err == nil && (rec.Polls >= poll.N || rec.State.Terminal())
		})
		polled[id] = e.f.Record(t, ctx, id).Polls
	}
	until(t, "the micro-deposit job's next poll", func() bool { _, ok := scheduled(mdLive.jobID); return ok })
	next, _ := scheduled(mdLive.jobID)
	if wakes := check(e.storm(t, allDs, 12)); len(wakes) > 0 {
		t.Errorf("copies of deliveries woke %v after the woken polls ran", wakes)
	}
	if got, ok := scheduled(mdLive.jobID); !ok || got.ID != next.ID {
		t.Errorf("the micro-deposit job's next poll %s: now %+v %v", next.ID, got, ok)
	}
	for id, n := range polled {
		if got := e.f.Record(t, ctx, id).Polls; got != n {
			t.Errorf("job %s polled %d times after the copies, %d before", id, got, n)
		}
	}
	e.v.check(t)
}
