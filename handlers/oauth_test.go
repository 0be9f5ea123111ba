package handlers_test

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// oauthScenario is the OAuth scenario of that name.
func oauthScenario(t *testing.T, name string) mxsim.Scenario {
	for _, sc := range mxsim.OAuthScenarios() {
		if sc.Name == name {
			return sc
		}
	}
	t.Fatalf("no OAuth scenario %q", name)
	return mxsim.Scenario{}
}

// runScenarios runs every kind of the scenarios through one fleet, all at
// once (they wait on MX, not on the CPU), and checks each.
func runScenarios(t *testing.T, f *testenv.Fleet, prefix string, scs ...mxsim.Scenario) {
	ctx := testenv.Context(t, 2*time.Minute)
	type run struct {
		sc   mxsim.Scenario
		kind string
		job  *store.View
		err  error
	}
	var runs []*run
	var wg sync.WaitGroup
	for _, sc := range scs {
		for _, kind := range sc.Kinds {
			r := &run{sc: sc, kind: kind}
			runs = append(runs, r)
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := prefix + sc.Name + "-" + kind
				r.job, r.err = scenario.Run(ctx, f.Client, sc, store.Kind(kind), id, "user-"+id, nil)
			}()
		}
	}
	wg.Wait()
	for _, r := range runs {
		t.Run(r.sc.Name+"/"+r.kind, func(t *testing.T) {
			if r.err != nil {
				t.Logf("fleet log:\n%s", f.Logs.String())
				t.Fatalf("run: %v", r.err)
			}
			if err := scenario.Check(r.sc, r.job); err != nil {
				t.Fatal(err)
			}
			if r.job.State == store.StateFailed && (r.job.Error == nil || r.job.Error.Code == "" || r.job.Error.Message == "") {
				t.Fatalf("failed job without code and message: %+v", r.job.Error)
			}
			if r.job.OAuthWindowURI != "" {
				t.Fatalf("an ended job shows its window URI")
			}
		})
	}
}

// OAuth jobs end to end (real Redis, asynq, the simulator over HTTP):
// approved at the window page → succeeded with results, denied →
// oauth_denied, in both MX API versions (v20111101: the fleet starts the
// job once authorized).
func TestOAuthScenariosEndToEnd(t *testing.T) {
	t.Parallel()
	scs := []mxsim.Scenario{oauthScenario(t, "oauth_approve"), oauthScenario(t, "oauth_deny")}
	t.Run("v20250224", func(t *testing.T) {
		t.Parallel()
		f := testenv.NewFleet(t, nil)
		runScenarios(t, f, "oauth-", scs...)
		if strings.Contains(f.Logs.String(), "/_sim/oauth/") {
			t.Error("a window URI is in the worker's log: it is the end user's link")
		}
		if n := f.Sim.Stats().Calls["verifyMember"] + f.Sim.Stats().Calls["identifyMember"]; n != 0 {
			t.Errorf("v20250224: MX runs the product once authorized; the fleet called verify/identify %d times", n)
		}
	})
	t.Run("v20111101", func(t *testing.T) {
		t.Parallel()
		f := testenv.NewFleet(t, func(c *fleet.Config) { c.MXAPIVersion = "v20111101" })
		runScenarios(t, f, "oauth-old-", scs...)
	})
}

// A window URI never used expires at MX: the job ends oauth_expired.
func TestOAuthWindowExpires(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil, mxsim.WithOAuthWindow(time.Second))
	runScenarios(t, f, "oauth-exp-", oauthScenario(t, "oauth_expired"))
}

