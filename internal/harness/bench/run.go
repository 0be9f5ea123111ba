package main

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/api"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/redisinfo"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

func (b *bench) run(out string) error {
	rdb, version, stop, err := redisServer()
	if err != nil {
		return err
	}
	defer stop()
	defer b.cleanup()
	ctx := context.Background()
	start := time.Now()

	for _, p := range []struct {
		name string
		run  func(context.Context, *redis.Client) error
	}{{"throughput", b.throughput}, {"inflight", b.inflight}, {"lateness", b.latenesses}, {"learned", b.learned}, {"scale", b.scaleOut}} {
		if b.part(p.name) {
			if err := p.run(ctx, rdb); err != nil {
				return fmt.Errorf("%s: %w", p.name, err)
			}
		}
	}
	return b.write(out, version, time.Since(start))
}

// throughputRounds is how many times raw asynq and the fleet are run, one
// after the other: the ratio reported is the median of the rounds, so a
// burst of noise on the machine during one run does not decide it.
const throughputRounds = 3

func (b *bench) throughput(ctx context.Context, rdb *redis.Client) error {
	// 1. Throughput: raw asynq no-op tasks, then mxfleet jobs, same Redis
	// and concurrency, in alternating rounds.
	n, jobs := b.scale(20000), b.scale(4000)
	var raws, rates, ratios []float64
	var rawCmds, cmds string
	var rawTotal, total, calls float64
	for range throughputRounds {
		raw, rc, rt, err := b.rawTasks(ctx, rdb, n)
		if err != nil {
			return err
		}
		rate, jc, jt, mxCalls, err := b.fleetJobs(ctx, rdb, jobs)
		if err != nil {
			return err
		}
		raws, rates, ratios = append(raws, raw), append(rates, rate), append(ratios, rate/raw)
		rawCmds, rawTotal, cmds, total, calls = rc, rt, jc, jt, mxCalls
	}
	ratio := median(ratios)
	b.row("throughput", fmt.Sprintf("raw asynq no-op tasks, concurrency 20, %d tasks, %d rounds", n, throughputRounds), f1(median(raws))+" tasks/s",
		fmt.Sprintf("rounds: %s; %s Redis commands per task (INFO commandstats, script commands included): %s", list(raws), f1(rawTotal), rawCmds))
	limit := ""
	if b.mxRate > 0 {
		limit = fmt.Sprintf(", MXFLEET_MX_RATE=%d", b.mxRate)
	}
	b.row("throughput", fmt.Sprintf("mxfleet verify jobs (zero-time MX), concurrency 20%s, %d jobs, %d rounds", limit, jobs, throughputRounds), f1(median(rates))+" jobs/s",
		fmt.Sprintf("ratio=%s (median of the rounds' %s; goal ≥ 0.35); %s MX calls and %s Redis commands per job: %s",
			f2(ratio), list(ratios), f1(calls), f1(total), cmds))
	b.sum = append(b.sum, "ratio="+f2(ratio))
	return nil
}

// rawTasks runs n no-op asynq tasks at concurrency 20: tasks per second and
// the Redis commands per task.
func (b *bench) rawTasks(ctx context.Context, rdb *redis.Client, n int) (float64, string, float64, error) {
	_ = rdb.FlushAll(ctx).Err()
	var done atomic.Int64
	// The fleet's TaskCheckInterval: asynq's default (1 s) would have the
	// server sleep up to 1.5 s before its first look, which dominated
	// short runs.
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{Concurrency: 20, Queues: map[string]int{"raw": 1}, LogLevel: asynq.ErrorLevel,
		TaskCheckInterval: 100 * time.Millisecond})
	mux := asynq.NewServeMux()
	mux.HandleFunc("noop", func(context.Context, *asynq.Task) error { done.Add(1); return nil })
	if err := srv.Start(mux); err != nil {
		return 0, "", 0, err
	}
	defer srv.Shutdown()
	q := asynq.NewClientFromRedisClient(rdb)
	defer q.Close()
	s0, r0, p0 := redisinfo.Commands(ctx, rdb), redisCPU(ctx, rdb), selfCPU()
	t0 := time.Now()
	// Enqueued by 64 goroutines, as the fleet's jobs are submitted.
	if err := parallel(n, func(i int) error {
		_, err := q.Enqueue(asynq.NewTask("noop", []byte(fmt.Sprint(i))), asynq.Queue("raw"))
		return err
	}); err != nil {
		return 0, "", 0, err
	}
	for done.Load() < int64(n) {
		pause(ctx, 5*time.Millisecond)
	}
	raw := float64(n) / time.Since(t0).Seconds()
	cmds, total := redisinfo.PerJob(s0, redisinfo.Commands(ctx, rdb), n)
	return raw, cpuPer(ctx, rdb, r0, p0, n) + "; " + cmds, total, nil
}

