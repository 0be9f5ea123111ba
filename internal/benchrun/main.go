// Command benchrun measures the fleet against a real redis-server and the
// MX simulator and writes docs/BENCHMARKS.md (make bench). Every figure
// says how it was obtained; the last line printed is a one-line summary.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/tasks"
)

func main() {
	out := flag.String("out", "docs/BENCHMARKS.md", "where to write the table")
	quick := flag.Bool("quick", false, "smaller runs (a smoke test of the harness)")
	only := flag.String("only", "", "comma-separated parts to run (throughput,inflight,lateness,scale); all when empty; the table is printed, not written")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run (workers, producer and simulator share the process) to this file")
	flag.Parse()
	b := &bench{quick: *quick, only: *only}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "benchrun:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := b.run(*out); err != nil {
		pprof.StopCPUProfile()
		fmt.Fprintln(os.Stderr, "benchrun:", err)
		os.Exit(1)
	}
}

type bench struct {
	quick bool
	only  string
	rows  [][]string
	sum   []string
}

func (b *bench) row(cells ...string) { b.rows = append(b.rows, cells) }

// part tells whether the run includes a part (-only).
func (b *bench) part(name string) bool {
	return b.only == "" || slices.Contains(strings.Split(b.only, ","), name)
}

func (b *bench) scale(n int) int {
	if b.quick {
		return max(n/20, 10)
	}
	return n
}

// redisServer starts a redis-server on a unix socket; stop kills it.
func redisServer() (*redis.Client, string, func(), error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, "", nil, fmt.Errorf("redis-server is required (apt-get install redis-server)")
	}
	dir, _ := os.MkdirTemp("", "mxb")
	sock := filepath.Join(dir, "r.sock")
	cmd := exec.Command(bin, "--port", "0", "--unixsocket", sock, "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		return nil, "", nil, err
	}
	c := redis.NewClient(&redis.Options{Network: "unix", Addr: sock, PoolSize: 64})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for c.Ping(ctx).Err() != nil {
		if ctx.Err() != nil {
			return nil, "", nil, fmt.Errorf("redis-server did not start")
		}
		pause(ctx, 10*time.Millisecond)
	}
	ver, _ := c.Info(ctx, "server").Result()
	version := "?"
	for _, l := range strings.Split(ver, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "redis_version:"); ok {
			version = v
		}
	}
	return c, version, func() { c.Close(); cmd.Process.Kill(); cmd.Wait(); os.RemoveAll(dir) }, nil
}

// commandStats reads INFO commandstats: calls per command (commands run
// by Lua scripts included, under their own names).
func commandStats(ctx context.Context, c *redis.Client) map[string]int64 {
	info, _ := c.Info(ctx, "commandstats").Result()
	out := map[string]int64{}
	for _, l := range strings.Split(info, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok || !strings.HasPrefix(name, "cmdstat_") {
			continue
		}
		for _, kv := range strings.Split(rest, ",") {
			if v, ok := strings.CutPrefix(kv, "calls="); ok {
				out[strings.TrimPrefix(name, "cmdstat_")], _ = strconv.ParseInt(v, 10, 64)
			}
		}
	}
	return out
}

// perJob is the growth of each command's calls from before to after,
// divided by jobs, largest first: "evalsha 12.0, get 9.0, ...".
func perJob(before, after map[string]int64, jobs int) (string, float64) {
	type kv struct {
		name string
		n    int64
	}
	var all []kv
	var total int64
	for name, n := range after {
		if d := n - before[name]; d > 0 && name != "info" {
			all = append(all, kv{name, d})
			total += d
		}
	}
	slices.SortFunc(all, func(a, b kv) int { return int(b.n - a.n) })
	var parts []string
	for _, e := range all {
		parts = append(parts, e.name+" "+f1(float64(e.n)/float64(jobs)))
	}
	return strings.Join(parts, ", "), float64(total) / float64(jobs)
}

func usedMemory(ctx context.Context, c *redis.Client) int64 {
	info, _ := c.Info(ctx, "memory").Result()
	for _, l := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// rssMB reads this process's peak resident set (VmHWM).
func rssMB() float64 {
	b, _ := os.ReadFile("/proc/self/status")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

// env is one fleet: Redis, simulator, workers, producer.
type env struct {
	rdb     *redis.Client
	sim     *mxsim.Server
	hs      *httptest.Server
	cfg     fleet.Config
	workers []*fleet.Worker
	c       *tasks.Client
	stop    func()
}

func newEnv(rdb *redis.Client, workers int, tune func(*fleet.Config), simOpts ...mxsim.Option) (*env, error) {
	_ = rdb.FlushAll(context.Background()).Err()
	sim := mxsim.New(simOpts...)
	hs := httptest.NewServer(sim)
	key, _ := seal.Generate("bench")
	cfg := fleet.Config{SecretKeys: key, MXBaseURL: hs.URL, MXClientID: mxsim.DefaultClientID, MXAPIKey: mxsim.DefaultAPIKey,
		MXTimeout: 10 * time.Second, Concurrency: 20, ChallengeTTL: 10 * time.Minute, JobDeadline: 10 * time.Minute,
		PollInitial: 3 * time.Second, PollMax: time.Minute, RetryBase: 100 * time.Millisecond, RetryMax: 5 * time.Second,
		RetryLaterDelay: time.Second, MaxAttempts: 3, JobRetention: time.Hour, SchedulerInterval: time.Second, TaskCheckInterval: 250 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second, LogLevel: "error", LogFormat: "json"}
	if tune != nil {
		tune(&cfg)
	}
	keys, _ := cfg.Keys()
	e := &env{rdb: rdb, sim: sim, hs: hs, cfg: cfg, c: tasks.NewClient(rdb, keys)}
	for range workers {
		w, err := fleet.NewWorker(rdb, cfg, nil, zerolog.Nop())
		if err != nil {
			return nil, err
		}
		if err := w.Start(); err != nil {
			return nil, err
		}
		e.workers = append(e.workers, w)
	}
	e.stop = func() {
		for _, w := range e.workers {
			w.Shutdown()
		}
		e.c.Close()
		sim.Close()
		hs.Close()
	}
	return e, nil
}

// ended sums mxfleet_jobs_ended_total over the workers.
func (e *env) ended() int {
	n := 0.0
	for _, w := range e.workers {
		n += w.Metrics.JobsEnded()
	}
	return int(n)
}

// submit enqueues n success-scenario verify jobs; returns their ids.
func (e *env) submit(ctx context.Context, prefix string, n int) ([]string, error) {
	sc := success()
	ids := make([]string, n)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, 64)
	for i := range n {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if _, err := e.c.Verify(ctx, scenario.Request(sc, ids[i], "user-"+ids[i])); err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return nil, err
	}
	return ids, nil
}

func (e *env) waitEnded(ctx context.Context, n int) error {
	for e.ended() < n {
		if ctx.Err() != nil {
			return fmt.Errorf("only %d of %d jobs ended", e.ended(), n)
		}
		pause(ctx, 20*time.Millisecond)
	}
	return nil
}

func success() mxsim.Scenario {
	for _, sc := range mxsim.Scenarios() {
		if sc.Name == "success" {
			return sc
		}
	}
	panic("no success scenario")
}

func f1(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) }
func f2(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