// A fresh URI on request: the job records window 2, the first URI no
// longer works, the second one approved ends the job succeeded. Answers
// to an authorizing job are refused with the reason.
func TestOAuthFreshWindowOnRequest(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	req := scenario.Request(oauthScenario(t, "oauth_approve"), "oauth-fresh", "user-oauth-fresh")
	if _, err := f.Client.Verify(ctx, req); err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, "oauth-fresh", store.StateAuthorizing)
	first := j.OAuthWindowURI
	if first == "" || j.OAuthWindows != 1 || j.ConnectionStatus != "PENDING" || j.MemberGUID == "" {
		t.Fatalf("authorizing job: %+v", j)
	}
	if _, err := f.Client.Answer(ctx, "oauth-fresh", map[string]string{"CRD-1": "x"}); !errors.Is(err, tasks.ErrNotChallenged) || !strings.Contains(err.Error(), "OAuth") {
		t.Fatalf("answer to an authorizing job: %v", err)
	}
	n, err := f.Client.RequestOAuthWindow(ctx, "oauth-fresh")
	if err != nil || n != 2 {
		t.Fatalf("fresh window: %d %v", n, err)
	}
	if again, err := f.Client.RequestOAuthWindow(ctx, "oauth-fresh"); err != nil || again != 2 {
		// Not yet issued: the same request; issued: window 3 would be
		// asked for (also fine, but this test reads window 2).
		if again != 3 {
			t.Fatalf("asking again: %d %v", again, err)
		}
	}
	var v *store.View
	testenv.Until(t, ctx, "the fresh window (or the job moving on)", func() (err error) {
		if v, err = f.Client.Status(ctx, "oauth-fresh"); err != nil {
			t.Fatal(err)
		}
		if v.OAuthWindows < 2 && v.State == store.StateAuthorizing {
			return fmt.Errorf("%+v", v)
		}
		return nil
	})
	if v.State != store.StateAuthorizing || v.OAuthWindowURI == "" || v.OAuthWindowURI == first {
		t.Fatalf("after the fresh window: %+v", v)
	}
	// The first URI is used up (MX: one-time use; a new one replaces it).
	resp, err := http.Get(first)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone {
		t.Fatalf("the first URI after a fresh one: HTTP %d, want 410", resp.StatusCode)
	}
	if err := scenario.Decide(ctx, v.OAuthWindowURI, mxsim.OAuthApprove); err != nil {
		t.Fatal(err)
	}
	end, err := f.Client.Wait(ctx, "oauth-fresh")
	if err != nil || end.State != store.StateSucceeded || end.Result == nil || len(end.Result.AccountNumbers) == 0 {
		t.Fatalf("after approving the fresh URI: %+v %v", end, err)
	}
	if _, err := f.Client.RequestOAuthWindow(ctx, "oauth-fresh"); !errors.Is(err, tasks.ErrNotAuthorizing) {
		t.Fatalf("fresh window for an ended job: %v", err)
	}
}

// At least once: a start whose write was lost (the worker died after MX
// created the OAuth member) runs again and finds that member (its
// metadata names the job) instead of creating a second one.
func TestOAuthStartAgainFindsItsMember(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	sc := oauthScenario(t, "oauth_approve")
	req := scenario.Request(sc, "oauth-twice", "user-oauth-twice")
	if _, err := f.Client.Identify(ctx, req); err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, "oauth-twice", store.StateAuthorizing)
	// The record as it was before the start's write; the start again.
	if _, err := f.Store.Update(ctx, "oauth-twice", func(r *store.Job) error {
		r.State, r.UserGUID, r.MemberGUID, r.Deadline, r.Attempt = store.StatePending, "", "", time.Time{}, 0
		r.OAuthWindows, r.OAuthWindowURI, r.ConnectionStatus = 0, "", ""
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	task, err := tasks.NewJobTask(f.Keys, store.KindIdentify, tasks.Job{JobID: "oauth-twice", User: req.User, Member: req.Member})
	if err != nil {
		t.Fatal(err)
	}
	// The first start task is done with once asynq has removed it.
	gone(t, f, tasks.QueueJobs, tasks.StartID("oauth-twice"))
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	again := testenv.WaitState(t, ctx, f.Client, "oauth-twice", store.StateAuthorizing)
	if again.MemberGUID != j.MemberGUID || again.OAuthWindowURI == "" {
		t.Fatalf("start again: member %s (first %s), uri set %v", again.MemberGUID, j.MemberGUID, again.OAuthWindowURI != "")
	}
	if n := f.Sim.Stats().Calls["createMember"]; n != 1 {
		t.Fatalf("createMember called %d times, want 1", n)
	}
	if err := scenario.Decide(ctx, again.OAuthWindowURI, mxsim.OAuthApprove); err != nil {
		t.Fatal(err)
	}
	if end, err := f.Client.Wait(ctx, "oauth-twice"); err != nil || end.State != store.StateSucceeded || len(end.Result.AccountOwners) == 0 {
		t.Fatalf("end: %+v %v", end, err)
	}
}

// The sweeper knows what an authorizing job needs (its next poll): lost
// in Redis, it is put back, and the job goes on to succeed once the end
// user approves (a webhook's Wake runs the slow poll now).
func TestOAuthLostPollIsSwept(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.PollInitial, c.PollMax = time.Minute, time.Minute })
	ctx := testenv.Context(t, time.Minute)
	if _, err := f.Client.Verify(ctx, scenario.Request(oauthScenario(t, "oauth_approve"), "oauth-lost", "u-oauth-lost")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, f, "oauth-lost", func(j *store.Job) bool { return j.State == store.StateAuthorizing })
	j := lose(t, ctx, f, "oauth-lost", func(j *store.Job) (string, string) { return tasks.QueuePolls, tasks.PollID(j.ID, j.Polls+1) })
	h, m := f.Sweeper(t, 0)
	sweep(t, h, 1)
	taskThere(t, f, tasks.QueuePolls, tasks.PollID(j.ID, j.Polls+1))
	if n := repairedTotal(t, m, "poll"); n != 1 {
		t.Errorf("repaired poll = %v, want 1", n)
	}
	if err := scenario.Decide(ctx, j.OAuthWindowURI, mxsim.OAuthApprove); err != nil {
		t.Fatal(err)
	}
	f.StartWorker(t)
	testenv.Until(t, ctx, "the repaired job ending", func() error {
		v, err := f.Client.Status(ctx, "oauth-lost")
		if err == nil && !v.State.Terminal() {
			_, _, _ = f.Client.Wake(ctx, v.MemberGUID, v.ID, "")
			return fmt.Errorf("%+v", v)
		}
		if err != nil || v.State != store.StateSucceeded {
			t.Fatalf("after the repair: %+v %v", v, err)
		}
		return nil
	})
}

