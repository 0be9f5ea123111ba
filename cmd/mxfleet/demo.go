package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"

	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/scenario"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

const demoHelp = `Usage: mxfleet demo [flags]

Runs the whole fleet in one process with nothing installed: an in-process
Redis (miniredis), the MX simulator and a worker. It enqueues a verify and an
identify job for every simulator scenario, answers MFA as each scenario says
(leaving "expired" unanswered), plays the end user at the OAuth scenarios'
window pages (approve, deny; "oauth_expired" waits out the 5 s window),
shows live progress and prints a table.
Exits 0 when every job ended as its scenario expects.

`

// demoOAuthWindow is how long the demo's OAuth window URIs live.
const demoOAuthWindow = 5 * time.Second

// demoConfig is a worker tuned for the simulator's short jobs.
func demoConfig(mxURL string) fleet.Config {
	key, err := seal.Generate("demo")
	if err != nil {
		panic(err)
	}
	return fleet.Config{
		SecretKeys: key,
		MXBaseURL:  mxURL, MXClientID: mxsim.DefaultClientID, MXAPIKey: mxsim.DefaultAPIKey, MXTimeout: 10 * time.Second,
		Concurrency: 20, ChallengeTTL: 5 * time.Second, JobDeadline: 2 * time.Minute,
		PollInitial: 300 * time.Millisecond, PollMax: 2 * time.Second, RetryBase: 50 * time.Millisecond, RetryMax: 2 * time.Second, RetryLaterDelay: time.Second, MaxAttempts: 3,
		JobRetention: time.Hour, SchedulerInterval: 100 * time.Millisecond, ShutdownTimeout: 5 * time.Second,
		LogLevel: "warn", LogFormat: "console",
	}
}

