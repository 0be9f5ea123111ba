package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Every scenario of the simulator, both kinds, through one fleet, all at
// once (they wait on MX, not on the CPU).
func TestEveryScenarioEndToEnd(t *testing.T) {
	t.Parallel()
	runEveryScenario(t, testenv.NewFleet(t, nil))
}

// The same on a local Redis Cluster of three masters: the store's keys
// share a hash tag, asynq's are tagged per queue.
func TestEveryScenarioOnRedisCluster(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("starts a three-node cluster")
	}
	runEveryScenario(t, testenv.NewFleetOn(t, testenv.NewCluster(t), nil))
}

func runEveryScenario(t *testing.T, f *testenv.Fleet) {
	runScenarios(t, f, "e2e-", mxsim.Scenarios()...)
}

func TestSameIDTwiceReturnsTheExistingJob(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	req := scenario.Request(testenv.Scenario(t, "success"), "same-id", "user-same-id")
	j1, err := f.Client.Verify(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	j2, err := f.Client.Verify(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if j1.ID != j2.ID || !j2.CreatedAt.Equal(j1.CreatedAt) {
		t.Fatalf("second submit made a new job: %+v vs %+v", j1, j2)
	}
	if _, err := f.Client.Identify(ctx, req); !errors.Is(err, tasks.ErrIDConflict) {
		t.Fatalf("identify with a verify job's id: err %v, want ErrIDConflict", err)
	}
	j, err := f.Client.Wait(ctx, "same-id")
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("job %+v err %v", j, err)
	}
	// After the end, the same id changes nothing either.
	j3, err := f.Client.Verify(ctx, req)
	if err != nil || j3.State != store.StateSucceeded || j3.UpdatedAt != j.UpdatedAt {
		t.Fatalf("resubmit after the end: %+v %v", j3, err)
	}
	if n := f.Sim.Stats().Calls["createMember"]; n != 1 {
		t.Fatalf("createMember called %d times, want 1", n)
	}
	// v20250224: the create starts verification; no verify call follows.
	if n := f.Sim.Stats().Calls["verifyMember"]; n != 0 {
		t.Fatalf("verifyMember called %d times, want 0", n)
	}
	if n := f.Sim.Stats().Jobs[j.MemberGUID]; n != 1 {
		t.Fatalf("MX jobs on the member: %d, want 1", n)
	}
}

// waitState waits until the job is in state s.
func TestDuplicateAndConcurrentAnswersResumeOnce(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	req := scenario.Request(testenv.Scenario(t, "challenge"), "answers-race", "user-answers-race")
	if _, err := f.Client.Verify(ctx, req); err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, "answers-race", store.StateChallenged)
	answers := scenario.Answers(j.Challenges, "correct")

	// Ten answers race through the producer, and one answer task is
	// delivered twice (same answer id, as asynq may redeliver).
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _ = f.Client.Answer(ctx, j.ID, answers) }()
	}
	p := tasks.Answer{V: tasks.Version, JobID: j.ID, AnswerID: "dup", Round: j.Round}
	for g, v := range answers {
		p.Answers = append(p.Answers, mx.ChallengeAnswer{GUID: g, Value: v})
	}
	for i := range 2 {
		task, err := tasks.NewAnswerTask(f.Keys, p)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.Raw.EnqueueContext(ctx, task, asynq.TaskID(fmt.Sprintf("dup-delivery-%d", i))); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	j, err := f.Client.Wait(ctx, j.ID)
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("job %+v err %v", j, err)
	}
	if n := f.Sim.Stats().Members[j.MemberGUID]["resumeAggregation"]; n != 1 {
		t.Fatalf("resumeAggregation reached MX %d times, want exactly 1", n)
	}
}

func ctxWithTimeout(parent context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(parent, d)
}

