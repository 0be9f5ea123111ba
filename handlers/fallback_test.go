package handlers_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// noVerify is a verify job at the simulator's bank without instant
// verification, with the fallback account when fallback is set.
func noVerify(id string, fallback bool) tasks.Request {
	r := tasks.Request{ID: id, User: tasks.User{ID: "user-" + id},
		Member: tasks.Member{InstitutionCode: "mxbank_noverify", Credentials: map[string]string{"username": "mxuser", "password": "correct"}}}
	if fallback {
		a := MDAccount
		r.Fallback = &a
	}
	return r
}

// A verify job at an institution without instant verification, with a
// fallback account, in both MX versions (v20250224: the create's 201 with
// the product failed; v20111101: verify's 400): it falls back to
// micro-deposits, waits for the amounts, and succeeds with the verified
// numbers, still a verify job that says it went via micro-deposits. The
// same job without the fallback fails unsupported.
func TestVerifyFallsBackToMicrodeposits(t *testing.T) {
	t.Parallel()
	for _, version := range []mx.Version{mx.V20250224, mx.V20111101} {
		t.Run(string(version), func(t *testing.T) {
			t.Parallel()
			f := mdFleet(t, func(c *fleet.Config) { c.MXAPIVersion = string(version) }, mdFast)
			ctx := testenv.Context(t, time.Minute)
			const id = "fb-ok"
			j, _, err := f.Client.Submit(ctx, store.KindVerify, noVerify(id, true))
			if err != nil || j.Fallback != store.KindMicrodeposit || j.Via != "" {
				t.Fatalf("submit: %+v %v", j, err)
			}
			j = testenv.WaitState(t, ctx, f.Client, id, store.StateChallenged)
			if j.Kind != store.KindVerify || j.Via != store.KindMicrodeposit || !strings.HasPrefix(j.MemberGUID, "MIC-") ||
				!strings.HasPrefix(j.InstantMemberGUID, "MBR-") || j.ConnectionStatus != "DEPOSITED" || len(j.Challenges) != 2 {
				t.Fatalf("fallen back, parked: %+v", j)
			}
			a, b, ok := f.Sim.MicrodepositAmounts(j.MemberGUID)
			if !ok {
				t.Fatalf("the simulator has no micro-deposit %s", j.MemberGUID)
			}
			right := [2]string{fmt.Sprintf("%.2f", a), fmt.Sprintf("%.2f", b)}
			if _, err := f.Client.Answer(ctx, id, wrong(right)); err != nil {
				t.Fatal(err)
			}
			waitRound(t, ctx, f, id, 2)
			if _, err := f.Client.Answer(ctx, id, tasks.Amounts(right[0], right[1])); err != nil {
				t.Fatal(err)
			}
			j, err = f.Client.Wait(ctx, id)
			if err != nil || j.State != store.StateSucceeded || j.ConnectionStatus != "VERIFIED" || j.Via != store.KindMicrodeposit {
				t.Fatalf("after the right amounts: %+v %v", j, err)
			}
			if r := j.Result; r == nil || len(r.AccountNumbers) != 1 || r.AccountNumbers[0].AccountNumber != MDAccount.AccountNumber ||
				r.AccountNumbers[0].RoutingNumber != MDAccount.RoutingNumber || !r.AccountNumbers[0].PassedValidation {
				t.Fatalf("result: %+v", j.Result)
			}
			if n := f.Sim.Stats().Calls["createMicrodeposit"]; n != 1 {
				t.Errorf("%d micro-deposits created, want 1", n)
			}

			// Without the fallback: unsupported, as before.
			j, _, err = f.Client.Submit(ctx, store.KindVerify, noVerify("fb-none", false))
			if err != nil {
				t.Fatal(err)
			}
			j, err = f.Client.Wait(ctx, j.ID)
			if err != nil || j.State != store.StateFailed || j.Error == nil || j.Error.Code != job.CodeUnsupported || j.Via != "" {
				t.Fatalf("without the fallback: %+v %v", j, err)
			}
			// At an institution that verifies, the fallback is never taken.
			r := noVerify("fb-unused", true)
			r.Member.InstitutionCode = "mxbank"
			if _, _, err = f.Client.Submit(ctx, store.KindVerify, r); err != nil {
				t.Fatal(err)
			}
			j, err = f.Client.Wait(ctx, "fb-unused")
			if err != nil || j.State != store.StateSucceeded || j.Via != "" || strings.HasPrefix(j.MemberGUID, "MIC-") {
				t.Fatalf("a verify that MX supports: %+v %v", j, err)
			}
			if n := f.Sim.Stats().Calls["createMicrodeposit"]; n != 1 {
				t.Errorf("%d micro-deposits created, want 1", n)
			}
		})
	}
}

