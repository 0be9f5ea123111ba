package handlers_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/testenv"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
)

// BenchmarkVerifyJobsEndToEnd pushes b.N verify jobs (success scenario)
// through one worker against the simulator with MX jobs that take no time,
// so the figure is the fleet's own cost per job: asynq, Redis and the MX
// round trips over loopback. Reports jobs/s, MX calls and Redis commands
// per job, and the bytes a finished job record holds in Redis.
func BenchmarkVerifyJobsEndToEnd(b *testing.B) {
	f := testenv.NewFleet(b, func(c *fleet.Config) {
		c.LogLevel = "warn"
		c.PollInitial, c.PollMax = time.Millisecond, 10*time.Millisecond
		c.SchedulerInterval = 10 * time.Millisecond
	}, mxsim.WithAggregationTime(0))
	ctx := context.Background()
	sc := testenv.Scenario(b, "success")
	before, _ := f.Redis.Client.Info(ctx, "stats").Result()
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 200)
	for i := range b.N {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id := fmt.Sprintf("bench-%d-%d", b.N, i)
			j, err := scenario.Run(ctx, f.Client, sc, store.KindVerify, id, "user-"+id, nil)
			if err != nil || j.State != store.StateSucceeded {
				b.Errorf("job %s: %+v %v", id, j, err)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	after, _ := f.Redis.Client.Info(ctx, "stats").Result()
	calls := 0
	for _, n := range f.Sim.Stats().Calls {
		calls += n
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "jobs/s")
	b.ReportMetric(float64(calls)/float64(b.N), "mx-calls/job")
	if f.Redis.Real {
		b.ReportMetric(float64(commands(after)-commands(before))/float64(b.N), "redis-cmds/job")
		if n, err := f.Redis.Client.MemoryUsage(ctx, "mxfleet:{store}:job:bench-"+fmt.Sprint(b.N)+"-0").Result(); err == nil {
			b.ReportMetric(float64(n), "record-bytes")
		}
	}
}

// commands reads total_commands_processed from INFO stats (it includes
// the benchmark's own status reads through Watch).
func commands(info string) int64 {
	var n int64
	for _, line := range splitLines(info) {
		if _, err := fmt.Sscanf(line, "total_commands_processed:%d", &n); err == nil {
			return n
		}
	}
	return 0
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}

// BenchmarkFourWorkersAtTheMXRateLimit runs b.N verify jobs through four
// workers sharing MXFLEET_MX_RATE=200 through Redis, and reports the MX
// call rate the simulator saw against that limit.
func BenchmarkFourWorkersAtTheMXRateLimit(b *testing.B) {
	const limit = 200
	f := testenv.NewFleet(b, func(c *fleet.Config) {
		c.LogLevel = "warn"
		c.MXRate = limit
		c.PollInitial, c.PollMax = time.Millisecond, 10*time.Millisecond
		c.SchedulerInterval = 10 * time.Millisecond
		c.RetryBase, c.RetryMax = 10*time.Millisecond, 200*time.Millisecond
	}, mxsim.WithAggregationTime(0))
	for range 3 {
		f.StartWorker(b)
	}
	ctx := context.Background()
	sc := testenv.Scenario(b, "success")
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range b.N {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("rate-%d-%d", b.N, i)
			if j, err := scenario.Run(ctx, f.Client, sc, store.KindVerify, id, "user-"+id, nil); err != nil || j.State != store.StateSucceeded {
				b.Errorf("job %s: %+v %v", id, j, err)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	b.StopTimer()
	calls := 0
	for op, n := range f.Sim.Stats().Calls {
		if !strings.HasPrefix(op, "webhook") {
			calls += n
		}
	}
	b.ReportMetric(float64(calls)/el.Seconds(), "mx-calls/s")
	b.ReportMetric(limit, "limit/s")
	b.ReportMetric(float64(b.N)/el.Seconds(), "jobs/s")
}