// fleetJobs runs jobs verify jobs against a zero-time simulator: jobs per
// second, Redis commands per job and MX calls per job.
func (b *bench) fleetJobs(ctx context.Context, rdb *redis.Client, jobs int) (float64, string, float64, float64, error) {
	e, err := newEnv(rdb, 1, func(c *fleet.Config) {
		c.PollInitial, c.PollMax, c.SchedulerInterval = time.Millisecond, 10*time.Millisecond, 10*time.Millisecond
		c.MXRate = b.mxRate
	}, mxsim.WithAggregationTime(0))
	if err != nil {
		return 0, "", 0, 0, err
	}
	defer e.stop()
	s0, r0, p0 := redisinfo.Commands(ctx, rdb), redisCPU(ctx, rdb), selfCPU()
	t0 := time.Now()
	if _, err := e.submit(ctx, "tp", jobs); err != nil {
		return 0, "", 0, 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if err := e.waitEnded(wctx, jobs); err != nil {
		return 0, "", 0, 0, err
	}
	rate := float64(jobs) / time.Since(t0).Seconds()
	cpu := cpuPer(ctx, rdb, r0, p0, jobs)
	cmds, total := redisinfo.PerJob(s0, redisinfo.Commands(ctx, rdb), jobs)
	cmds = cpu + "; " + cmds
	calls := 0
	for _, v := range e.sim.Stats().Calls {
		calls += v
	}
	return rate, cmds, total, float64(calls) / float64(jobs), nil
}

// cpuPer says how much CPU redis-server and this process (workers,
// producer, simulator) spent per task or job since r0 and p0.
func cpuPer(ctx context.Context, rdb *redis.Client, r0, p0 time.Duration, n int) string {
	per := func(d time.Duration) string { return f1(float64(d.Microseconds())/float64(n)) + " µs" }
	return "CPU per unit: redis-server " + per(redisCPU(ctx, rdb)-r0) + ", Go process " + per(selfCPU()-p0)
}

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	return s[len(s)/2]
}

func list(v []float64) string {
	var parts []string
	for _, x := range v {
		if x < 10 {
			parts = append(parts, f2(x))
		} else {
			parts = append(parts, f1(x))
		}
	}
	return strings.Join(parts, ", ")
}