// A start that dies after it created the micro-deposit, before the switch
// was recorded, runs again: MX says the same, the start adopts that
// micro-deposit and creates none; once switched, the start run again
// changes nothing.
func TestVerifyFallbackStartRunTwice(t *testing.T) {
	t.Parallel()
	f := mdFleet(t, nil, mdFast)
	ctx := testenv.Context(t, time.Minute)
	const id = "fb-rerun"
	f.StopWorker()
	if _, _, err := f.Client.Submit(ctx, store.KindVerify, noVerify(id, true)); err != nil {
		t.Fatal(err)
	}
	// What the first run did at MX before it died: the user, the member
	// (its product failed) and the micro-deposit.
	var mem *mx.Member
	u, md := diedAfterMD(t, ctx, f, id, func(mxc *mx.Client, user string) {
		var err error
		mem, err = mxc.CreateMember(ctx, user, mx.MemberCreate{InstitutionCode: "mxbank_noverify",
			Credentials: institutionCredentials(t, ctx, mxc, "mxbank_noverify", "correct"),
			Metadata:    "mxfleet job " + id, Products: []string{mx.ProductAccountVerification}})
		if err != nil || !mem.ProductsFailed {
			t.Fatalf("the first run's member: %+v %v", mem, err)
		}
	})
	f.StartWorker(t)
	j := testenv.WaitState(t, ctx, f.Client, id, store.StateChallenged)
	if j.MemberGUID != md.GUID || j.UserGUID != u.GUID || j.Via != store.KindMicrodeposit || j.InstantMemberGUID != mem.GUID {
		t.Fatalf("the job follows %s of %s (via %q), want %s of %s", j.MemberGUID, j.UserGUID, j.Via, md.GUID, u.GUID)
	}
	// The start task again, after the switch: nothing moves.
	rec := f.Record(t, ctx, id)
	task, err := tasks.NewJobTask(f.Keys, store.KindVerify, tasks.Job{JobID: id, User: tasks.User{ID: "user-" + id},
		Member: noVerify(id, true).Member, Fallback: noVerify(id, true).Fallback})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Raw.EnqueueContext(ctx, task); err != nil {
		t.Fatal(err)
	}
	gone(t, f, tasks.QueueJobs, tasks.StartID(id))
	if again := f.Record(t, ctx, id); again.State != rec.State || again.MemberGUID != rec.MemberGUID || again.Round != rec.Round {
		t.Fatalf("the start run again moved the job: %+v, was %+v", again.Record, rec.Record)
	}
	if n := f.Sim.Stats().Calls["createMicrodeposit"]; n != 1 {
		t.Errorf("%d micro-deposits created, want 1", n)
	}
}

// A fallback account is checked at submit as a micro-deposit job's
// (never quoting the numbers), and refused on identify and follow jobs.
func TestVerifyFallbackRefusedAtSubmit(t *testing.T) {
	t.Parallel()
	f := mdFleet(t, nil, mdFast)
	ctx := testenv.Context(t, time.Minute)
	for name, mod := range map[string]func(*tasks.Account){
		"routing checksum":  func(a *tasks.Account) { a.RoutingNumber = "091000018" },
		"account letters":   func(a *tasks.Account) { a.AccountNumber = "3333x" },
		"account type":      func(a *tasks.Account) { a.AccountType = "LOAN" },
		"no account number": func(a *tasks.Account) { a.AccountNumber = "" },
	} {
		r := noVerify("fb-bad", true)
		mod(r.Fallback)
		_, _, err := f.Client.Submit(ctx, store.KindVerify, r)
		if err == nil || !strings.Contains(err.Error(), "fallback_account") {
			t.Errorf("%s: %v", name, err)
			continue
		}
		for _, secret := range []string{r.Fallback.AccountNumber, r.Fallback.RoutingNumber} {
			if secret != "" && strings.Contains(err.Error(), secret) {
				t.Errorf("%s: the error quotes a number: %v", name, err)
			}
		}
	}
	if _, _, err := f.Client.Submit(ctx, store.KindIdentify, noVerify("fb-bad", true)); err == nil || !strings.Contains(err.Error(), "verify jobs only") {
		t.Errorf("identify with a fallback: %v", err)
	}
	follow := noVerify("fb-bad", true)
	follow.Member = tasks.Member{GUID: "MBR-1", Follow: true}
	if _, _, err := f.Client.Submit(ctx, store.KindVerify, follow); err == nil || !strings.Contains(err.Error(), "follow") {
		t.Errorf("follow with a fallback: %v", err)
	}
	if _, err := f.Client.Status(ctx, "fb-bad"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused job was recorded: %v", err)
	}
	// The same id with another fallback is another request (compared
	// value by value while the start task waits: no worker runs).
	f.StopWorker()
	if _, _, err := f.Client.Submit(ctx, store.KindVerify, noVerify("fb-same", true)); err != nil {
		t.Fatal(err)
	}
	other := noVerify("fb-same", true)
	other.Fallback.AccountNumber = "333399999"
	if _, _, err := f.Client.Submit(ctx, store.KindVerify, other); !errors.Is(err, tasks.ErrRequestDiffers) || !strings.Contains(err.Error(), "fallback_account.account_number") {
		t.Errorf("another fallback account under the same id: %v", err)
	}
	if _, _, err := f.Client.Submit(ctx, store.KindVerify, noVerify("fb-same", false)); !errors.Is(err, tasks.ErrRequestDiffers) {
		t.Errorf("no fallback under the same id: %v", err)
	}
}
