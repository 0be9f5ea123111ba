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
	"reflect"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

func main() {
	out := flag.String("out", "docs/BENCHMARKS.md", "where to write the table")
	quick := flag.Bool("quick", false, "smaller runs (a smoke test of the harness)")
	only := flag.String("only", "", "comma-separated parts to run (throughput,inflight,lateness,learned,scale); all when empty; the table is printed, not written")
	inflight := flag.Int("inflight", envInt("MXFLEET_BENCH_INFLIGHT", 10000), "jobs the in-flight part submits at once (default $MXFLEET_BENCH_INFLIGHT, else 10000; make bench runs 100000, about 15 minutes on 2 cores)")
	mxRate := flag.Int("mxrate", 0, "MXFLEET_MX_RATE for the throughput part's workers (0: none, as by default); a rate well above the bench's shows what the fleet-wide limiter costs per job")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the run (workers, producer and simulator share the process, except the in-flight part's worker, a process of its own) to this file")
	flag.Parse()
	if *inflight < 1 {
		fmt.Fprintln(os.Stderr, "benchrun: -inflight (MXFLEET_BENCH_INFLIGHT) must be at least 1")
		os.Exit(2)
	}
	b := &bench{quick: *quick, only: *only, inflightJobs: *inflight, mxRate: *mxRate}
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
	quick        bool
	only         string
	inflightJobs int // the in-flight part's jobs (-inflight)
	mxRate       int // the throughput part's MXFLEET_MX_RATE (-mxrate)
	rows         [][]string
	sum          []string
	dir          string // holds bin; removed by cleanup
	bin          string // mxfleet built by workerBin, "" until then
}

// envInt is the integer in the environment variable name, else def (an
// unparsable value is reported by the flag check as 0).
func envInt(name string, def int) int {
	v, ok := os.LookupEnv(name)
	if !ok {
		return def
	}
	n, _ := strconv.Atoi(v)
	return n
}

// workerBin builds cmd/mxfleet once per run and returns its path.
func (b *bench) workerBin() (string, error) {
	if b.bin != "" {
		return b.bin, nil
	}
	dir, err := os.MkdirTemp("", "mxbin")
	if err != nil {
		return "", err
	}
	b.dir = dir
	bin := filepath.Join(dir, "mxfleet")
	build := exec.Command("go", "build", "-o", bin, "./cmd/mxfleet")
	build.SysProcAttr = childAttr()
	if out, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/mxfleet (run from the repository root): %v\n%s", err, out)
	}
	b.bin = bin
	return bin, nil
}

// cleanup removes what workerBin built.
func (b *bench) cleanup() {
	if b.dir != "" {
		os.RemoveAll(b.dir)
	}
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
	cmd.SysProcAttr = childAttr()
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

// redisCPU is redis-server's CPU time so far (INFO cpu, user + system).
func redisCPU(ctx context.Context, c *redis.Client) time.Duration {
	info, _ := c.Info(ctx, "cpu").Result()
	var sec float64
	for _, l := range strings.Split(info, "\n") {
		for _, k := range []string{"used_cpu_sys:", "used_cpu_user:"} {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), k); ok {
				f, _ := strconv.ParseFloat(v, 64)
				sec += f
			}
		}
	}
	return time.Duration(sec * float64(time.Second))
}

// selfCPU is this process's CPU time so far (user + system).
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
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
	mb, _ := procMB("self", "VmHWM")
	return mb
}

// procMB reads a kB field of /proc/<pid>/status (VmHWM: peak resident
// set, VmRSS: current one) in MB.
func procMB(pid, field string) (float64, error) {
	b, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%s/status", field, pid)
}

// workerProc is an `mxfleet worker` child process.
type workerProc struct {
	cmd    *exec.Cmd
	ctx    context.Context // ends when the process exits, with the exit as its cause
	exited chan struct{}   // closed once the process has been waited for
	err    error           // cmd.Wait's result, set before exited closes
}