func (b *bench) inflight(ctx context.Context, rdb *redis.Client) error {
	// 2. In-flight capacity: many jobs aggregating for 60 s at once, on one
	// worker running as a process of its own (mxfleet worker) so that its
	// peak RSS is its own; the simulator and the producer stay here.
	inflight, agg := b.scale(b.inflightJobs), 60*time.Second
	if b.quick {
		agg = 5 * time.Second
	}
	bin, err := b.workerBin()
	if err != nil {
		return err
	}
	e, err := newEnv(rdb, 0, nil, mxsim.WithAggregationTime(agg))
	if err != nil {
		return err
	}
	defer e.stop()
	if o := rdb.Options(); o.Network == "unix" {
		e.cfg.RedisURL = "redis-socket://" + o.Addr
	} else {
		e.cfg.RedisURL = "redis://" + o.Addr
	}
	e.cfg.MetricsAddr = "" // ended jobs are counted from their records, not scraped
	w, err := startWorker(ctx, bin, e.cfg)
	if err != nil {
		return err
	}
	grace := e.cfg.ShutdownTimeout + 10*time.Second
	defer w.stop(grace)
	if err := w.waitReady(rdb, 30*time.Second); err != nil {
		return err
	}

	m0, r0 := usedMemory(ctx, rdb), redisCPU(ctx, rdb)
	t0 := time.Now()
	ids, err := e.submit(w.ctx, "inflight", inflight)
	if err != nil {
		if cause := context.Cause(w.ctx); cause != nil {
			return cause
		}
		return err
	}
	submitted := time.Since(t0)
	pause(w.ctx, min(agg/2, 20*time.Second))
	perJob := float64(usedMemory(ctx, rdb)-m0) / float64(inflight)
	midRSS, _ := procMB(w.pid(), "VmRSS")

	// Count ended jobs from their records, once a second: t.read goes on
	// from the first job not known to have ended and stops at the first
	// still running, so each record is read about once after it ended.
	// One worker at concurrency 20 starts a few hundred jobs a second on
	// 2 shared cores: allow a second per 50 jobs beyond the aggregation.
	wctx, cancel := context.WithTimeout(w.ctx, agg+5*time.Minute+time.Duration(inflight/50)*time.Second)
	defer cancel()
	t := &tally{ids: ids}
	for {
		if err := t.read(wctx, e.c); err != nil {
			return err
		}
		if t.next == len(ids) {
			break
		}
		pause(wctx, time.Second)
		if wctx.Err() != nil {
			return fmt.Errorf("only %d of %d jobs ended (%v)", t.ended(ctx, e.c), inflight, context.Cause(wctx))
		}
	}
	all, seen := t.last.Sub(t0), time.Since(t0)
	redisUS := float64((redisCPU(ctx, rdb) - r0).Microseconds()) / float64(inflight)
	peak, err := procMB(w.pid(), "VmHWM")
	if err != nil {
		return fmt.Errorf("worker peak RSS: %w", err)
	}
	if err := w.stop(grace); err != nil {
		return fmt.Errorf("stopping the worker process: %w", err)
	}
	retained := float64(usedMemory(ctx, rdb)-m0) / float64(inflight)
	b.row("in-flight", fmt.Sprintf("%d jobs aggregating %s at once, one worker process, concurrency 20", inflight, agg),
		fmt.Sprintf("%d succeeded, %d timed out", t.ok, t.timeouts),
		fmt.Sprintf("all ended %s after the first submit (the latest end in the job records; seen by the harness after %s, reading them once a second; submitting took %s); %s bytes of Redis per in-flight job (goal ≤ 1024); peak RSS of the worker process %s MB (goal < 100; VmHWM of `mxfleet worker`, %s MB resident with every job in flight); harness process (simulator, producer; peak over the run so far) %s MB; %s bytes of Redis per ended job, kept for MXFLEET_JOB_RETENTION (docs/operations.md: sizing); redis-server CPU %s µs per job (INFO cpu, submit to last end)",
			all.Round(time.Second), seen.Round(time.Second), submitted.Round(time.Second), f1(perJob), f1(peak), f1(midRSS), f1(rssMB()), f1(retained), f1(redisUS)))
	b.sum = append(b.sum, fmt.Sprintf("inflight=%d/%d", t.ok, inflight), "worker_rss_mb="+f1(peak))

	return nil
}

// tally counts how the jobs ids ended by reading their records in order.
type tally struct {
	ids          []string
	next         int // ids[:next] have ended
	ok, timeouts int
	last         time.Time // the latest end among ids[:next]
}

// read goes on from ids[next] until it reaches a job that has not ended.
func (t *tally) read(ctx context.Context, c *tasks.Client) error {
	for t.next < len(t.ids) {
		j, err := c.Status(ctx, t.ids[t.next])
		if err != nil {
			return fmt.Errorf("job %s: %w", t.ids[t.next], err)
		}
		if !j.State.Terminal() {
			return nil
		}
		if j.UpdatedAt.After(t.last) {
			t.last = j.UpdatedAt
		}
		if j.State == store.StateSucceeded {
			t.ok++
		} else if j.Error != nil && j.Error.Code == "timeout" {
			t.timeouts++
		}
		t.next++
	}
	return nil
}