// The worker's OAuth calls (createMember with is_oauth, listMembers,
// requestOAuthWindowURI, the polls) are valid against MX's spec, in both
// versions.
func TestOAuthCallsAsTheSpecSays(t *testing.T) {
	t.Parallel()
	for _, version := range []string{"v20250224", "v20111101"} {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			f, checker := testenv.NewCheckedFleet(t, func(c *fleet.Config) { c.MXAPIVersion = version })
			ctx := testenv.Context(t, time.Minute)
			id := "spec-oauth-" + version
			sc := oauthScenario(t, "oauth_approve")
			if _, err := f.Client.Verify(ctx, scenario.Request(sc, id, "u-"+id)); err != nil {
				t.Fatal(err)
			}
			testenv.WaitState(t, ctx, f.Client, id, store.StateAuthorizing)
			if _, err := f.Client.RequestOAuthWindow(ctx, id); err != nil {
				t.Fatal(err)
			}
			var v *store.View
			testenv.Until(t, ctx, "window 2", func() (err error) {
				if v, err = f.Client.Status(ctx, id); err != nil || v.State != store.StateAuthorizing {
					t.Fatalf("waiting for window 2: %+v %v", v, err)
				}
				if v.OAuthWindows < 2 {
					return fmt.Errorf("%+v", v)
				}
				return nil
			})
			if err := scenario.Decide(ctx, v.OAuthWindowURI, mxsim.OAuthApprove); err != nil {
				t.Fatal(err)
			}
			if j, err := f.Client.Wait(ctx, id); err != nil || scenario.Check(sc, j) != nil {
				t.Fatalf("end: %+v %v", j, err)
			}
			checker.Report(t, "createUser", "listMembers", "createMember", "requestOAuthWindowURI", "readMemberStatus", "listAccountNumbersByMember")
		})
	}
}

// A fresh window MX refuses (here: the end user has approved at MX, so the
// member no longer waits for authorization, while the job, polling slowly,
// has not seen it yet) shows on the job, which waits on as it was, and the
// same window can be asked for again: the refused task is not archived.
func TestOAuthRefusedFreshWindowShowsOnTheJob(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.PollInitial, c.PollMax = time.Minute, time.Minute })
	ctx := testenv.Context(t, time.Minute)
	req := scenario.Request(oauthScenario(t, "oauth_approve"), "oauth-refused", "user-oauth-refused")
	if _, err := f.Client.Verify(ctx, req); err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, "oauth-refused", store.StateAuthorizing)
	if err := scenario.Decide(ctx, j.OAuthWindowURI, mxsim.OAuthApprove); err != nil {
		t.Fatal(err)
	}
	refused := func(at time.Time) *store.View {
		t.Helper()
		if n, err := f.Client.RequestOAuthWindow(ctx, "oauth-refused"); err != nil || n != 2 {
			t.Fatalf("fresh window: %d %v", n, err)
		}
		var v *store.View
		testenv.Until(t, ctx, "the refusal", func() (err error) {
			if v, err = f.Client.Status(ctx, "oauth-refused"); err != nil {
				t.Fatalf("waiting for the refusal: %v", err)
			}
			if wr := v.OAuthWindowRefused; wr == nil || !wr.At.After(at) {
				return fmt.Errorf("refused window %+v", wr)
			}
			return nil
		})
		return v
	}
	v := refused(time.Time{})
	if v.State != store.StateAuthorizing || v.OAuthWindows != 1 || v.OAuthWindowRefused.Window != 2 ||
		!strings.Contains(v.OAuthWindowRefused.Reason, "409") || strings.Contains(v.OAuthWindowRefused.Reason, "http") {
		t.Fatalf("after MX refused window 2: %+v %+v", v, v.OAuthWindowRefused)
	}
	calls := f.Sim.Stats().Calls["requestOAuthWindowURI"]
	refused(v.OAuthWindowRefused.At) // asked again: MX is asked again
	if again := f.Sim.Stats().Calls["requestOAuthWindowURI"]; again <= calls {
		t.Fatalf("asking again made no MX call (%d, then %d)", calls, again)
	}
}
