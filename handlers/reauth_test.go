package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/mxspec"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// denied runs the denied scenario (password UNAUTHORIZED at mxbank) as
// job id for partner user userID and returns the failed job.
func denied(t *testing.T, ctx context.Context, f *testenv.Fleet, kind store.Kind, id, userID string) *store.View {
	t.Helper()
	sc := testenv.Scenario(t, "denied")
	j, err := scenario.Run(ctx, f.Client, sc, kind, id, userID, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := scenario.Check(sc, j); err != nil {
		t.Fatal(err)
	}
	if j.MemberGUID == "" || !strings.Contains(j.Error.Message, "member.guid "+j.MemberGUID+" and member.credentials") {
		t.Fatalf("denied job's error does not say how to re-authenticate member %q: %+v", j.MemberGUID, j.Error)
	}
	return j
}

// reauth submits a re-authentication of member for partner user userID.
func reauth(t *testing.T, ctx context.Context, f *testenv.Fleet, kind store.Kind, id, userID, member string, creds map[string]string) *store.View {
	t.Helper()
	v, _, err := f.Client.Submit(ctx, kind, tasks.Request{ID: id, User: tasks.User{ID: userID},
		Member: tasks.Member{GUID: member, Credentials: creds}})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// A denied job, then a re-authentication of its member with MX Bank's
// good password: the second job succeeds on the same member guid, and
// the simulator saw one member created and its credentials updated once.
// In v20111101 the update skips aggregation and verify or identify
// follows; in v20250224 the update's own aggregation runs first (MX
// cannot skip it) and the job's MX job starts after it, so MX ran one job
// more. Every MX call is checked against the version's spec.
func TestReauthenticationEndToEnd(t *testing.T) {
	checkedFleets(t, func(t *testing.T, ctx context.Context, f *testenv.Fleet, checker *mxspec.Checker, version mx.Version) {
		for _, kind := range []store.Kind{store.KindVerify, store.KindIdentify} {
			user := "user-reauth-" + string(kind)
			first := denied(t, ctx, f, kind, "denied-"+string(kind), user)
			f.Sim.ResetStats()
			id := "reauth-" + string(kind)
			reauth(t, ctx, f, kind, id, user, first.MemberGUID, map[string]string{"Username": "mxuser", "Password": "correct"})
			j, err := f.Client.Wait(ctx, id)
			if err != nil || j.State != store.StateSucceeded || j.MemberGUID != first.MemberGUID || j.UserGUID != first.UserGUID {
				t.Fatalf("%s: re-authentication of %s: %+v %v", kind, first.MemberGUID, j, err)
			}
			if j.Result == nil || (kind == store.KindVerify && len(j.Result.AccountNumbers) == 0) || (kind == store.KindIdentify && len(j.Result.AccountOwners) == 0) {
				t.Fatalf("%s: no results: %+v", kind, j.Result)
			}
			st := f.Sim.Stats()
			if st.Calls["createMember"] != 0 || st.Calls["updateMember"] != 1 {
				t.Fatalf("%s: MX calls of the re-authentication: %v", kind, st.Calls)
			}
			// jobs on the member since it was created: the denied one,
			// (v20250224) the update's aggregation, the re-auth's own
			want := map[mx.Version]int{mx.V20111101: 2, mx.V20250224: 3}[version]
			if st.Jobs[first.MemberGUID] != want {
				t.Fatalf("%s: MX jobs on %s: %d, want %d", kind, first.MemberGUID, st.Jobs[first.MemberGUID], want)
			}
			if rec := f.Record(t, ctx, id); !rec.Reauth || !rec.CredsUpdated || rec.Prelude {
				t.Fatalf("%s: record's re-authentication progress: %+v", kind, rec.Record)
			}
		}
		if n := len(membersOf(t, ctx, f, version)); n != 2 {
			t.Fatalf("members at MX: %d, want 2 (one per user)", n)
		}
		checker.Report(t, "readMember", "updateMember", "readMemberStatus")
	})
}

// checkedFleets runs fn in parallel subtests, one per MX version, each on
// a fleet of that version whose every MX call is checked against its spec.
func checkedFleets(t *testing.T, fn func(t *testing.T, ctx context.Context, f *testenv.Fleet, checker *mxspec.Checker, version mx.Version)) {
	t.Parallel()
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			t.Parallel()
			f, checker := testenv.NewCheckedFleet(t, func(c *fleet.Config) { c.MXAPIVersion = string(version) })
			fn(t, testenv.Context(t, time.Minute), f, checker, version)
		})
	}
}