type demoRow struct {
	sc   mxsim.Scenario
	kind store.Kind
	job  *store.View
	err  error
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flags("demo", stderr, demoHelp)
	agg := fs.Duration("aggregation-time", time.Second, "how long each simulated MX job takes")
	only := fs.String("only", "", "run only the scenarios whose names contain this")
	verbose := fs.Bool("verbose", false, "show the worker's log (job transitions)")
	widget := fs.Bool("widget", false, "instead of the scenario table: serve the simulated MXconnect page, wait for you to connect MX Bank in a browser, then follow that member")
	if pos, err := parse(fs, args); err != nil {
		return err
	} else if len(pos) > 0 {
		return exitError{2, fmt.Errorf("unexpected argument %q", pos[0])}
	}

	mr := miniredis.NewMiniRedis()
	if err := mr.Start(); err != nil {
		return err
	}
	defer mr.Close()
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()

	sim := mxsim.New(mxsim.WithAggregationTime(*agg), mxsim.WithOAuthWindow(demoOAuthWindow))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	hs := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = hs.Serve(ln) }()
	defer hs.Close()

	cfg := demoConfig("http://" + ln.Addr().String())
	if *verbose {
		cfg.LogLevel = "info"
	}
	log, err := newLogger(cfg.LogLevel, cfg.LogFormat, redactor(stderr, cfg))
	if err != nil {
		return err
	}
	w, err := fleet.NewWorker(rdb, cfg, nil, log)
	if err != nil {
		return err
	}
	if err := w.Start(); err != nil {
		return err
	}
	defer w.Shutdown()
	keys, err := cfg.Keys()
	if err != nil {
		return err
	}
	c := tasks.NewClient(rdb, keys)
	defer c.Close()

	fmt.Fprintf(stdout, "mxfleet demo: in-process Redis at %s, MX simulator at http://%s, one worker (concurrency %d)\n",
		mr.Addr(), ln.Addr(), cfg.Concurrency)
	fmt.Fprintln(stdout, "secrets are sealed with an ephemeral key made for this demo run only; a worker or producer needs MXFLEET_SECRET_KEYS (mxfleet keygen)")
	if *widget {
		return widgetDemo(ctx, stdout, c, cfg)
	}
	var rows []*demoRow
	for _, sc := range scenario.All() {
		if *only != "" && !strings.Contains(sc.Name, *only) {
			continue
		}
		for _, k := range sc.Kinds {
			rows = append(rows, &demoRow{sc: sc, kind: store.Kind(k)})
		}
	}
	if len(rows) == 0 {
		return fmt.Errorf("no scenario matches %q", *only)
	}
	names := map[string]bool{}
	for _, r := range rows {
		names[r.sc.Name] = true
	}
	fmt.Fprintf(stdout, "running %d jobs across %d scenarios; challenges are answered as each scenario says\n", len(rows), len(names))

	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	var mu sync.Mutex
	states := map[string]store.State{}
	var wg sync.WaitGroup
	start := time.Now()
	for i, r := range rows {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("demo-%02d-%s-%s", i+1, r.sc.Name, r.kind)
			r.job, r.err = scenario.Run(ctx, c, r.sc, r.kind, id, "demo-user-"+id, func(j *store.View) {
				mu.Lock()
				states[j.ID] = j.State
				mu.Unlock()
			})
			if r.err == nil {
				r.err = scenario.Check(r.sc, r.job)
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	progress(stdout, done, start, func() string {
		mu.Lock()
		defer mu.Unlock()
		n := map[store.State]int{}
		for _, s := range states {
			n[s]++
		}
		return fmt.Sprintf("%5.1fs  pending %d  running %d  challenged %d  succeeded %d  failed %d",
			time.Since(start).Seconds(), n[store.StatePending], n[store.StateRunning], n[store.StateChallenged], n[store.StateSucceeded], n[store.StateFailed])
	})

	sort.SliceStable(rows, func(a, b int) bool { return rows[a].sc.Name < rows[b].sc.Name })
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nJOB\tKIND\tSCENARIO\tSTATE\tMX STATUS\tPOLLS\tRESULT\tAS EXPECTED")
	bad := 0
	for _, r := range rows {
		ok := "yes"
		if r.err != nil {
			ok = "NO: " + r.err.Error()
			bad++
		}
		if r.job == nil {
			fmt.Fprintf(tw, "-\t%s\t%s\t-\t-\t-\t-\t%s\n", r.kind, r.sc.Name, ok)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\n", r.job.ID, r.kind, r.sc.Name, r.job.State, orDash(r.job.ConnectionStatus), r.job.Polls, scenario.Summary(r.job), ok)
	}
	tw.Flush()
	st := sim.Stats()
	fmt.Fprintf(stdout, "\n%d jobs in %.1fs, %d MX calls; %d as expected, %d not.\n", len(rows), time.Since(start).Seconds(), total(st.Calls), len(rows)-bad, bad)
	fmt.Fprint(stdout, demoEpilogue)
	if bad > 0 {
		return exitError{1, errors.New("some jobs did not end as their scenario expects")}
	}
	return nil
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// progress redraws one status line until done (one line a second when
// not on a terminal).
func progress(out io.Writer, done <-chan struct{}, start time.Time, line func() string) {
	tty := isTerminal(out)
	every := time.Second
	if tty {
		every = 200 * time.Millisecond
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-done:
			if tty {
				fmt.Fprintf(out, "\r\033[K%s\n", line())
			} else {
				fmt.Fprintln(out, line())
			}
			return
		case <-t.C:
			if tty {
				fmt.Fprintf(out, "\r\033[K%s", line())
			} else {
				fmt.Fprintln(out, line())
			}
		}
	}
}

const demoEpilogue = `
The same against a real Redis, with asynqmon watching the queues:
  redis-server --port 6379 &
  mxfleet sim --addr 127.0.0.1:8089 &
  export MXFLEET_REDIS_URL=redis://127.0.0.1:6379/0 MXFLEET_SECRET_KEYS=$(mxfleet keygen)
  MXFLEET_MX_BASE_URL=http://127.0.0.1:8089 MXFLEET_MX_CLIENT_ID=sim-client-id MXFLEET_MX_API_KEY=sim-api-key \
    mxfleet worker &
  mxfleet verify --user-id alice --institution mxbank \
    --credential username=mxuser --credential password=challenge --wait
  asynqmon --redis-addr=127.0.0.1:6379 --port=8081 --read-only   # then open http://127.0.0.1:8081
`

// widgetDemo walks the MXconnect flow: a widget URL for a demo user, a
// person connects MX Bank in the simulated page, and a follow job reads the
// member's account numbers without starting a verification.
func widgetDemo(ctx context.Context, out io.Writer, c *tasks.Client, cfg fleet.Config) error {
	mxc, err := cfg.MXClient(nil)
	if err != nil {
		return err
	}
	user, err := mxc.CreateUser(ctx, mx.UserCreate{ID: "demo-widget-user"})
	if err != nil {
		return err
	}
	w, err := mxc.RequestWidgetURL(ctx, user.GUID, mx.WidgetURLRequest{Mode: "verification"})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\nOpen this MXconnect page (simulated) in a browser on this machine:\n\n  %s\n\n", w.URL)
	fmt.Fprintln(out, "Pick MX Bank, sign in as mxuser with password correct (or challenge: answer correct). Waiting up to 10 minutes…")
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	t := time.NewTicker(500 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("no member connected: %w", ctx.Err())
		case <-t.C:
		}
		members, err := mx.Collect(mxc.Members(ctx, user.GUID))
		if err != nil {
			return err
		}
		for _, m := range members {
			if m.ConnectionStatus != "CONNECTED" || m.IsBeingAggregated {
				continue
			}
			fmt.Fprintf(out, "member %s connected (the page posted mx/connect/memberConnected); following it\n", m.GUID)
			j, err := c.Verify(ctx, tasks.Request{ID: "demo-widget-follow", User: tasks.User{GUID: user.GUID},
				Member: tasks.Member{GUID: m.GUID, Follow: true}})
			if err != nil {
				return err
			}
			if j, err = c.Wait(ctx, j.ID); err != nil {
				return err
			}
			printJob(out, j)
			return nil
		}
	}
}
