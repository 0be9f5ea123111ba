package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// mxfleet microdeposit --wait shows the command that answers the amounts;
// mxfleet answer --amounts answers them: a wrong pair leaves the job
// waiting for another, the right one ends it with the verified numbers.
func TestMicrodepositCLI(t *testing.T) {
	f, ctx := mdCLIFleet(t)
	args := []string{"microdeposit", "--job-id", "md-cli", "--user-id", "u-md-cli", "--account-number", "333377777",
		"--routing-number", "091000019", "--account-type", "savings", "--first-name", "Dave", "--email", "dave@example.com"}
	if r := cli(ctx, append(args[:len(args):len(args)], "--routing-number", "091000018")...); r.code != 2 || !strings.Contains(r.err, "routing_number") {
		t.Fatalf("a bad routing number: %+v", r)
	}
	stderr, done := cliAsync(ctx, append(args, "--wait")...)
	hint := "answer with: mxfleet answer md-cli --amounts A,B"
	for !strings.Contains(stderr.String(), hint) {
		select {
		case r := <-done:
			t.Fatalf("microdeposit --wait ended before the amounts were asked for: %+v", r)
		case <-time.After(20 * time.Millisecond):
		}
	}
	j, err := f.Client.Status(ctx, "md-cli")
	if err != nil {
		t.Fatal(err)
	}
	a, b, _ := f.Sim.MicrodepositAmounts(j.MemberGUID)
	if r := cli(ctx, "answer", "md-cli", "--amounts", "0.7"); r.code != 2 {
		t.Errorf("one amount: %+v", r)
	}
	if r := cli(ctx, "answer", "md-cli", "--amounts", "7,15"); r.code == 0 {
		t.Errorf("amounts without dollars: %+v", r)
	}
	wrongPair := "0.01,0.01"
	if a == 0.01 || b == 0.01 {
		wrongPair = "0.02,0.02"
	}
	if r := cli(ctx, "answer", "md-cli", "--amounts", wrongPair); r.code != 0 {
		t.Fatalf("a wrong pair: %+v", r)
	}
	testenv.Until(t, ctx, "round 2 (or the job ending)", func() error {
		j, err = f.Client.Status(ctx, "md-cli")
		if err != nil || j.Round == 2 && !j.AnswerPending || j.State.Terminal() {
			return nil // judged below
		}
		return fmt.Errorf("%+v", j)
	})
	if j.State != store.StateChallenged || j.LastRefusedAnswer == nil {
		t.Fatalf("after a wrong pair: %+v %v", j, err)
	}
	if r := cli(ctx, "answer", "md-cli", "--amounts", fmt.Sprintf("%.2f, %.2f", b, a)); r.code != 0 {
		t.Fatalf("the right pair: %+v", r)
	}
	r := <-done
	if r.code != 0 || !strings.Contains(r.out, "state      succeeded\n") || !strings.Contains(r.err, "round 2") {
		t.Fatalf("microdeposit --wait: %+v", r)
	}
}

// mdCLIFleet is a fleet making micro-deposits in 600 ms, polled every
// 200 ms, that the CLI's commands reach (MXFLEET_REDIS_URL and
// MXFLEET_SECRET_KEYS set); and a minute's context.
func mdCLIFleet(t *testing.T) (*testenv.Fleet, context.Context) {
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.MicrodepositPoll, c.MicrodepositDeadline = 200*time.Millisecond, time.Minute },
		mxsim.WithMicrodepositTiming(mxsim.MicrodepositTiming{Refresh: 300 * time.Millisecond, Deposit: 300 * time.Millisecond}))
	cleanEnv(t)
	t.Setenv("MXFLEET_REDIS_URL", f.Redis.URL)
	t.Setenv("MXFLEET_SECRET_KEYS", f.Config.SecretKeys)
	return f, ctxT(t, time.Minute)
}
