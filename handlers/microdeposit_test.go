package handlers_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// MDAccount is an account the simulator deposits into (3333…, MX's
// integration environment's rule) at MX Bank's routing number.
var MDAccount = tasks.Account{AccountNumber: "333312345", RoutingNumber: "091000019", AccountType: "CHECKING",
	FirstName: "Dave", LastName: "Doe", Email: "dave@example.com"}

// mdFleet is a fleet whose simulator makes micro-deposits in 600 ms and
// whose jobs poll them every 200 ms.
func mdFleet(t *testing.T, tune func(*fleet.Config), timing mxsim.MicrodepositTiming) *testenv.Fleet {
	t.Helper()
	return testenv.NewFleet(t, func(c *fleet.Config) {
		c.MicrodepositPoll, c.MicrodepositDeadline = 200*time.Millisecond, time.Minute
		if tune != nil {
			tune(c)
		}
	}, mxsim.WithMicrodepositTiming(timing))
}

var mdFast = mxsim.MicrodepositTiming{Refresh: 300 * time.Millisecond, Deposit: 300 * time.Millisecond}

// submitMD starts a micro-deposit job and waits until it waits for the
// amounts; it returns the job and the amounts the simulator deposited.
func submitMD(t *testing.T, ctx context.Context, f *testenv.Fleet, id string) (*store.View, [2]string) {
	t.Helper()
	if _, created, err := f.Client.Microdeposit(ctx, tasks.MicrodepositRequest{ID: id, User: tasks.User{ID: "user-" + id}, Account: MDAccount}); err != nil || !created {
		t.Fatalf("submit %s: created %v, %v", id, created, err)
	}
	j := testenv.WaitState(t, ctx, f.Client, id, store.StateChallenged)
	if !strings.HasPrefix(j.MemberGUID, "MIC-") || j.ConnectionStatus != "DEPOSITED" || len(j.Challenges) != 2 ||
		j.Challenges[0].GUID != job.AmountGUID1 || j.Challenges[1].GUID != job.AmountGUID2 {
		t.Fatalf("parked micro-deposit job: %+v", j)
	}
	a, b, ok := f.Sim.MicrodepositAmounts(j.MemberGUID)
	if !ok {
		t.Fatalf("the simulator has no micro-deposit %s", j.MemberGUID)
	}
	return j, [2]string{fmt.Sprintf("%.2f", a), fmt.Sprintf("%.2f", b)}
}

// wrong is a pair of amounts that is not the deposits.
func wrong(right [2]string) map[string]string {
	for c := 1; ; c++ {
		w := fmt.Sprintf("0.%02d", c)
		if w != right[0] && w != right[1] {
			return tasks.Amounts(w, w)
		}
	}
}

// waitRound waits until job id waits for the amounts of round n (it may
// run meanwhile, reading MX's verdict on the amounts before).
func waitRound(t *testing.T, ctx context.Context, f *testenv.Fleet, id string, n int) *store.View {
	t.Helper()
	var j *store.View
	testenv.Until(t, ctx, fmt.Sprintf("job %s challenged at round %d", id, n), func() (err error) {
		j, err = f.Client.Status(ctx, id)
		switch {
		case err == nil && j.State == store.StateChallenged && j.Round == n && !j.AnswerPending:
			return nil
		case err == nil && j.State.Terminal():
			t.Fatalf("job %s: want challenged at round %d, got %+v", id, n, j)
		}
		return fmt.Errorf("%+v (%v)", j, err)
	})
	return j
}