// membersOf lists every member of the test's users at the simulator.
func membersOf(t *testing.T, ctx context.Context, f *testenv.Fleet, version mx.Version) []mx.Member {
	t.Helper()
	c, err := mx.New(mx.WithBaseURL(f.SimURL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey), mx.WithVersion(version))
	if err != nil {
		t.Fatal(err)
	}
	var out []mx.Member
	for u, err := range c.Users(ctx, "", "") {
		if err != nil {
			t.Fatal(err)
		}
		ms, err := mx.Collect(c.Members(ctx, u.GUID))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ms...)
	}
	return out
}

// In v20250224 the update's aggregation meets MFA (MX Bank's password
// "challenge"): the job parks on it, the answer resumes it, and once it
// connects the job's verify runs (and is challenged again: the simulator
// challenges every job on that password); same member throughout.
func TestReauthenticationThroughMFA(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	first := denied(t, ctx, f, store.KindVerify, "mfa-denied", "user-mfa")
	reauth(t, ctx, f, store.KindVerify, "mfa-reauth", "user-mfa", first.MemberGUID, map[string]string{"username": "mxuser", "password": "challenge"})
	for round := 1; ; round++ {
		j, err := f.Client.Watch(ctx, "mfa-reauth", func(j *store.View) bool {
			return j.State != store.StateChallenged || j.Round < round || j.AnswerPending // watch on
		})
		if err != nil {
			t.Fatal(err)
		}
		if j.State != store.StateChallenged {
			if j.State != store.StateSucceeded || j.MemberGUID != first.MemberGUID || round < 2 {
				t.Fatalf("after %d rounds: %+v", round-1, j)
			}
			break
		}
		if _, err := f.Client.Answer(ctx, j.ID, scenario.Answers(j.Challenges, "correct")); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.Sim.Stats(); st.Calls["createMember"] != 1 || st.Calls["updateMember"] != 1 {
		t.Fatalf("MX calls: %v", st.Calls)
	}
}

// A re-authentication whose credentials do not map to the member's
// institution's fields fails unknown_credential, naming the fields, before
// any update; one naming a member MX does not have for the user fails
// unknown_member. Neither sends MX credentials.
func TestReauthenticationRefused(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	first := denied(t, ctx, f, store.KindVerify, "refused-denied", "user-refused")
	for _, c := range []struct {
		id, member string
		creds      map[string]string
		code, says string
	}{
		{"refused-pin", first.MemberGUID, map[string]string{"pin": "1234"}, job.CodeUnknownCredential, "fields: Username (LOGIN), Password"},
		{"refused-missing", first.MemberGUID, map[string]string{"username": "mxuser"}, job.CodeMissingCredential, "Password"},
		{"refused-member", "MBR-00000000-0000-0000-0000-000000000000", map[string]string{"username": "mxuser", "password": "correct"}, job.CodeUnknownMember, "MBR-00000000"},
	} {
		reauth(t, ctx, f, store.KindVerify, c.id, "user-refused", c.member, c.creds)
		j, err := f.Client.Wait(ctx, c.id)
		if err != nil || j.State != store.StateFailed || j.Error == nil || j.Error.Code != c.code || !strings.Contains(j.Error.Message, c.says) {
			t.Fatalf("%s: %+v %v, want %s saying %q", c.id, j, err, c.code, c.says)
		}
		if strings.Contains(j.Error.Message, "1234") {
			t.Fatalf("%s: a credential value in the error: %s", c.id, j.Error.Message)
		}
	}
	if n := f.Sim.Stats().Calls["updateMember"]; n != 0 {
		t.Fatalf("updateMember called %d times", n)
	}
}

// The start of a re-authentication run, then run again as if the worker
// had died after MX took the credentials but before the record said so
// (the record put back as it was): the second update gives the member the
// same credentials again, which is harmless, and no member is created.
func TestReauthenticationStartRunTwice(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	ctx := testenv.Context(t, time.Minute)
	first := denied(t, ctx, f, store.KindVerify, "twice-denied", "user-twice")
	f.StopWorker()
	creds := map[string]string{"username": "mxuser", "password": "correct"}
	reauth(t, ctx, f, store.KindVerify, "twice", "user-twice", first.MemberGUID, creds)
	before := f.Record(t, ctx, "twice")
	h, _ := f.Sweeper(t, time.Hour)
	start, err := tasks.NewJobTask(f.Keys, store.KindVerify, tasks.Job{JobID: "twice", User: tasks.User{ID: "user-twice"},
		Member: tasks.Member{GUID: first.MemberGUID, Credentials: creds}})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.Mux().ProcessTask(ctx, start); err != nil {
		t.Fatal(err)
	}
	if rec := f.Record(t, ctx, "twice"); rec.State != store.StateRunning || !rec.CredsUpdated || rec.Triggered != 1 {
		t.Fatalf("after the start: %+v", rec.Record)
	}
	if _, err := f.Store.Update(ctx, "twice", func(j *store.Job) error { j.Record = before.Record; return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.Mux().ProcessTask(ctx, start); err != nil {
		t.Fatal(err)
	}
	if err := h.Mux().ProcessTask(ctx, start); err != nil { // recorded now: dropped
		t.Fatal(err)
	}
	f.StartWorker(t)
	j, err := f.Client.Wait(ctx, "twice")
	if err != nil || j.State != store.StateSucceeded || j.MemberGUID != first.MemberGUID {
		t.Fatalf("job: %+v %v", j, err)
	}
	st := f.Sim.Stats()
	if st.Calls["createMember"] != 1 || st.Calls["updateMember"] != 2 {
		t.Fatalf("MX calls: %v", st.Calls)
	}
}

// A re-authentication of a member on which another MX job runs (here a
// verify parked on MFA at MX, started outside the fleet): MX's 409 to the
// update (v20250224) or to the identify (v20111101) is a wait, not a
// failure; once that job ends the re-authentication goes on and succeeds
// on the same member.
func TestReauthenticationWaitsForMXsJob(t *testing.T) {
	t.Parallel()
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			t.Parallel()
			f := testenv.NewFleet(t, func(c *fleet.Config) { c.MXAPIVersion = string(version) })
			ctx := testenv.Context(t, time.Minute)
			c, err := mx.New(mx.WithBaseURL(f.SimURL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey), mx.WithVersion(version))
			if err != nil {
				t.Fatal(err)
			}
			u, err := c.CreateUser(ctx, mx.UserCreate{ID: "busy"})
			if err != nil {
				t.Fatal(err)
			}
			create := mx.MemberCreate{InstitutionCode: "mxbank", Credentials: mxbankCredentials(t, ctx, c, "challenge"), SkipAggregation: version == mx.V20111101}
			if version == mx.V20250224 {
				create.Products = []string{mx.ProductAccountVerification}
			}
			m, err := c.CreateMember(ctx, u.GUID, create)
			if err != nil {
				t.Fatal(err)
			}
			if version == mx.V20111101 {
				if _, err := c.VerifyMember(ctx, u.GUID, m.GUID); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := f.Client.Identify(ctx, tasks.Request{ID: "busy", User: tasks.User{GUID: u.GUID},
				Member: tasks.Member{GUID: m.GUID, Credentials: map[string]string{"username": "mxuser", "password": "correct"}}}); err != nil {
				t.Fatal(err)
			}
			// MX refuses the re-authentication while the verify waits on MFA
			refusedOp := map[mx.Version]string{mx.V20111101: "identifyMember", mx.V20250224: "updateMember"}[version]
			testenv.Until(t, ctx, "the re-authentication reaching MX twice", func() error {
				if calls := f.Sim.Stats().Members[m.GUID]; calls[refusedOp] < 2 {
					return fmt.Errorf("MX calls %v", calls)
				}
				return nil
			})
			if rec := f.Record(t, ctx, "busy"); rec.State.Terminal() {
				t.Fatalf("MX's 409 ended the job: %+v", rec.Record)
			}
			chs, err := mx.Collect(c.Challenges(ctx, u.GUID, m.GUID))
			if err != nil || len(chs) == 0 {
				t.Fatalf("challenges: %v %v", chs, err)
			}
			if _, err := c.ResumeMember(ctx, u.GUID, m.GUID, []mx.ChallengeAnswer{{GUID: chs[0].GUID, Value: "correct"}}); err != nil {
				t.Fatal(err)
			}
			j, err := f.Client.Wait(ctx, "busy")
			if err != nil || j.State != store.StateSucceeded || j.MemberGUID != m.GUID || len(j.Result.AccountOwners) == 0 {
				t.Fatalf("re-authentication after MX's job: %+v %v", j, err)
			}
			if n := f.Sim.Stats().Calls["createMember"]; n != 1 {
				t.Fatalf("createMember: %d", n)
			}
		})
	}
}

// mxbankCredentials are MX Bank's username mxuser and password, by the
// field guids MX gives, for members a test creates at MX itself.
func mxbankCredentials(t *testing.T, ctx context.Context, c *mx.Client, password string) []mx.CredentialValue {
	t.Helper()
	return institutionCredentials(t, ctx, c, "mxbank", password)
}

// institutionCredentials are the login values mxuser and password for
// the fields of a simulator institution.
func institutionCredentials(t *testing.T, ctx context.Context, c *mx.Client, code, password string) []mx.CredentialValue {
	t.Helper()
	fields, err := mx.Collect(c.InstitutionCredentials(ctx, code))
	if err != nil {
		t.Fatal(err)
	}
	var creds []mx.CredentialValue
	for _, fl := range fields {
		creds = append(creds, mx.CredentialValue{GUID: fl.GUID, Value: map[string]string{"LOGIN": "mxuser", "PASSWORD": password}[fl.FieldName]})
	}
	return creds
}

// jobTasks are the tasks, in every queue and in the lists given, whose id
// names job id (its start, polls, triggers, expiries, answers).
func jobTasks(f *testenv.Fleet, id string, lists ...func(*asynq.Inspector, string, ...asynq.ListOption) ([]*asynq.TaskInfo, error)) []*asynq.TaskInfo {
	var out []*asynq.TaskInfo
	for q := range tasks.Queues {
		for _, list := range lists {
			tis, _ := list(f.Inspector, q)
			for _, ti := range tis {
				if strings.Contains(ti.ID, id) {
					out = append(out, ti)
				}
			}
		}
	}
	return out
}

// The inspector's task lists, for jobTasks.
var (
	pendingTasks   = (*asynq.Inspector).ListPendingTasks
	activeTasks    = (*asynq.Inspector).ListActiveTasks
	scheduledTasks = (*asynq.Inspector).ListScheduledTasks
	retryTasks     = (*asynq.Inspector).ListRetryTasks
	archivedTasks  = (*asynq.Inspector).ListArchivedTasks
	completedTasks = (*asynq.Inspector).ListCompletedTasks
)

// A re-authentication giving a denied member the credentials of the
// user's other member at the same institution: MX answers the update 409,
// its duplicate member (MX's "Creating a New Member" guide), and the job
// fails duplicate_member at once, naming that other member: one update,
// one listing of the user's members, no wait, no retry, and no task of the
// job left. Both MX versions; every MX call is checked against the spec.
func TestReauthenticationDuplicateMember(t *testing.T) {
	checkedFleets(t, func(t *testing.T, ctx context.Context, f *testenv.Fleet, checker *mxspec.Checker, version mx.Version) {
		user := "user-dup"
		first := denied(t, ctx, f, store.KindVerify, "dup-denied", user)
		connected, err := scenario.Run(ctx, f.Client, testenv.Scenario(t, "success"), store.KindVerify, "dup-connected", user, nil)
		if err != nil || connected.State != store.StateSucceeded || connected.MemberGUID == first.MemberGUID {
			t.Fatalf("the user's connected member: %+v %v", connected, err)
		}
		f.Sim.ResetStats()
		jobs := f.Sim.Stats().Jobs[first.MemberGUID] // since the member was created
		id := "dup-reauth-" + string(version)
		reauth(t, ctx, f, store.KindIdentify, id, user, first.MemberGUID, map[string]string{"username": "mxuser", "password": "correct"})
		j, err := f.Client.Wait(ctx, id)
		if err != nil || j.State != store.StateFailed || j.Error == nil || j.Error.Code != job.CodeDuplicateMember || j.MemberGUID != first.MemberGUID {
			t.Fatalf("re-authentication with the other member's credentials: %+v %v", j, err)
		}
		if !strings.Contains(j.Error.Message, "member "+connected.MemberGUID+" at mxbank already has those credentials") ||
			!strings.Contains(j.Error.Message, first.MemberGUID) || strings.Contains(j.Error.Message, "correct") {
			t.Fatalf("message: %s", j.Error.Message)
		}
		st := f.Sim.Stats()
		if st.Calls["updateMember"] != 1 || st.Calls["listMembers"] != 1 || st.Calls["identifyMember"] != 0 || st.Calls["createMember"] != 0 || st.Jobs[first.MemberGUID] != jobs {
			t.Fatalf("MX calls: %v, jobs %v", st.Calls, st.Jobs)
		}
		testenv.Until(t, ctx, "the start finishing", func() error {
			if active := jobTasks(f, id, activeTasks); len(active) > 0 {
				return fmt.Errorf("%d tasks active", len(active))
			}
			return nil
		})
		if left := jobTasks(f, id, pendingTasks, scheduledTasks, retryTasks); len(left) > 0 {
			t.Fatalf("tasks left for the failed job: %s (%s)", left[0].ID, left[0].State)
		}
		if rec := f.Record(t, ctx, id); rec.CredsUpdated || rec.Triggered != 0 {
			t.Fatalf("record: %+v", rec.Record)
		}
		checker.Report(t, "updateMember", "listMembers")
	})
}
