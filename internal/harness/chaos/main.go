// Command chaosrun (make chaos) runs mixed jobs against a real
// redis-server (AOF on) and worker processes while it kills workers with
// SIGKILL, restarts Redis, and storms the simulated MX with faults. It
// appends its table to docs/BENCHMARKS.md and prints a one-line summary.
package main

import (
	"context"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/harness/redisinfo"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

type run struct {
	dir, bin, sock, key, simURL string
	redis                       *exec.Cmd
	rdb                         *redis.Client
	sim                         *mxsim.Server
	c                           *tasks.Client
	st                          *store.Store // the records themselves, bookkeeping included
	mu                          sync.Mutex
	workers                     []*exec.Cmd
	startedMu                   sync.Mutex
	started                     map[string]int // per member guid, MX jobs the ended jobs recorded as started (drive)
}

func main() {
	out := flag.String("out", "docs/BENCHMARKS.md", "file whose Chaos section is (re)written")
	jobs := flag.Int("jobs", 2000, "jobs in the kill phase")
	flag.Parse()
	if err := chaos(*out, *jobs); err != nil {
		fmt.Fprintln(os.Stderr, "chaosrun:", err)
		os.Exit(1)
	}
}

func (r *run) startRedis() error {
	r.redis = exec.Command("redis-server", "--port", "0", "--unixsocket", r.sock, "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "everysec", "--save", "")
	if err := r.redis.Start(); err != nil {
		return fmt.Errorf("redis-server is required: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for r.rdb.Ping(ctx).Err() != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("redis-server did not come up")
		}
		pause(ctx, 20*time.Millisecond)
	}
	return nil
}

func (r *run) startWorker() *exec.Cmd {
	w := exec.Command(r.bin, "worker")
	w.Env = append(os.Environ(), "MXFLEET_REDIS_URL=redis-socket://"+r.sock, "MXFLEET_SECRET_KEYS="+r.key,
		"MXFLEET_MX_BASE_URL="+r.simURL, "MXFLEET_MX_CLIENT_ID="+mxsim.DefaultClientID, "MXFLEET_MX_API_KEY="+mxsim.DefaultAPIKey,
		"MXFLEET_POLL_INITIAL=500ms", "MXFLEET_POLL_MAX=2s", "MXFLEET_SCHEDULER_INTERVAL=200ms", "MXFLEET_CHALLENGE_TTL=20s",
		"MXFLEET_JOB_DEADLINE=10m", "MXFLEET_RETRY_BASE=200ms", "MXFLEET_RETRY_MAX=5s", "MXFLEET_RETRY_LATER_DELAY=1s",
		"MXFLEET_SHUTDOWN_TIMEOUT=2s", "MXFLEET_METRICS_ADDR=", "MXFLEET_LOG_LEVEL=error", "MXFLEET_CONCURRENCY=50")
	if err := w.Start(); err != nil {
		panic(err)
	}
	return w
}

// drive runs n jobs over the scenario table (expired excluded only when
// short), answering MFA, and returns how many ended as expected, how many
// did not, and how many did not end by the deadline.
func (r *run) drive(ctx context.Context, prefix string, n int) (ok, wrong, lost int, examples []string) {
	scs := mxsim.Scenarios()
	var rows []struct {
		sc   mxsim.Scenario
		kind store.Kind
	}
	for _, sc := range scs {
		for _, k := range sc.Kinds {
			rows = append(rows, struct {
				sc   mxsim.Scenario
				kind store.Kind
			}{sc, store.Kind(k)})
		}
	}
	var okN, wrongN, lostN atomic.Int64
	var mu sync.Mutex
	sem := make(chan struct{}, 150)
	var wg sync.WaitGroup
	for i := range n {
		row := rows[i%len(rows)]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			id := fmt.Sprintf("%s-%d-%s-%s", prefix, i, row.sc.Name, row.kind)
			j, err := scenario.Run(ctx, r.c, row.sc, row.kind, id, "user-"+id, nil)
			if j != nil && j.MemberGUID != "" {
				// Follow and Triggered are bookkeeping: the record, not the view.
				if rec, err := r.st.Get(ctx, id); err == nil && !rec.Follow {
					r.startedMu.Lock()
					r.started[rec.MemberGUID] += rec.Triggered
					r.startedMu.Unlock()
				}
			}
			switch {
			case err != nil || j == nil || !j.State.Terminal():
				lostN.Add(1)
				mu.Lock()
				if len(examples) < 3 {
					examples = append(examples, fmt.Sprintf("%s not ended (%v)", id, err))
				}
				mu.Unlock()
			case scenario.Check(row.sc, j) != nil:
				wrongN.Add(1)
				mu.Lock()
				if len(examples) < 3 {
					examples = append(examples, id+": "+scenario.Check(row.sc, j).Error())
				}
				mu.Unlock()
			default:
				okN.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(okN.Load()), int(wrongN.Load()), int(lostN.Load()), examples
}

// duplicateStarts runs drive and reports how many MX jobs started beyond
// those the ended records say were started, member by member: a start or
// trigger that ran again after a crash before its record moved, and
// started a new MX job (one that found the same job running is MX's
// no-op). Members that several jobs share (MX's static test members) see
// fewer MX jobs than their records, as MX answers a start while one runs
// with a no-op: a member counts only what it has beyond its records.
func (r *run) duplicateStarts(fn func()) int {
	before := r.sim.Stats().Jobs
	r.startedMu.Lock()
	r.started = map[string]int{}
	r.startedMu.Unlock()
	fn()
	n := 0
	r.startedMu.Lock()
	defer r.startedMu.Unlock()
	for guid, jobs := range r.sim.Stats().Jobs {
		n += max(0, jobs-before[guid]-r.started[guid])
	}
	return n
}

// resumedTwice counts members whose challenges MX saw resumed more times
// than the scenario has MFA rounds.
func (r *run) resumedTwice() int {
	rounds := 0
	for _, sc := range mxsim.Scenarios() {
		rounds = max(rounds, len(sc.Answers))
	}
	n := 0
	for _, ops := range r.sim.Stats().Members {
		if ops["resumeAggregation"] > rounds {
			n++
		}
	}
	return n
}

func chaos(out string, jobs int) error {
	dir, _ := os.MkdirTemp("", "mxchaos")
	defer os.RemoveAll(dir)
	r := &run{dir: dir, sock: filepath.Join(dir, "r.sock"), bin: filepath.Join(dir, "mxfleet")}
	if b, err := exec.Command("go", "build", "-o", r.bin, "./cmd/mxfleet").CombinedOutput(); err != nil {
		return fmt.Errorf("build: %v\n%s", err, b)
	}
	r.rdb = redis.NewClient(&redis.Options{Network: "unix", Addr: r.sock, PoolSize: 64})
	if err := r.startRedis(); err != nil {
		return err
	}
	defer func() { r.redis.Process.Kill(); r.redis.Wait() }()
	r.sim = mxsim.New(mxsim.WithAggregationTime(time.Second))
	hs := httptest.NewServer(r.sim)
	defer hs.Close()
	r.simURL = hs.URL
	r.key, _ = seal.Generate("chaos")
	keys, _ := seal.Parse(r.key)
	r.c = tasks.NewClient(r.rdb, keys)
	r.st = store.New(r.rdb, keys)
	r.workers = []*exec.Cmd{r.startWorker(), r.startWorker()}
	defer func() {
		for _, w := range r.workers {
			w.Process.Kill()
			w.Wait()
		}
	}()
	var rows []string
	start := time.Now()

	// 1. kill -9 a worker every 3 s (and start a new one) during the run.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	stop := make(chan struct{})
	kills := 0
	go func() {
		t := time.NewTicker(3 * time.Second)
		defer t.Stop()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			r.mu.Lock()
			w := r.workers[i%len(r.workers)]
			w.Process.Kill()
			w.Wait()
			r.workers[i%len(r.workers)] = r.startWorker()
			kills++
			r.mu.Unlock()
		}
	}()
	t0 := time.Now()
	var ok, wrong, lost int
	var ex []string
	c0 := redisinfo.Commands(ctx, r.rdb)
	dups := r.duplicateStarts(func() { ok, wrong, lost, ex = r.drive(ctx, "kill", jobs) })
	_, killCmds := redisinfo.PerJob(c0, redisinfo.Commands(context.Background(), r.rdb), jobs)
	close(stop)
	cancel()
	rows = append(rows, fmt.Sprintf("| kill -9 a worker every 3 s (%d kills), 2 workers | %d mixed jobs (every scenario, MFA answered by the harness) | %d as expected, %d not, %d lost; %d members resumed more often than their MFA rounds | %s; %d duplicate starts (MX jobs started beyond one per MX job the records started: a start killed between its MX call and its write that started a new one); %.1f Redis commands per job (%s); %s |",
		kills, jobs, ok, wrong, lost, r.resumedTwice(), time.Since(t0).Round(time.Second), dups, killCmds, cmdsNote, strings.Join(ex, "; ")))
	sum := []string{fmt.Sprintf("kill=%d/%d", ok, jobs)}

	// 2. Redis restart (SIGTERM: AOF flushed) in the middle of 200 jobs.
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Minute)
	go func() {
		pause(ctx, 2*time.Second)
		r.redis.Process.Signal(os.Interrupt)
		r.redis.Wait()
		_ = r.startRedis()
	}()
	ok, wrong, lost, ex = r.drive(ctx, "redis", 200)
	cancel()
	rows = append(rows, fmt.Sprintf("| restart redis-server (AOF everysec) 2 s into the run | 200 mixed jobs | %d as expected, %d not, %d lost | %s |", ok, wrong, lost, strings.Join(ex, "; ")))
	sum = append(sum, fmt.Sprintf("redis_restart=%d/200", ok))

	// 3. MX storm.
	before := r.sim.Stats().Calls
	r.sim.SetFaults(mxsim.Faults{ErrorRate: 0.2, RateLimitRate: 0.05, RetryAfter: time.Second, DropRate: 0.02, Jitter: 500 * time.Millisecond})
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Minute)
	c0 = redisinfo.Commands(ctx, r.rdb)
	ok, wrong, lost, ex = r.drive(ctx, "storm", 300)
	_, stormCmds := redisinfo.PerJob(c0, redisinfo.Commands(context.Background(), r.rdb), 300)
	cancel()
	r.sim.SetFaults(mxsim.Faults{})
	after := r.sim.Stats().Calls
	calls := 0
	for k, v := range after {
		calls += v - before[k]
	}
	rows = append(rows, fmt.Sprintf("| MX storm: 20%% 5xx, 5%% 429 (Retry-After 1 s), 2%% dropped connections, 0–500 ms jitter | 300 mixed jobs | %d as expected, %d not, %d lost | %.1f MX calls per job that reached MX (4 for a verify job without faults or MFA on v20250224); %.1f Redis commands per job (%s); %s |", ok, wrong, lost, float64(calls)/300, stormCmds, cmdsNote, strings.Join(ex, "; ")))
	sum = append(sum, fmt.Sprintf("storm=%d/300", ok))

	section := fmt.Sprintf("\n## Chaos\n\nWritten by `make chaos` (`go run ./internal/harness/chaos`) on %s, %s in all: worker *processes* (`mxfleet worker`) against redis-server with AOF, the simulator in the harness (aggregation 1 s). \"As expected\" is the scenario's expected state, connection status and error code.\n\n| chaos | run | outcome | notes |\n|---|---|---|---|\n%s\n\nChaos summary: %s\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), time.Since(start).Round(time.Second), strings.Join(rows, "\n"), strings.Join(sum, " "))
	b, _ := os.ReadFile(out)
	doc := string(b)
	if i := strings.Index(doc, "\n## Chaos\n"); i >= 0 {
		doc = doc[:i]
	}
	if err := os.WriteFile(out, []byte(strings.TrimRight(doc, "\n")+"\n"+section), 0o644); err != nil {
		return err
	}
	fmt.Println("summary:", strings.Join(sum, " "))
	return nil
}

// cmdsNote says what a chaos row's Redis commands per job count: every
// command redis-server ran during the row (INFO commandstats), so they
// compare between runs of the same harness, not with make bench's.
const cmdsNote = "every command of the row: handlers, retries, asynq's own polling by two worker processes, the harness's submits and reads"

// pause waits d or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
