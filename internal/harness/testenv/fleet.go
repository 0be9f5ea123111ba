package testenv

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/fleet"
	"github.com/mxfleet/mxfleet/internal/harness/mxspec"
	"github.com/mxfleet/mxfleet/internal/metrics"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/mx/mxsim"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Fleet is a whole fleet for a test: its own Redis, the MX simulator over
// real HTTP, a worker (real asynq server) and a producer client.
type Fleet struct {
	Redis     *Redis
	Sim       *mxsim.Server
	SimURL    string
	Config    fleet.Config
	Client    *tasks.Client
	Store     *store.Store // the records themselves, bookkeeping included (Client returns views)
	Inspector *asynq.Inspector
	Raw       *asynq.Client // enqueues tasks as any producer could, bad ones included
	Logs      *SyncBuffer   // everything the worker logged
	Keys      *tasks.Keyring
	worker    *fleet.Worker
	mxHTTP    *http.Client // the workers' MX HTTP client; nil: the default
}

// FastConfig is a worker configuration for the simulator's short jobs.
func FastConfig(mxURL string) fleet.Config {
	key, err := seal.Generate("test")
	if err != nil {
		panic(err)
	}
	return fleet.Config{
		SecretKeys: key,
		MXBaseURL:  mxURL, MXClientID: mxsim.DefaultClientID, MXAPIKey: mxsim.DefaultAPIKey, MXTimeout: 5 * time.Second,
		Concurrency: 20, ChallengeTTL: 3 * time.Second, JobDeadline: time.Minute,
		PollInitial: 100 * time.Millisecond, PollMax: 500 * time.Millisecond, RetryBase: 50 * time.Millisecond, RetryMax: 2 * time.Second, RetryLaterDelay: 200 * time.Millisecond, MaxAttempts: 3,
		JobRetention: time.Hour, SchedulerInterval: 100 * time.Millisecond, ShutdownTimeout: 2 * time.Second,
		LogLevel: "info", LogFormat: "json",
	}
}

// NewFleet starts a fleet. simOpts configure the simulator (aggregation
// time 200ms unless given); tune, when not nil, adjusts the worker config.
func NewFleet(t testing.TB, tune func(*fleet.Config), simOpts ...mxsim.Option) *Fleet {
	t.Helper()
	return NewFleetOn(t, NewRedis(t), tune, simOpts...)
}

// NewFleetOn is NewFleet on a given Redis (e.g. NewCluster).
func NewFleetOn(t testing.TB, r *Redis, tune func(*fleet.Config), simOpts ...mxsim.Option) *Fleet {
	t.Helper()
	return newFleet(t, r, tune, nil, simOpts...)
}

// NewCheckedFleet is NewFleet whose worker's every MX call, and every
// answer of the simulator, is checked against MX's spec of its version.
func NewCheckedFleet(t testing.TB, tune func(*fleet.Config), simOpts ...mxsim.Option) (*Fleet, *mxspec.Checker) {
	t.Helper()
	var c *mxspec.Checker
	f := newFleet(t, NewRedis(t), tune, func(simURL string, cfg fleet.Config) *http.Client {
		v, err := cfg.MXVersion()
		if err != nil {
			t.Fatal(err)
		}
		c = mxspec.NewChecker(t, simURL, string(v))
		c.Accept = func(v string) string { return mx.Version(v).Accept() }
		return &http.Client{Transport: c.Transport(mx.DefaultTransport())}
	}, simOpts...)
	return f, c
}

func newFleet(t testing.TB, r *Redis, tune func(*fleet.Config), client func(simURL string, cfg fleet.Config) *http.Client, simOpts ...mxsim.Option) *Fleet {
	t.Helper()
	sim := mxsim.New(append([]mxsim.Option{mxsim.WithAggregationTime(200 * time.Millisecond)}, simOpts...)...)
	hs := httptest.NewServer(sim)
	t.Cleanup(hs.Close)
	cfg := FastConfig(hs.URL)
	if tune != nil {
		tune(&cfg)
	}
	keys, err := cfg.Keys()
	if err != nil {
		t.Fatal(err)
	}
	f := &Fleet{Redis: r, Sim: sim, SimURL: hs.URL, Config: cfg, Logs: &SyncBuffer{}, Keys: keys,
		Client: tasks.NewClient(r.Client, keys), Store: store.New(r.Client, keys), Inspector: asynq.NewInspectorFromRedisClient(r.Client)}
	f.Raw = asynq.NewClientFromRedisClient(r.Client)
	t.Cleanup(func() { _ = f.Client.Close(); _ = f.Raw.Close() })
	if client != nil {
		f.mxHTTP = client(hs.URL, cfg)
	}
	f.worker = f.StartWorker(t)
	return f
}

// StopWorker shuts the fleet's first worker down gracefully.
func (f *Fleet) StopWorker() { f.worker.Shutdown() }

// StartWorker starts one more worker on the fleet's Redis, stopped at
// cleanup (or by the returned worker's Shutdown).
func (f *Fleet) StartWorker(t testing.TB) *fleet.Worker {
	t.Helper()
	log := zerolog.New(f.Logs).Level(zerolog.DebugLevel).With().Timestamp().Logger()
	w, err := fleet.NewWorker(f.Redis.Client, f.Config, f.mxHTTP, log)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Shutdown)
	return w
}

// Sweeper builds handlers on the fleet's Redis, MX and keys whose Sweep
// looks at jobs quiet for quiet (a worker's sweeps wait minutes).
func (f *Fleet) Sweeper(t testing.TB, quiet time.Duration) (*handlers.Handlers, *metrics.Metrics) {
	t.Helper()
	mxc, err := mx.New(mx.WithBaseURL(f.SimURL), mx.WithCredentials(f.Config.MXClientID, f.Config.MXAPIKey))
	if err != nil {
		t.Fatal(err)
	}
	q := asynq.NewClientFromRedisClient(f.Redis.Client)
	t.Cleanup(func() { _ = q.Close() })
	cfg := f.Config.Handlers()
	cfg.SweepQuiet, cfg.Inspector, cfg.Metrics = quiet, f.Inspector, metrics.New()
	st := store.New(f.Redis.Client, f.Keys, store.WithRetention(f.Config.JobRetention))
	return handlers.New(mxc, st, q, f.Keys, cfg, zerolog.New(f.Logs)), cfg.Metrics
}

// SweepOften sweeps, every half second until the returned stop is called,
// the jobs quiet for 2 s (a worker sweeps jobs quiet for minutes, every
// minute): what failover tests need to see lost tasks repaired within
// their runs. stop returns how many jobs were repaired.
func (f *Fleet) SweepOften(t testing.TB, ctx context.Context) (stop func() int) {
	h, _ := f.Sweeper(t, 2*time.Second)
	done := make(chan struct{})
	var wg sync.WaitGroup
	repaired := 0
	wg.Go(func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			n, err := h.Sweep(ctx)
			repaired += n
			if err != nil {
				t.Logf("sweep: %v", err) // Redis may still be settling
			}
		}
	})
	return func() int {
		close(done)
		wg.Wait()
		return repaired
	}
}

// SyncBuffer is a bytes.Buffer safe for concurrent writers.
type SyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *SyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// String returns everything written so far.
func (s *SyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Record reads job id's record as the store keeps it, bookkeeping
// included (claims, attempts, expiry): what a test checks beyond the view
// the producer returns.
func (f *Fleet) Record(t testing.TB, ctx context.Context, id string) *store.Job {
	t.Helper()
	j, err := f.Store.Get(ctx, id)
	if err != nil {
		t.Fatalf("job %s: read the record: %v", id, err)
	}
	return j
}