// startWorker starts `bin worker` configured by cfg through MXFLEET_*
// variables (every field of fleet.Config, so the process runs with
// exactly the settings an in-process worker built from cfg would).
// The caller must call stop, also on errors.
func startWorker(ctx context.Context, bin string, cfg fleet.Config) (*workerProc, error) {
	cmd := exec.Command(bin, "worker")
	cmd.Env = workerEnviron(cfg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	wctx, cancel := context.WithCancelCause(ctx)
	w := &workerProc{cmd: cmd, ctx: wctx, exited: make(chan struct{})}
	go func() {
		w.err = cmd.Wait()
		cancel(fmt.Errorf("the worker process (pid %d) exited: %s", cmd.Process.Pid, cmd.ProcessState))
		close(w.exited)
	}()
	return w, nil
}

// workerEnviron is the environment without MXFLEET_* variables, plus one
// variable per field of cfg.
func workerEnviron(cfg fleet.Config) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, fleet.Prefix+"_") {
			env = append(env, kv)
		}
	}
	v := reflect.ValueOf(cfg)
	for i := range v.NumField() {
		key, ok := v.Type().Field(i).Tag.Lookup("envconfig")
		if !ok {
			continue
		}
		val := fmt.Sprint(v.Field(i).Interface()) // a time.Duration prints as 1m0s, which envconfig parses
		env = append(env, fleet.Prefix+"_"+key+"="+val)
	}
	return env
}

// pid is the child's process id as /proc names it.
func (w *workerProc) pid() string { return strconv.Itoa(w.cmd.Process.Pid) }

// waitReady waits until the worker's asynq server has written its first
// heartbeat to Redis (it does so as it starts).
func (w *workerProc) waitReady(rdb *redis.Client, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(w.ctx, timeout)
	defer cancel()
	insp := asynq.NewInspectorFromRedisClient(rdb) // shares rdb: nothing to close
	for {
		servers, _ := insp.Servers()
		for _, s := range servers {
			if s.PID == w.cmd.Process.Pid {
				return nil
			}
		}
		if ctx.Err() != nil {
			if err := context.Cause(w.ctx); err != nil {
				return err
			}
			return fmt.Errorf("the worker process did not start within %s", timeout)
		}
		pause(ctx, 20*time.Millisecond)
	}
}

// stop sends SIGTERM and waits for the process to exit, killing it after
// grace; it returns how the process ended. Calling it again (or after the
// process exited by itself) only reports that.
func (w *workerProc) stop(grace time.Duration) error {
	select {
	case <-w.exited:
		return w.err
	default:
	}
	_ = w.cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-w.exited:
		return w.err
	case <-t.C:
		_ = w.cmd.Process.Kill()
		<-w.exited
		return fmt.Errorf("the worker process did not stop within %s of SIGTERM and was killed", grace)
	}
}

// env is one fleet: Redis, simulator, workers, producer. With no
// workers, cfg is what worker processes are given (startWorker).
type env struct {
	rdb     *redis.Client
	sim     *mxsim.Server
	hs      *httptest.Server
	cfg     fleet.Config
	workers []*fleet.Worker
	c       *tasks.Client
	st      *store.Store // the records themselves, bookkeeping included (the producer shows views)
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
		RetryLaterDelay: time.Second, MaxAttempts: 3, JobRetention: time.Hour, SchedulerInterval: time.Second, TaskCheckInterval: 100 * time.Millisecond,
		ShutdownTimeout: 5 * time.Second, LogLevel: "error", LogFormat: "json"}
	if tune != nil {
		tune(&cfg)
	}
	keys, _ := cfg.Keys()
	e := &env{rdb: rdb, sim: sim, hs: hs, cfg: cfg, c: tasks.NewClient(rdb, keys), st: store.New(rdb, keys)}
	e.c.SetEstimator(cfg.ETAs(rdb)) // as mxfleet api does: ETAs when the fleet learns
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
	for i := range ids {
		ids[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	if err := parallel(n, func(i int) error {
		_, err := e.c.Verify(ctx, scenario.Request(sc, ids[i], "user-"+ids[i]))
		return err
	}); err != nil {
		return nil, err
	}
	return ids, nil
}

// parallel runs fn(0..n-1) on 64 goroutines; the first error is returned.
func parallel(n int, fn func(i int) error) error {
	var wg sync.WaitGroup
	var firstErr atomic.Value
	sem := make(chan struct{}, 64)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(i); err != nil {
				firstErr.CompareAndSwap(nil, err)
			}
		}()
	}
	wg.Wait()
	err, _ := firstErr.Load().(error)
	return err
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
