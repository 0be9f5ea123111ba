package fleet

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/handlers"
	"github.com/mxfleet/mxfleet/internal/learn"
	"github.com/mxfleet/mxfleet/internal/metrics"
	"github.com/mxfleet/mxfleet/internal/pollplan"
	"github.com/mxfleet/mxfleet/store"
)

// Learned tells whether polls follow learned schedules
// (MXFLEET_POLL_SCHEDULE): learned, backoff, or auto (the default):
// learned when MXFLEET_POLL_INITIAL is at least MX's 3 s minimum between
// status reads. A learned schedule never reads sooner than 3 s apart, so
// a fleet configured to poll faster than MX allows (the demo, tests)
// keeps the backoff it asked for; asking for learned there is refused.
func (c Config) Learned() (bool, error) {
	min := pollplan.DefaultConfig().MinGap
	switch strings.ToLower(strings.TrimSpace(c.PollSchedule)) {
	case "", "auto":
		return c.PollInitial >= min, nil
	case "backoff":
		return false, nil
	case "learned":
		if c.PollInitial > 0 && c.PollInitial < min {
			return false, fmt.Errorf("%s_POLL_SCHEDULE=learned reads no sooner than MX's %s minimum, but %s_POLL_INITIAL=%s asks for faster polls: raise it to %s or more, or use backoff", Prefix, min, Prefix, c.PollInitial, min)
		}
		return true, nil
	}
	return false, fmt.Errorf("%s_POLL_SCHEDULE=%q: want learned, backoff or auto", Prefix, truncate(c.PollSchedule, 20))
}

// PollPlan is the learned schedules' settings: MX's 3 s minimum, the
// fleet's backoff (MXFLEET_POLL_INITIAL, ×1.5, MXFLEET_POLL_MAX) before an
// estimate is trusted and after a plan's reads are spent, and how late a
// read may run (MXFLEET_SCHEDULER_INTERVAL, for ETAs).
func (c Config) PollPlan() pollplan.Config {
	p := pollplan.DefaultConfig()
	p.Initial, p.Max = c.PollInitial, max(c.PollMax, c.PollInitial)
	p.ReadDelay = c.SchedulerInterval
	return p
}

// learner builds the worker's learned schedules (nil when off) and hooks
// them into the state machine and the polls.
func (c Config) learner(rdb redis.UniversalClient, now func() time.Time, h *handlers.Config, m *metrics.Metrics, log zerolog.Logger) (*learn.Learner, error) {
	on, err := c.Learned()
	if err != nil || !on {
		return nil, err
	}
	l := learn.New(store.NewPollPlan(rdb), learn.Options{Plan: c.PollPlan(), Now: now, Log: log.With().Str("component", "pollplan").Logger()})
	if m != nil {
		if err := l.Register(m.Registry); err != nil {
			return nil, err
		}
	}
	h.Schedule, h.Observer = l, l
	return l, nil
}

// runLearner syncs the learned schedules with the fleet until ctx ends,
// starting at once (a pod that starts uses what the fleet has learned).
func runLearner(ctx context.Context, l *learn.Learner) {
	_ = l.Sync(ctx)
	l.Run(ctx, learn.DefaultSync)
}

// ETAs is a read-only view of the fleet's learned run times for a
// process that runs no jobs (the API, the CLI): the running jobs' views
// read it for their ETA, and it reads the shared estimates at most once
// per sync interval (5 s), never per job. Nil (no ETA: the views say
// none) when polls do not follow learned schedules, so nothing is learned.
func (c Config) ETAs(rdb redis.UniversalClient) store.Estimator {
	if on, err := c.Learned(); err != nil || !on {
		return nil
	}
	return learn.New(store.NewPollPlan(rdb), learn.Options{Plan: c.PollPlan(), ReadEvery: learn.DefaultSync})
}