// A worker asks MX for an institution's credential fields once, not once
// per job, and asks again before refusing credentials the cached fields do
// not name (the institution may have changed them). A new user costs one
// createUser and no listing; a known user a 409 and one listing.
func TestMXCallsPerJob(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	sc := testenv.Scenario(t, "success")
	for i, user := range []string{"calls-a", "calls-b", "calls-a"} {
		id := fmt.Sprintf("calls-%d", i)
		if _, err := f.Client.Verify(ctx, scenario.Request(sc, id, user)); err != nil {
			t.Fatal(err)
		}
		if j, err := f.Client.Wait(ctx, id); err != nil || j.State != store.StateSucceeded {
			t.Fatalf("job %s: %+v %v", id, j, err)
		}
	}
	st := f.Sim.Stats().Calls
	if st["listInstitutionCredentials"] != 1 || st["createUser"] != 3 || st["listUsers"] != 1 {
		t.Fatalf("3 jobs at one institution for 2 users: %d credential lists, %d createUser, %d listUsers; want 1, 3 (one 409), 1",
			st["listInstitutionCredentials"], st["createUser"], st["listUsers"])
	}
	req := scenario.Request(sc, "calls-unknown-field", "calls-c")
	req.Member.Credentials = map[string]string{"username": "u", "pin": "1"}
	if _, err := f.Client.Verify(ctx, req); err != nil {
		t.Fatal(err)
	}
	j, err := f.Client.Wait(ctx, "calls-unknown-field")
	if err != nil || j.State != store.StateFailed || j.Error.Code != "unknown_credential" {
		t.Fatalf("unknown credential field: %+v %v", j, err)
	}
	if j.UserGUID == "" {
		t.Errorf("the failed job does not name the MX user it created")
	}
	if n := f.Sim.Stats().Calls["listInstitutionCredentials"]; n != 2 {
		t.Fatalf("credential lists after a refused field: %d, want 2 (the cached fields checked again once)", n)
	}
}

// The whole scenario table on API version v20111101 (skip_aggregation on
// create, then verify or identify), which MX still supports.
func TestEveryScenarioEndToEndOnV20111101(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("the previous API version")
	}
	runEveryScenario(t, testenv.NewFleet(t, func(c *fleet.Config) { c.MXAPIVersion = string(mx.V20111101) }))
}

// A follow job on a member MX already shows CONNECTED (aggregated long
// before the job: the simulator's clock is an hour behind) reads its
// results at the first poll. The fleet asked MX for nothing, so no read
// can be a stale one from before its request.
func TestFollowJobReadsAConnectedMemberAtTheFirstPoll(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil, mxsim.WithClock(func() time.Time { return time.Now().Add(-time.Hour) }))
	ctx := testenv.Context(t, time.Minute)
	mxc, err := mx.New(mx.WithBaseURL(f.SimURL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey))
	if err != nil {
		t.Fatal(err)
	}
	user, err := mxc.CreateUser(ctx, mx.UserCreate{ID: "follow-connected"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mxc.CreateMember(ctx, user.GUID, mx.MemberCreate{InstitutionCode: "mxbank", Credentials: mxbankCredentials(t, ctx, mxc, "correct"), Products: []string{mx.ProductAccountVerification}})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Until(t, ctx, "the member connected", func() error {
		st, err := mxc.ReadMemberStatus(ctx, user.GUID, m.GUID)
		if err != nil {
			t.Fatal(err)
		}
		if st.ConnectionStatus != "CONNECTED" || st.IsBeingAggregated {
			return fmt.Errorf("%+v", st)
		}
		return nil
	})
	if _, err := f.Client.Verify(ctx, tasks.Request{ID: "follow-connected", User: tasks.User{GUID: user.GUID},
		Member: tasks.Member{GUID: m.GUID, Follow: true}}); err != nil {
		t.Fatal(err)
	}
	j, err := f.Client.Wait(ctx, "follow-connected")
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("follow job: %+v %v", j, err)
	}
	if j.Polls != 1 {
		t.Errorf("follow job of a connected member took %d polls, want 1", j.Polls)
	}
	if n := f.Sim.Stats().Members[m.GUID]["verifyMember"]; n != 0 {
		t.Errorf("a follow job called verify %d times", n)
	}
}

// A worker with no version setting completes verify, identify, a TEXT
// challenge and a DENIED member against the simulator, which answers as
// MX's documentation shows (the MFA guide's challenged status included),
// with every request it sends valid against v20250224's spec.
func TestWorkerSpeaksV20250224AsTheSpecSays(t *testing.T) {
	t.Parallel()
	f, checker := testenv.NewCheckedFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	var wg sync.WaitGroup
	for _, c := range []struct {
		name string
		kind store.Kind
	}{{"success", store.KindVerify}, {"success", store.KindIdentify}, {"challenge", store.KindVerify}, {"denied", store.KindVerify}} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sc := testenv.Scenario(t, c.name)
			id := "spec-" + c.name + "-" + string(c.kind)
			j, err := scenario.Run(ctx, f.Client, sc, c.kind, id, "user-"+id, nil)
			if err == nil {
				err = scenario.Check(sc, j)
			}
			if err != nil {
				t.Errorf("%s: %v", id, err)
			}
		}()
	}
	wg.Wait()
	checker.Report(t, "createUser", "listInstitutionCredentials", "createMember", "readMemberStatus",
		"listAccountNumbersByMember", "listAccountOwnersByMember", "resumeAggregation")
	if checker.Departed("challenge type as an integer") == 0 {
		t.Error("the worker never read a challenged status in the MFA guide's shape")
	}
}