// Submit → deposited → a wrong pair (refused, parked again) → the right
// pair → succeeded with the verified numbers. The same request again is
// the same job; a producer is refused amounts that are none.
func TestMicrodepositVerified(t *testing.T) {
	t.Parallel()
	f := mdFleet(t, nil, mdFast)
	ctx := testenv.Context(t, time.Minute)
	const id = "md-ok"
	_, right := submitMD(t, ctx, f, id)
	if _, created, err := f.Client.Microdeposit(ctx, tasks.MicrodepositRequest{ID: id, User: tasks.User{ID: "user-" + id}, Account: MDAccount}); err != nil || created {
		t.Fatalf("the same request again: created %v, %v", created, err)
	}
	if _, err := f.Client.Answer(ctx, id, tasks.Amounts("7", "0.15")); err == nil {
		t.Fatal("an amount without dollars and cents was queued")
	}
	if _, err := f.Client.Answer(ctx, id, wrong(right)); err != nil {
		t.Fatal(err)
	}
	j := waitRound(t, ctx, f, id, 2)
	if j.LastRefusedAnswer == nil || !strings.Contains(j.LastRefusedAnswer.Reason, "incorrect") {
		t.Fatalf("a refused pair is not shown: %+v", j.LastRefusedAnswer)
	}
	if _, err := f.Client.Answer(ctx, id, tasks.Amounts(right[1], right[0])); err != nil { // either order
		t.Fatal(err)
	}
	j, err := f.Client.Wait(ctx, id)
	if err != nil || j.State != store.StateSucceeded || j.ConnectionStatus != "VERIFIED" {
		t.Fatalf("after the right amounts: %+v %v", j, err)
	}
	if r := j.Result; r == nil || len(r.AccountNumbers) != 1 || r.AccountNumbers[0].AccountNumber != MDAccount.AccountNumber ||
		r.AccountNumbers[0].RoutingNumber != MDAccount.RoutingNumber || !r.AccountNumbers[0].PassedValidation {
		t.Fatalf("result: %+v", j.Result)
	}
	if n := f.Sim.Stats().Calls["createMicrodeposit"]; n > 1 {
		t.Errorf("%d micro-deposits created, want 1", n)
	}
}

// Wrong amounts past MX's limit: PREVENTED, microdeposit_prevented.
func TestMicrodepositWrongAmountsPrevented(t *testing.T) {
	t.Parallel()
	f := mdFleet(t, nil, mdFast)
	ctx := testenv.Context(t, time.Minute)
	const id = "md-wrong"
	_, right := submitMD(t, ctx, f, id)
	for round := 1; round <= mxsim.MicrodepositAttempts; round++ {
		waitRound(t, ctx, f, id, round)
		if _, err := f.Client.Answer(ctx, id, wrong(right)); err != nil {
			t.Fatal(err)
		}
	}
	j, err := f.Client.Wait(ctx, id)
	if err != nil || j.State != store.StateFailed || j.Error == nil || j.Error.Code != job.CodeMicrodepositPrevented {
		t.Fatalf("after %d wrong pairs: %+v %v", mxsim.MicrodepositAttempts, j, err)
	}
	if _, err := f.Client.Answer(ctx, id, tasks.Amounts(right[0], right[1])); !errors.Is(err, tasks.ErrNotChallenged) {
		t.Fatalf("an answer to an ended job: %v", err)
	}
}

// MX deletes a micro-deposit left waiting (21 days; here 2 s): the parked
// job's check finds it gone, microdeposit_expired. The fleet's own
// deadline while waiting ends it the same way.
func TestMicrodepositExpired(t *testing.T) {
	t.Parallel()
	t.Run("MX deleted it", func(t *testing.T) {
		t.Parallel()
		timing := mdFast
		timing.Expiry = 2 * time.Second
		f := mdFleet(t, nil, timing)
		ctx := testenv.Context(t, time.Minute)
		submitMD(t, ctx, f, "md-gone")
		j, err := f.Client.Wait(ctx, "md-gone")
		if err != nil || j.State != store.StateFailed || j.Error == nil || j.Error.Code != job.CodeMicrodepositExpired {
			t.Fatalf("%+v %v", j, err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		f := mdFleet(t, func(c *fleet.Config) { c.MicrodepositDeadline = 3 * time.Second }, mdFast)
		ctx := testenv.Context(t, time.Minute)
		submitMD(t, ctx, f, "md-late")
		j, err := f.Client.Wait(ctx, "md-late")
		if err != nil || j.State != store.StateFailed || j.Error == nil || j.Error.Code != job.CodeMicrodepositExpired {
			t.Fatalf("%+v %v", j, err)
		}
	})
}

// Redis restarts while the job polls the micro-deposit and again while it
// waits for the amounts: the job goes on to its numbers.
func TestMicrodepositRedisRestart(t *testing.T) {
	t.Parallel()
	f := mdFleet(t, nil, mxsim.MicrodepositTiming{Refresh: time.Second, Deposit: time.Second})
	ctx := testenv.Context(t, 2*time.Minute)
	const id = "md-restart"
	if _, _, err := f.Client.Microdeposit(ctx, tasks.MicrodepositRequest{ID: id, User: tasks.User{ID: "user-" + id}, Account: MDAccount}); err != nil {
		t.Fatal(err)
	}
	testenv.WaitState(t, ctx, f.Client, id, store.StateRunning)
	f.Redis.Stop(t)
	// Not a wait for a condition: the outage's length is what is tested
	// (Redis away across the job's polls of the micro-deposit).
	time.Sleep(time.Second)
	f.Redis.Start(t)
	j := testenv.WaitState(t, ctx, f.Client, id, store.StateChallenged)
	a, b, _ := f.Sim.MicrodepositAmounts(j.MemberGUID)
	f.Redis.Stop(t)
	time.Sleep(500 * time.Millisecond) // the outage's length, as above
	f.Redis.Start(t)
	if _, err := f.Client.Answer(ctx, id, tasks.Amounts(fmt.Sprintf("%.2f", a), fmt.Sprintf("%.2f", b))); err != nil {
		t.Fatal(err)
	}
	if j, err := f.Client.Wait(ctx, id); err != nil || j.State != store.StateSucceeded {
		t.Fatalf("after the restarts: %+v %v", j, err)
	}
}

// Bad accounts are refused at submit, never quoting the numbers.
func TestMicrodepositRefusedAtSubmit(t *testing.T) {
	t.Parallel()
	f := mdFleet(t, nil, mdFast)
	ctx := testenv.Context(t, time.Minute)
	for name, mod := range map[string]func(*tasks.Account){
		"routing checksum":  func(a *tasks.Account) { a.RoutingNumber = "091000018" },
		"routing length":    func(a *tasks.Account) { a.RoutingNumber = "09100001" },
		"account letters":   func(a *tasks.Account) { a.AccountNumber = "3333x" },
		"account too long":  func(a *tasks.Account) { a.AccountNumber = "333312345678901234" },
		"account type":      func(a *tasks.Account) { a.AccountType = "LOAN" },
		"email":             func(a *tasks.Account) { a.Email = "dave at example" },
		"no account number": func(a *tasks.Account) { a.AccountNumber = "" },
	} {
		acct := MDAccount
		mod(&acct)
		_, _, err := f.Client.Microdeposit(ctx, tasks.MicrodepositRequest{ID: "md-bad", User: tasks.User{ID: "u"}, Account: acct})
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, secret := range []string{acct.AccountNumber, acct.RoutingNumber} {
			if secret != "" && strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error quotes a number: %v", name, err)
			}
		}
	}
	if _, err := f.Client.Status(ctx, "md-bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused job was recorded: %v", err)
	}
}

