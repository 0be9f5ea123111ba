package crashtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/testenv"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// A worker killed while it sends a micro-deposit job's amounts to MX (no
// graceful shutdown): once the answer task's lease runs out another worker
// runs it again, finds out from MX whether the amounts got there, and the
// job ends verified, with one micro-deposit created.
func TestWorkerKilledMidMicrodepositVerify(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about a minute for asynq's lease recovery")
	}
	t.Parallel()
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.MicrodepositPoll = 200 * time.Millisecond },
		mxsim.WithMicrodepositTiming(mxsim.MicrodepositTiming{Refresh: 300 * time.Millisecond, Deposit: 300 * time.Millisecond}))
	f.StopWorker()
	ctx := testenv.Context(t, 3*time.Minute)
	child, logs := startChild(t, f, "MXFLEET_MICRODEPOSIT_POLL=200ms")
	const id = "md-crash"
	acct := tasks.Account{AccountNumber: "333399999", RoutingNumber: "091000019", AccountType: "CHECKING"}
	if _, _, err := f.Client.Microdeposit(ctx, tasks.MicrodepositRequest{ID: id, User: tasks.User{ID: "user-" + id}, Account: acct}); err != nil {
		t.Fatal(err)
	}
	j := testenv.WaitState(t, ctx, f.Client, id, store.StateChallenged)
	a, b, _ := f.Sim.MicrodepositAmounts(j.MemberGUID)
	f.Sim.SetFaults(mxsim.Faults{Latency: 3 * time.Second})
	if _, err := f.Client.Answer(ctx, id, tasks.Amounts(fmt.Sprintf("%.2f", a), fmt.Sprintf("%.2f", b))); err != nil {
		t.Fatal(err)
	}
	for { // until the child has claimed the round: it is inside the verify call
		if r, err := f.Store.Get(ctx, id); err == nil && r.ResumeClaim != "" || ctx.Err() != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	f.Sim.SetFaults(mxsim.Faults{})
	if j, _ := f.Client.Status(ctx, id); j.State.Terminal() {
		t.Fatalf("job ended before the kill: %+v", j)
	}
	f.StartWorker(t)
	j, err := f.Client.Wait(ctx, id)
	if err != nil || j.State != store.StateSucceeded || j.Result == nil || len(j.Result.AccountNumbers) != 1 ||
		j.Result.AccountNumbers[0].AccountNumber != acct.AccountNumber {
		t.Fatalf("after the kill: %+v %v\nchild log:\n%s", j, err, logs.String())
	}
	if n := f.Sim.Stats().Calls["createMicrodeposit"]; n != 1 {
		t.Errorf("%d micro-deposits created, want 1", n)
	}
}
