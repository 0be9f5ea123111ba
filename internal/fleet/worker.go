package fleet

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/learn"
	"github.com/mxfleet/mxfleet/internal/metrics"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Worker is one asynq server running the fleet's handlers, and the sweeper.
type Worker struct {
	srv        *asynq.Server
	q          *asynq.Client
	mux        *asynq.ServeMux
	h          *handlers.Handlers
	store      *store.Store
	log        zerolog.Logger
	Metrics    *metrics.Metrics
	sweepEvery time.Duration
	learner    *learn.Learner // nil: polls follow the backoff
	stopSweep  context.CancelFunc
	sweeping   sync.WaitGroup
	started    atomic.Bool
	stop       sync.Once
}

// NewWorker builds a worker on rdb. hc, when not nil, is the HTTP client
// for MX calls.
func NewWorker(rdb redis.UniversalClient, cfg Config, hc *http.Client, log zerolog.Logger) (*Worker, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := metrics.New()
	risk, err := CheckEviction(context.Background(), rdb, cfg.RedisAllowEviction, log)
	if err != nil {
		return nil, err
	}
	m.Gauge("mxfleet_redis_eviction_risk", "1 when the worker runs on a Redis whose maxmemory-policy is not noeviction (MXFLEET_REDIS_ALLOW_EVICTION=true), else 0.", func(context.Context) (float64, error) {
		if risk {
			return 1, nil
		}
		return 0, nil
	})
	mxc, err := cfg.MXClient(hc, mx.WithUserAgent("mxfleet"), mx.WithLogger(log.With().Str("component", "mx").Logger()),
		mx.WithLimiter(store.NewMXLimiter(rdb, cfg.MXRate, time.Second)), mx.WithObserver(m.MXCall))
	if err != nil {
		return nil, err
	}
	keys, err := cfg.Keys()
	if err != nil {
		return nil, err
	}
	q := asynq.NewClientFromRedisClient(rdb)
	st := store.New(rdb, keys, store.WithRetention(cfg.JobRetention))
	insp := asynq.NewInspectorFromRedisClient(rdb)
	hcfg := cfg.Handlers()
	hcfg.Metrics, hcfg.Inspector = m, insp
	lrn, err := cfg.learner(rdb, st.Now, &hcfg, m, log)
	if err != nil {
		return nil, err
	}
	h := handlers.New(mxc, st, q, keys, hcfg, log)
	queues, err := cfg.QueueWeights()
	if err != nil {
		return nil, err
	}
	m.Gauge("mxfleet_jobs_parked", "Jobs parked on an MFA challenge, waiting for answers (fleet-wide).", func(ctx context.Context) (float64, error) {
		n, err := st.ParkedCount(ctx)
		return float64(n), err
	})
	webhooks := 0.0
	if cfg.WebhookSecret != "" {
		webhooks = 1
	}
	m.Gauge("mxfleet_webhooks_configured", "1 when MXFLEET_WEBHOOK_SECRET is set: MX webhooks are expected to wake polls.", func(context.Context) (float64, error) {
		return webhooks, nil
	})
	m.WatchQueues(insp, st, slices.Sorted(maps.Keys(tasks.Queues)))
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   queues,
		RetryDelayFunc:           handlers.RetryDelay(st.Now, cfg.RetryBase, cfg.RetryMax),
		IsFailure:                handlers.IsFailure, // a wait (handlers.ErrWait) runs again without spending a retry
		DelayedTaskCheckInterval: cfg.SchedulerInterval,
		TaskCheckInterval:        cfg.TaskCheckInterval,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   asynqLogger{log.With().Str("component", "asynq").Logger()},
		LogLevel:                 asynqLevel(log.GetLevel()),
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			id, _ := asynq.GetTaskID(ctx)
			n, _ := asynq.GetRetryCount(ctx)
			if !handlers.IsFailure(err) {
				log.Debug().Str("task_type", t.Type()).Str("task_id", id).Int("retried", n).Str("reason", err.Error()).Msg("task waits")
				return
			}
			log.Warn().Str("task_type", t.Type()).Str("task_id", id).Int("retried", n).Str("error", err.Error()).Msg("task failed")
		}),
	})
	mux := h.Mux()
	mux.Use(outlastRedis(rdb, st, log))
	return &Worker{srv: srv, q: q, mux: mux, h: h, store: st, log: log, Metrics: m, sweepEvery: cfg.SweepInterval, learner: lrn}, nil
}

// Start begins processing in the background, and sweeping when
// MXFLEET_SWEEP_INTERVAL is set.
func (w *Worker) Start() error {
	if err := w.srv.Start(w.mux); err != nil {
		return err
	}
	w.started.Store(true)
	if w.sweepEvery > 0 || w.learner != nil {
		ctx, cancel := context.WithCancel(context.Background())
		w.stopSweep = cancel
		if w.sweepEvery > 0 {
			w.sweeping.Go(func() { w.sweep(ctx) })
		}
		if w.learner != nil {
			w.sweeping.Go(func() { runLearner(ctx, w.learner) })
		}
	}
	return nil
}

// sweep runs the handlers' Sweep every interval on whichever worker of the
// fleet takes the turn first, until ctx ends.
func (w *Worker) sweep(ctx context.Context) {
	tick := time.NewTicker(w.sweepEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		turn, err := w.store.SweepTurn(ctx, w.sweepEvery)
		if err != nil || !turn {
			if err != nil && ctx.Err() == nil {
				w.log.Warn().Str("error", err.Error()).Msg("sweep: could not take the turn")
			}
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, w.sweepEvery)
		n, err := w.h.Sweep(sctx)
		cancel()
		switch {
		case err != nil && ctx.Err() == nil:
			w.log.Warn().Int("repaired", n).Str("error", err.Error()).Msg("sweep failed")
		case n > 0:
			w.log.Info().Int("repaired", n).Msg("sweep repaired jobs that had lost their next task")
		}
	}
}

// Ready tells whether the worker takes work: started, not stopping, and
// Redis answers.
func (w *Worker) Ready(ctx context.Context) error {
	if !w.started.Load() {
		return errors.New("the asynq server is not running")
	}
	return w.store.Ping(ctx)
}

// Shutdown stops taking work, waits up to the shutdown timeout for running
// tasks, and hands back to the queue whatever is still running.
// Calling it again does nothing.
func (w *Worker) Shutdown() {
	w.stop.Do(func() {
		w.started.Store(false)
		if w.stopSweep != nil {
			w.stopSweep()
			w.sweeping.Wait()
		}
		w.srv.Shutdown()
		_ = w.q.Close()
	})
}

// asynqLogger sends asynq's own log lines to zerolog.
type asynqLogger struct{ l zerolog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Info(args ...any)  { a.l.Info().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Error(args ...any) { a.l.Error().Msg(fmt.Sprint(args...)) }
func (a asynqLogger) Fatal(args ...any) { a.l.Fatal().Msg(fmt.Sprint(args...)) }

func asynqLevel(l zerolog.Level) asynq.LogLevel {
	switch {
	case l <= zerolog.DebugLevel:
		return asynq.DebugLevel
	case l == zerolog.InfoLevel:
		return asynq.InfoLevel
	case l == zerolog.WarnLevel:
		return asynq.WarnLevel
	}
	return asynq.ErrorLevel
}
