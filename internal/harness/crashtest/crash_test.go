package crashtest_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"testing"
	"time"

	"github.com/kelseyhightower/envconfig"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

const childEnv = "MXFLEET_TEST_CHILD_WORKER"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		childWorker()
		return
	}
	os.Exit(m.Run())
}

// childWorker is a worker process configured from the environment, run
// until it is killed.
func childWorker() {
	var cfg fleet.Config
	if err := envconfig.Process(fleet.Prefix, &cfg); err != nil {
		panic(err)
	}
	rdb, err := cfg.OpenRedis()
	if err != nil {
		panic(err)
	}
	w, err := fleet.NewWorker(rdb, cfg, nil, zerolog.New(os.Stderr))
	if err != nil {
		panic(err)
	}
	if err := w.Start(); err != nil {
		panic(err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	<-sig
	w.Shutdown() // as mxfleet worker does on SIGTERM
	os.Exit(0)
}

// startChild runs a worker process on the fleet's Redis and simulator,
// configured through the environment as in production.
func startChild(t *testing.T, f *testenv.Fleet, env ...string) (*exec.Cmd, *testenv.SyncBuffer) {
	t.Helper()
	c := f.Config
	child := exec.Command(os.Args[0], "-test.run=^$")
	child.Env = append(os.Environ(), childEnv+"=1",
		"MXFLEET_REDIS_URL="+f.Redis.URL, "MXFLEET_MX_BASE_URL="+c.MXBaseURL,
		"MXFLEET_SECRET_KEYS="+c.SecretKeys, "MXFLEET_MX_CLIENT_ID="+c.MXClientID, "MXFLEET_MX_API_KEY="+c.MXAPIKey,
		"MXFLEET_POLL_INITIAL="+c.PollInitial.String(), "MXFLEET_POLL_MAX="+c.PollMax.String(),
		"MXFLEET_SCHEDULER_INTERVAL="+c.SchedulerInterval.String(), "MXFLEET_CHALLENGE_TTL=1m", "MXFLEET_METRICS_ADDR=")
	child.Env = append(child.Env, env...)
	logs := &testenv.SyncBuffer{}
	child.Stderr = logs
	if err := child.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = child.Process.Kill(); _ = child.Wait() })
	return child, logs
}

// runningJobs submits four jobs of the success scenario and waits until
// the worker runs each.
func runningJobs(t *testing.T, ctx context.Context, f *testenv.Fleet, prefix string) []string {
	t.Helper()
	sc := testenv.Scenario(t, "success")
	var ids []string
	for i := range 4 {
		id := fmt.Sprintf("%s-%d", prefix, i)
		if _, err := f.Client.Verify(ctx, scenario.Request(sc, id, "user-"+id)); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for _, id := range ids {
		testenv.WaitState(t, ctx, f.Client, id, store.StateRunning)
	}
	return ids
}

// A worker killed mid-job (no graceful shutdown) leaves its tasks active;
// once their lease runs out asynq hands them to another worker, which
// finishes every job.
func TestWorkerKilledMidJobAnotherFinishes(t *testing.T) {
	if testing.Short() {
		t.Skip("waits about a minute for asynq's lease recovery")
	}
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	f.StopWorker()
	ctx := testenv.Context(t, 3*time.Minute)
	f.Sim.SetFaults(mxsim.Faults{Latency: 5 * time.Second})

	child, logs := startChild(t, f)
	ids := runningJobs(t, ctx, f, "crash")
	// Kill the child while every job is inside an MX call. Not a wait for
	// a condition: from outside no state shows a call in flight (the
	// simulator counts a call once its latency is over); the jobs run, and
	// each next MX call takes 5 s, so a moment's grace lands inside one.
	time.Sleep(500 * time.Millisecond)
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	f.Sim.SetFaults(mxsim.Faults{})
	for _, id := range ids {
		if j, _ := f.Client.Status(ctx, id); j.State.Terminal() {
			t.Fatalf("job %s ended before the crash: %+v", id, j)
		}
	}

	f.StartWorker(t)
	for _, id := range ids {
		j, err := f.Client.Wait(ctx, id)
		if err != nil || j.State != store.StateSucceeded {
			t.Fatalf("job %s after the crash: %+v %v\nchild log:\n%s", id, j, err, logs.String())
		}
	}
	// One MX job per fleet job: a start run again after the kill finds
	// the member (MX's 409) and its verify finds the job running (MX's
	// 202, no new job).
	st := f.Sim.Stats()
	for _, id := range ids {
		j, _ := f.Client.Status(ctx, id)
		if n := st.Jobs[j.MemberGUID]; n != 1 {
			t.Errorf("job %s: MX started %d jobs on its member, want 1", id, n)
		}
	}
}

// SIGTERM mid-run: the worker stops fetching, lets running handlers finish
// within the shutdown timeout, hands the rest back to the queue and exits;
// another worker finishes every job without waiting for a lease to expire.
func TestWorkerSIGTERMHandsBackItsJobs(t *testing.T) {
	t.Parallel()
	f := testenv.NewFleet(t, nil)
	f.StopWorker()
	ctx := testenv.Context(t, 2*time.Minute)
	f.Sim.SetFaults(mxsim.Faults{Latency: 3 * time.Second})
	child, logs := startChild(t, f, "MXFLEET_SHUTDOWN_TIMEOUT=500ms")
	ids := runningJobs(t, ctx, f, "term")
	// inside the slow MX calls: a grace, not a wait (see above, no state
	// shows a call in flight)
	time.Sleep(300 * time.Millisecond)
	if err := child.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := child.Wait(); err != nil {
		t.Fatalf("worker exit after SIGTERM: %v\n%s", err, logs.String())
	}
	f.Sim.SetFaults(mxsim.Faults{})
	f.StartWorker(t)
	for _, id := range ids {
		j, err := f.Client.Wait(ctx, id)
		if err != nil || j.State != store.StateSucceeded {
			t.Fatalf("job %s after SIGTERM: %+v %v\nchild log:\n%s", id, j, err, logs.String())
		}
	}
}