// ended counts every ended job (for the error when they do not all end).
func (t *tally) ended(ctx context.Context, c *tasks.Client) int {
	n := t.next
	for _, id := range t.ids[t.next:] {
		if j, err := c.Status(ctx, id); err == nil && j.State.Terminal() {
			n++
		}
	}
	return n
}

func (b *bench) latenesses(ctx context.Context, rdb *redis.Client) error {
	// 3. Polls and lateness, polling only and with webhooks.
	aggs := []time.Duration{2 * time.Second, 10 * time.Second, 60 * time.Second}
	if b.quick {
		aggs = aggs[:1]
	}
	type run struct {
		agg     time.Duration
		hooks   bool
		pollMax time.Duration // 0: the default (1 m)
	}
	var runs []run
	for _, a := range aggs {
		runs = append(runs, run{a, false, 0}, run{a, true, 0})
	}
	if !b.quick {
		// The knob that trades status calls for lateness when MX
		// webhooks are not available.
		runs = append(runs, run{60 * time.Second, false, 10 * time.Second})
	}
	for _, r := range runs {
		p50, p99, polls, err := b.lateness(ctx, rdb, r.agg, r.hooks, r.pollMax, b.scale(100))
		if err != nil {
			return err
		}
		mode, goal := "polling only", r.agg/10+time.Second
		if r.hooks {
			mode, goal = "with MX webhooks", 200*time.Millisecond
		}
		if r.pollMax > 0 {
			mode += fmt.Sprintf(", MXFLEET_POLL_MAX=%s", r.pollMax)
		}
		calls := math.Log2(r.agg.Seconds()/3) + 2
		b.row("lateness", fmt.Sprintf("aggregation %s, %s, %d jobs", r.agg, mode, b.scale(100)),
			fmt.Sprintf("p50 %s, p99 %s", p50.Round(time.Millisecond), p99.Round(time.Millisecond)),
			fmt.Sprintf("goal p99 < %s; %s status calls per job (goal ≤ %s; first poll 3 s, ×1.5, max %s, scheduler 1 s)",
				goal, f1(polls), f1(max(calls, 1)), cmp.Or(r.pollMax, time.Minute)))
		if !r.hooks && r.pollMax == 0 && (r.agg == 10*time.Second || b.quick) {
			b.sum = append(b.sum, fmt.Sprintf("p99_late_%s=%s", r.agg, p99.Round(time.Millisecond)))
		}
	}
	return nil
}

func (b *bench) scaleOut(ctx context.Context, rdb *redis.Client) error {
	// 4. Scale-out: 1, 2, 4 workers with 100 ms of MX latency.
	var base float64
	for _, w := range []int{1, 2, 4} {
		jobs := b.scale(400)
		e, err := newEnv(rdb, w, func(c *fleet.Config) {
			c.PollInitial, c.PollMax, c.SchedulerInterval = time.Millisecond, 10*time.Millisecond, 10*time.Millisecond
		}, mxsim.WithAggregationTime(0), mxsim.WithFaults(mxsim.Faults{Latency: 100 * time.Millisecond}))
		if err != nil {
			return err
		}
		t0 := time.Now()
		if _, err := e.submit(ctx, fmt.Sprintf("scale%d", w), jobs); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
		err = e.waitEnded(wctx, jobs)
		cancel()
		if err != nil {
			return err
		}
		r := float64(jobs) / time.Since(t0).Seconds()
		e.stop()
		if w == 1 {
			base = r
		}
		b.row("scale-out", fmt.Sprintf("%d worker(s), concurrency 20 each, 100 ms MX latency, %d jobs", w, jobs), f1(r)+" jobs/s",
			fmt.Sprintf("efficiency %s%% of linear", f1(100*r/(base*float64(w)))))
		if w == 4 {
			b.sum = append(b.sum, fmt.Sprintf("scale4=%s%%", f1(100*r/(base*4))))
		}
	}

	return nil
}

