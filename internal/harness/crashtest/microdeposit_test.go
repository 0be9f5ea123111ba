package crashtest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// Every micro-deposit scenario, in both MX versions, across a worker
// killed in the middle of it (SIGKILL, no graceful shutdown). Every MX call
// takes 2 s until the kill, so each job is inside one when it comes: the
// kill comes as the first job claims its first pair of amounts, so that
// one is inside the verify call. Once asynq's lease runs out another
// worker takes over, and every scenario ends as it says, with one
// micro-deposit each and no right pair ever reported refused
// (scenario.RunMicrodeposit checks each round).
func TestEveryMicrodepositScenarioAcrossAWorkerKill(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about a minute for asynq's lease recovery")
	}
	t.Parallel()
	for _, version := range mx.Versions {
		t.Run(string(version), func(t *testing.T) {
			t.Parallel()
			f := testenv.NewFleet(t, func(c *fleet.Config) {
				c.MicrodepositPoll, c.MXAPIVersion = 200*time.Millisecond, string(version)
			}, mxsim.WithMicrodepositTiming(mxsim.MicrodepositTiming{Refresh: 300 * time.Millisecond, Deposit: 300 * time.Millisecond}))
			f.StopWorker()
			ctx := testenv.Context(t, 4*time.Minute)
			child, logs := startChild(t, f, "MXFLEET_MICRODEPOSIT_POLL=200ms", "MXFLEET_MX_API_VERSION="+string(version))
			f.Sim.SetFaults(mxsim.Faults{Latency: 2 * time.Second})
			type ended struct {
				j   *store.View
				err error
			}
			scs := mxsim.MicrodepositScenarios()
			done := make([]chan ended, len(scs))
			for i, sc := range scs {
				done[i] = make(chan ended, 1)
				go func() {
					j, err := scenario.RunMicrodeposit(ctx, f.Client, sc, "crash-"+sc.Name, "user-"+sc.Name, f.Sim.MicrodepositAmounts)
					done[i] <- ended{j, err}
				}()
			}
			testenv.Until(t, ctx, "a job claiming its amounts", func() error {
				for _, sc := range scs {
					if r, err := f.Store.Get(ctx, "crash-"+sc.Name); err == nil && r.ResumeClaim != "" {
						return nil
					}
				}
				return fmt.Errorf("none claimed\nchild log:\n%s", logs.String())
			})
			if err := child.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			_ = child.Wait()
			f.Sim.SetFaults(mxsim.Faults{})
			for _, sc := range scs {
				if len(sc.Answers) == 0 {
					continue // it may end at its first read, before the first claim
				}
				if r, err := f.Store.Get(ctx, "crash-"+sc.Name); err != nil || r.State.Terminal() {
					t.Errorf("%s ended before the kill: %+v %v", sc.Name, r, err)
				}
			}
			f.StartWorker(t)
			for i, sc := range scs {
				var e ended
				select {
				case e = <-done[i]:
				case <-ctx.Done():
					t.Fatalf("%s did not end\nchild log:\n%s", sc.Name, logs.String())
				}
				if e.err == nil {
					e.err = scenario.Check(sc, e.j)
				}
				if e.err != nil {
					t.Errorf("%s after the kill: %v (%+v)", sc.Name, e.err, e.j)
				}
			}
			if n := f.Sim.Stats().Calls["createMicrodeposit"]; n != len(scs) {
				t.Errorf("%d micro-deposits created, want %d", n, len(scs))
			}
			if t.Failed() {
				t.Logf("child log:\n%s", logs.String())
			}
		})
	}
}
