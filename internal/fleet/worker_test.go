package fleet_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestMetricsAndProbes(t *testing.T) {
	f := testenv.NewFleet(t, nil)
	f.StopWorker()
	w := f.StartWorker(t)
	srv := httptest.NewServer(w.Metrics.Handler(w.Ready))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := tasks.Request{ID: "metrics-1", User: tasks.User{ID: "u"},
		Member: tasks.Member{InstitutionCode: "mxbank", Credentials: map[string]string{"username": "mxuser", "password": "UNAUTHORIZED"}}}
	if _, err := f.Client.Verify(ctx, req); err != nil {
		t.Fatal(err)
	}
	if j, err := f.Client.Wait(ctx, "metrics-1"); err != nil || j.State != store.StateFailed {
		t.Fatalf("%+v %v", j, err)
	}
	if code, _ := get(t, srv.URL+"/healthz"); code != 200 {
		t.Fatalf("healthz %d", code)
	}
	if code, body := get(t, srv.URL+"/readyz"); code != 200 {
		t.Fatalf("readyz %d %s", code, body)
	}
	_, m := get(t, srv.URL+"/metrics")
	for _, want := range []string{
		`mxfleet_jobs_started_total{kind="verify"} 1`,
		`mxfleet_jobs_ended_total{code="denied",kind="verify",state="failed"} 1`,
		`mxfleet_job_duration_seconds_count{kind="verify",state="failed"} 1`,
		`mxfleet_job_polls_count{kind="verify"} 1`,
		`mxfleet_mx_requests_total{op="createMember",status="202"} 1`,
		`mxfleet_mx_request_duration_seconds_count{op="readMemberStatus"}`,
		`mxfleet_jobs_parked 0`,
		`mxfleet_asynq_tasks{queue="mx_jobs",state="pending"} 0`,
		`go_goroutines`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	w.Shutdown()
	if code, _ := get(t, srv.URL+"/readyz"); code != 503 {
		t.Fatalf("readyz after shutdown: %d", code)
	}
}

func TestQueueWeights(t *testing.T) {
	c := fleet.Config{Queues: "mx_answers:9,mx_polls:3,mx_callbacks:1,mx_jobs:1"}
	q, err := c.QueueWeights()
	if err != nil || q["mx_answers"] != 9 {
		t.Fatalf("%v %v", q, err)
	}
	for _, bad := range []string{"mx_answers:0,mx_polls:1,mx_callbacks:1,mx_jobs:1", "mx_answers:1", "x"} {
		if _, err := (fleet.Config{Queues: bad}).QueueWeights(); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// With MXFLEET_SWEEP_INTERVAL set, a worker sweeps in the background when
// it takes the fleet's turn, and stops on shutdown.
func TestWorkerSweeps(t *testing.T) {
	f := testenv.NewFleet(t, func(c *fleet.Config) { c.SweepInterval = 100 * time.Millisecond })
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rdb := f.Redis.Client
	// An entry no record backs (the record expired): a sweep drops it.
	ghost := func() {
		t.Helper()
		if err := rdb.ZAdd(ctx, "mxfleet:{store}:live", redis.Z{Score: 1, Member: "ghost"}).Err(); err != nil {
			t.Fatal(err)
		}
	}
	ghost()
	testenv.Until(t, ctx, "a sweep dropping the stale live entry", func() error {
		if err := rdb.ZScore(ctx, "mxfleet:{store}:live", "ghost").Err(); err == nil {
			return fmt.Errorf("ghost still live")
		}
		return nil
	})
	// The turn lasts one interval.
	if ttl := rdb.PTTL(ctx, "mxfleet:{store}:sweep").Val(); ttl > 100*time.Millisecond {
		t.Fatalf("sweep turn TTL %s, want at most the interval", ttl)
	}
	f.StopWorker()
	ghost()
	// Not a wait for a condition: what is tested is an absence, no sweep
	// over several sweep intervals after the shutdown.
	time.Sleep(500 * time.Millisecond)
	if err := rdb.ZScore(ctx, "mxfleet:{store}:live", "ghost").Err(); err != nil {
		t.Fatalf("a worker swept after its shutdown: %v", err)
	}
}