// lateness runs jobs whose MX job takes agg and reports how late each
// ended after the simulator finished it, and status calls per job.
func (b *bench) lateness(ctx context.Context, rdb *redis.Client, agg time.Duration, hooks bool, pollMax time.Duration, n int) (p50, p99 time.Duration, polls float64, err error) {
	var hookURL string
	var front *httptest.Server
	var handler atomic.Value
	if hooks {
		front = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			handler.Load().(http.Handler).ServeHTTP(w, r)
		}))
		defer front.Close()
		hookURL = front.URL + "/v1/mx/webhooks?token=bench-webhook-secret"
	}
	opts := []mxsim.Option{mxsim.WithAggregationTime(agg)}
	if hooks {
		opts = append(opts, mxsim.WithWebhook(hookURL))
	}
	e, err := newEnv(rdb, 1, func(c *fleet.Config) { c.PollMax = cmp.Or(pollMax, c.PollMax) }, opts...)
	if err != nil {
		return 0, 0, 0, err
	}
	defer e.stop()
	if hooks {
		handler.Store(http.Handler(api.New(e.c, nil, api.Config{WebhookSecret: "bench-webhook-secret"}, zerolog.Nop())))
	}
	ids, err := e.submit(ctx, fmt.Sprintf("late-%s-%t", agg, hooks), n)
	if err != nil {
		return 0, 0, 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, agg+3*time.Minute)
	defer cancel()
	if err := e.waitEnded(wctx, n); err != nil {
		return 0, 0, 0, err
	}
	var late []time.Duration
	total := 0
	for _, id := range ids {
		j, err := e.st.Get(ctx, id) // TriggeredAt is bookkeeping: the record, not the view
		if err != nil || j.State != store.StateSucceeded {
			return 0, 0, 0, fmt.Errorf("job %s: %v %v", id, j, err)
		}
		late = append(late, j.UpdatedAt.Sub(j.TriggeredAt.Add(agg)))
		total += j.Polls
	}
	return pct(late, 0.5), pct(late, 0.99), float64(total) / float64(n), nil
}

func (b *bench) write(out, redisVersion string, took time.Duration) error {
	host, _ := os.Hostname()
	cpu := "?"
	if bs, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(bs), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	var s strings.Builder
	fmt.Fprintf(&s, "# Benchmarks\n\nWritten by `make bench` (`go run ./internal/harness/bench`) on %s: %d cores (%s), %s, %s, redis-server %s on a unix socket, the MX simulator over loopback HTTP, workers in the harness process except in-flight's (an `mxfleet worker` process of its own). Took %s.\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), cpu, host, runtime.Version(), redisVersion, took.Round(time.Second))
	s.WriteString("| area | what | figure | notes |\n|---|---|---|---|\n")
	for _, r := range b.rows {
		fmt.Fprintf(&s, "| %s |\n", strings.Join(r, " | "))
	}
	s.WriteString("\nHow each is measured: `internal/harness/bench/run.go`. Lateness is the job record's end time minus (the time the worker asked MX to verify + the simulator's aggregation time). Redis bytes per in-flight job is the growth of `used_memory` while every job waits, divided by the jobs; per ended job, the same growth once every job has ended (records kept for the retention period). The in-flight worker's peak RSS is `VmHWM` in `/proc/<pid>/status` of its process, read once every job has ended and before SIGTERM. Scale-out runs the workers in one process on the same 2 cores as Redis and the simulator, so it shows contention more than a fleet of machines would.\n\n")
	fmt.Fprintf(&s, "Summary: %s\n", strings.Join(b.sum, " "))
	// The sections after the table (the written reading of the figures,
	// make chaos's table) are kept as they are.
	if old, err := os.ReadFile(out); err == nil {
		if i := strings.Index(string(old), "\n## "); i >= 0 {
			s.WriteString(string(old[i:]))
		}
	}
	if b.quick || b.only != "" {
		fmt.Print(s.String())
	} else if err := os.WriteFile(out, []byte(s.String()), 0o644); err != nil {
		return err
	}
	fmt.Println("summary:", strings.Join(b.sum, " "))
	return nil
}