// mdTune is the micro-deposit timing of mdFleet, for other fleets.
func mdTune(c *fleet.Config) {
	c.MicrodepositPoll, c.MicrodepositDeadline = 200*time.Millisecond, time.Minute
}

// leakMD runs a micro-deposit job for the secret scan (leak_test.go) with
// values unique to the run (tg): a wrong pair of amounts, then the right
// one; and an answer to the ended job, archived with its payload. It
// gives every secret it used to add; amounts are short, so they are
// looked for as JSON strings ("0.07").
//
// With fallback, the job is a verify job at an institution without
// instant verification, the account its fallback (fallback_test.go).
func leakMD(t *testing.T, ctx context.Context, f *testenv.Fleet, tg string, add func(v, what string), fallback bool) *store.View {
	t.Helper()
	id := "leak-microdeposit"
	if fallback {
		id = "leak-fallback"
	}
	digits := fmt.Sprintf("%08d", 10_000_000+int(time.Now().UnixNano()%89_999_999))
	routing := digits[:8]
	for c := '0'; c <= '9'; c++ {
		if tasks.ABAValid(routing+string(c)) && routing+string(c) != "021000021" {
			routing += string(c)
			break
		}
	}
	acct := tasks.Account{AccountNumber: "3333" + digits + "1", RoutingNumber: routing, AccountType: "SAVINGS",
		FirstName: "Dave" + tg, LastName: "Doe" + tg, Email: "dave+" + tg + "@example.com"}
	for what, v := range map[string]string{"account number": acct.AccountNumber, "routing number": acct.RoutingNumber,
		"first name": acct.FirstName, "last name": acct.LastName, "email": acct.Email} {
		add(v, "micro-deposit "+what)
	}
	var err error
	if fallback {
		r := noVerify(id, true)
		r.Fallback = &acct
		r.Member.Credentials["password"] = "correct+" + tg // any password the simulator does not list connects
		add(r.Member.Credentials["password"], "fallback job's password")
		_, _, err = f.Client.Submit(ctx, store.KindVerify, r)
	} else {
		_, _, err = f.Client.Microdeposit(ctx, tasks.MicrodepositRequest{ID: id, User: tasks.User{ID: "user-" + id}, Account: acct})
	}
	if err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, id, store.StateChallenged)
	if fallback && j.Via != store.KindMicrodeposit {
		t.Fatalf("the fallback job did not fall back: %+v", j)
	}
	a, b, _ := f.Sim.MicrodepositAmounts(j.MemberGUID)
	right := [2]string{fmt.Sprintf("%.2f", a), fmt.Sprintf("%.2f", b)}
	bad := wrong(right)
	for _, v := range []string{right[0], right[1], bad[job.AmountGUID1]} {
		add(`"`+v+`"`, "micro-deposit amount")
	}
	if _, err := f.Client.Answer(ctx, id, bad); err != nil {
		t.Fatal(err)
	}
	waitRound(t, ctx, f, id, 2)
	if _, err := f.Client.Answer(ctx, id, tasks.Amounts(right[0], right[1])); err != nil {
		t.Fatal(err)
	}
	j, err = f.Client.Wait(ctx, id)
	if err != nil || j.State != store.StateSucceeded {
		t.Fatalf("micro-deposit job: %+v %v", j, err)
	}
	task, err := tasks.NewAnswerTask(f.Keys, tasks.Answer{JobID: id, AnswerID: "late", Round: 2,
		Answers: []mx.ChallengeAnswer{{GUID: job.AmountGUID1, Value: right[0]}, {GUID: job.AmountGUID2, Value: right[1]}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	archived(t, f, tasks.QueueAnswers, "answer:"+id+":late")
	return j
}

// A start that dies after MX created the micro-deposit, before the record
// knew: run again, it finds that micro-deposit in the user's list (same
// account, created since the job, followed by no other job) and creates
// none.
func TestMicrodepositStartFindsTheOneItCreated(t *testing.T) {
	t.Parallel()
	f := mdFleet(t, nil, mdFast)
	ctx := testenv.Context(t, time.Minute)
	const id = "md-rerun"
	f.StopWorker()
	if _, _, err := f.Client.Microdeposit(ctx, tasks.MicrodepositRequest{ID: id, User: tasks.User{ID: "user-" + id}, Account: MDAccount}); err != nil {
		t.Fatal(err)
	}
	u, md := diedAfterMD(t, ctx, f, id, nil)
	f.StartWorker(t)
	j := testenv.WaitState(t, ctx, f.Client, id, store.StateChallenged)
	if j.MemberGUID != md.GUID || j.UserGUID != u.GUID {
		t.Fatalf("the job follows %s of %s, want %s of %s", j.MemberGUID, j.UserGUID, md.GUID, u.GUID)
	}
	if n := f.Sim.Stats().Calls["createMicrodeposit"]; n != 1 {
		t.Errorf("%d micro-deposits created, want 1", n)
	}
}

// diedAfterMD does at MX what a start of job id that died did before it
// recorded anything: the user of id "user-"+id, what more makes (a
// member), the micro-deposit of MDAccount.
func diedAfterMD(t *testing.T, ctx context.Context, f *testenv.Fleet, id string, more func(c *mx.Client, user string)) (*mx.User, *mx.Microdeposit) {
	t.Helper()
	mxc, err := mx.New(mx.WithBaseURL(f.SimURL), mx.WithCredentials(mxsim.DefaultClientID, mxsim.DefaultAPIKey))
	if err != nil {
		t.Fatal(err)
	}
	u, err := mxc.CreateUser(ctx, mx.UserCreate{ID: "user-" + id})
	if err != nil {
		t.Fatal(err)
	}
	if more != nil {
		more(mxc, u.GUID)
	}
	md, err := mxc.CreateMicrodeposit(ctx, u.GUID, mx.MicrodepositCreate{AccountNumber: MDAccount.AccountNumber,
		RoutingNumber: MDAccount.RoutingNumber, AccountType: MDAccount.AccountType})
	if err != nil {
		t.Fatal(err)
	}
	return u, md
}

// Every micro-deposit scenario of the simulator ends as it says, in both
// MX versions.
func TestEveryMicrodepositScenario(t *testing.T) {
	t.Parallel()
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			t.Parallel()
			f := mdFleet(t, func(c *fleet.Config) { c.MXAPIVersion = string(version) }, mdFast)
			ctx := testenv.Context(t, time.Minute)
			for _, sc := range mxsim.MicrodepositScenarios() {
				t.Run(sc.Name, func(t *testing.T) {
					t.Parallel()
					j, err := scenario.RunMicrodeposit(ctx, f.Client, sc, "e2e-"+sc.Name, "user-"+sc.Name, f.Sim.MicrodepositAmounts)
					if err != nil {
						t.Fatal(err)
					}
					if err := scenario.Check(sc, j); err != nil {
						t.Fatal(err)
					}
				})
			}
		})
	}
}
