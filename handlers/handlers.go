// Package handlers executes the fleet's state machine (package job) as
// asynq handlers: each loads the job record, calls MX, asks package job
// what to do, and hands the decision to execute, the one place that
// enqueues follow-ups, enqueues the callback and writes the record.
//
//	start ─▶ ensure user ─▶ ensure member ─▶ verify/identify ─▶ poll ─┬─▶ succeeded (results stored)
//	                                                ▲                 ├─▶ failed (code)
//	                                  trigger ◀─────┼── retry later ──┤
//	                                                │                 └─▶ challenged (parked) ─▶ answer ─▶ resume ─▶ poll
//	                                                └──────────────────────────────────────── expire ─▶ failed
//
// Every handler may run twice or die at any line (asynq delivers at least
// once). Each step therefore reads the job record first and does nothing
// when its work is already done, follow-up tasks have deterministic ids
// (enqueued before the record moves on, so a crash in between is repaired
// by the retry), and every record change is a compare-and-set.
// No handler waits for an MX job: waiting for MX is a scheduled task (a
// handler holds its slot only for an MX or Redis call, plus at most 1 s
// in place when the fleet-wide MX rate limiter says so), and a task that
// runs before the step it follows has recorded its work returns a wait
// (ErrWait), which asynq runs again shortly and counts as no failure.
// Sweep drives on jobs whose next task Redis lost (a failover).
// Micro-deposit jobs (mx:microdeposit) take the same poll, answer and
// expiry tasks; microdeposit.go has their MX calls.
package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/callback"
	"github.com/mxfleet/mxfleet/internal/metrics"
	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Config tunes the state machine (job.Config: polls, deadline, challenge
// TTL, restarts) and the handlers around it.
type Config struct {
	job.Config
	CallbackSecret []byte          // signs callbacks (HMAC-SHA256)
	CallbackClient *http.Client    // posts callbacks; nil: jobs with callbacks fail delivery
	CallbackAllow  *callback.Allow // checked again at delivery
	SweepQuiet     time.Duration   // Sweep looks at jobs whose records have not changed for this long
	// Inspector looks tasks up for Sweep, and for a due expiry the
	// answers of its round still in asynq.
	Inspector *asynq.Inspector
	Metrics   *metrics.Metrics
	Observer  Observer // learns MX's run times from polls (learned schedules); nil: none
	// Webhooks: MX webhooks are configured (MXFLEET_WEBHOOK_SECRET), so a
	// poll reads whether one came before it (the webhook-health metrics);
	// without them it spends no Redis read on it.
	Webhooks bool
}

// DefaultConfig is what a worker uses unless told otherwise.
func DefaultConfig() Config {
	return Config{Config: job.Config{PollInitial: 3 * time.Second, PollMax: time.Minute, PollFactor: 1.5,
		JobDeadline: 15 * time.Minute, ChallengeTTL: 10 * time.Minute,
		RetryLaterDelay: 5 * time.Minute, MaxAttempts: 3, Jitter: rand.Float64}, SweepQuiet: 2*time.Minute + time.Second}
}

// Handlers holds what the handlers share.
type Handlers struct {
	mx    *mx.Client
	store *store.Store
	q     *asynq.Client
	keys  *tasks.Keyring
	cfg   Config
	log   zerolog.Logger
	creds credentialCache
	now   func() time.Time // the one clock: the store's (store.WithClock)
}

// New returns the handlers. q enqueues follow-up tasks; keys open the
// credentials and answers producers sealed.
func New(mxc *mx.Client, st *store.Store, q *asynq.Client, keys *tasks.Keyring, cfg Config, log zerolog.Logger) *Handlers {
	return &Handlers{mx: mxc, store: st, q: q, keys: keys, cfg: cfg, log: log, now: st.Now}
}

// Mux routes every task type of the fleet.
func (h *Handlers) Mux() *asynq.ServeMux {
	m := asynq.NewServeMux()
	m.HandleFunc(tasks.TypeVerify, h.wrap(h.handleStart))
	m.HandleFunc(tasks.TypeIdentify, h.wrap(h.handleStart))
	m.HandleFunc(tasks.TypeMicrodeposit, h.wrap(h.handleMicrodepositStart))
	m.HandleFunc(tasks.TypeAnswer, h.wrap(h.handleAnswer))
	m.HandleFunc(tasks.TypePoll, h.wrap(h.handlePoll))
	m.HandleFunc(tasks.TypeTrigger, h.wrap(h.handleTrigger))
	m.HandleFunc(tasks.TypeExpire, h.wrap(h.handleExpire))
	m.HandleFunc(tasks.TypeCallback, h.wrap(h.handleCallback))
	m.HandleFunc(tasks.TypeOAuth, h.wrap(h.handleOAuthWindow))
	return m
}

// wrap is the one place that decides how a task's error ends for asynq:
// a wait runs again and spends no retry; a refused payload and a stop
// (the job ended, or the task is refused) are archived without retries
// (asynq.SkipRetry); a write a full Redis refused (store.Full) waits for
// room, spending no retry, so that a full Redis ends no job; and on the
// task's last retry any other error ends the job (mx_unavailable for a
// transient MX error, else retries_exhausted), so that no job is left
// running with nothing scheduled to drive it.
func (h *Handlers) wrap(fn func(context.Context, *asynq.Task) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		err := fn(ctx, t)
		switch {
		case err == nil || errors.Is(err, ErrWait):
			// A wait is not a failure (IsFailure): it spends no retry,
			// so it ends no job either.
			return err
		case errors.Is(err, tasks.ErrBadPayload):
			id, _ := asynq.GetTaskID(ctx)
			h.log.Warn().Str("task_type", t.Type()).Str("task_id", id).Str("reason", err.Error()).Msg("task refused")
		case errors.As(err, new(*stopError)):
		case store.Full(err):
			return wait(job.WaitDelay, "Redis is full: %v", err)
		case lastTry(ctx) && t.Type() != tasks.TypeCallback:
			// A callback that cannot be delivered is the receiver's
			// problem, not the job's: its task is archived, the job
			// stays as it is.
			if err = h.exhausted(ctx, t, err); store.Full(err) {
				// the end itself was refused: the task runs again
				return wait(job.WaitDelay, "Redis is full: %v", err)
			}
		}
		if errors.Is(err, tasks.ErrBadPayload) || errors.As(err, new(*stopError)) {
			return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
		}
		return err
	}
}

// exhausted ends the job of a task whose step failed on its last retry:
// mx_unavailable when MX kept failing transiently, else retries_exhausted.
func (h *Handlers) exhausted(ctx context.Context, t *asynq.Task, err error) error {
	var ref struct {
		JobID string `json:"job_id"`
	}
	if json.Unmarshal(t.Payload(), &ref) != nil || store.ValidateID(ref.JobID) != nil {
		return err
	}
	n, _ := asynq.GetRetryCount(ctx)
	// The task's own context may be spent: record the end with a fresh one.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return h.fail(fctx, ref.JobID, job.RetriesSpent{Retries: n, MXFailing: errors.As(err, new(*mxRetryError)), Err: err})
}

// RetryDelay returns the worker's asynq RetryDelayFunc: exponential
// backoff from base (doubling per retry, capped at maxDelay) with jitter
// over the upper half, or MX's Retry-After when it asks for longer. A wait
// (ErrWait) runs again when it says, by the clock now (the store's).
func RetryDelay(now func() time.Time, base, maxDelay time.Duration) asynq.RetryDelayFunc {
	return func(n int, err error, _ *asynq.Task) time.Duration {
		if w := (*WaitError)(nil); errors.As(err, &w) {
			return w.after(now())
		}
		d := maxDelay
		if n < 30 && base<<n > 0 && base<<n < maxDelay {
			d = base << n
		}
		d = d/2 + rand.N(d/2+1)
		if ra := mx.RetryAfter(err); ra > d {
			d = ra
		}
		return d
	}
}

// enqueue adds a follow-up task built by a tasks constructor:
// h.enqueue(ctx)(tasks.NewPollTask(...)). A task with its id already
// there is fine: that is how a handler run twice stays one chain.
func (h *Handlers) enqueue(ctx context.Context) func(*asynq.Task, error) error {
	return func(t *asynq.Task, err error) error {
		if err != nil {
			return err
		}
		if _, err := h.q.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return fmt.Errorf("enqueue %s: %w", t.Type(), err)
		}
		return nil
	}
}

// updateFrom changes a job atomically, starting from a record the handler
// read (see store.UpdateFrom: one Redis round trip when nobody changed it
// since), and logs state transitions. execute is its one caller.
func (h *Handlers) updateFrom(ctx context.Context, known *store.Job, fn func(*store.Job) error) (*store.Job, error) {
	var from store.State
	j, err := h.store.UpdateFrom(ctx, known, func(j *store.Job) error {
		from = j.State
		return fn(j)
	})
	if err == nil && j.State != from {
		h.cfg.Metrics.Transition(from, j, h.now())
		ev := h.log.Info().Str("job", j.ID).Str("kind", string(j.Kind)).Str("member_guid", j.MemberGUID).
			Str("from", string(from)).Str("state", string(j.State)).Str("connection_status", j.ConnectionStatus).Int("polls", j.Polls)
		if j.Error != nil {
			ev = ev.Str("error_code", j.Error.Code)
		}
		ev.Msg("job transition")
	}
	return j, err
}

// fail ends a job that has not ended as package job decides on e, and
// stops the task.
func (h *Handlers) fail(ctx context.Context, id string, e job.Ending) error {
	return h.end(ctx, id, e.Decide)
}

// failStart is fail for the start, which may know the job's MX user (and
// member) before its record does: the failed record names them.
func (h *Handlers) failStart(ctx context.Context, j *store.Job, member string, e job.Ending) error {
	if member == "" {
		member = j.MemberGUID
	}
	return h.end(ctx, j.ID, func(r *job.Record) job.Decision { return job.Named(e.Decide(r), j.UserGUID, member) })
}

// end carries out the ending decide makes of the job's record as it stands,
// and stops the task.
func (h *Handlers) end(ctx context.Context, id string, decide func(*job.Record) job.Decision) error {
	j, err := h.store.Get(ctx, id)
	if err != nil {
		return err
	}
	return h.ended(ctx, j, decide(&j.Record))
}

// mxErr decides what an MX error means for a job: transient errors are
// retried by asynq until the task's retries run out, which fails the job
// "mx_unavailable" (wrap); permanent ones fail it as job decides on
// MX's refusal (job.MXRefused: mx_error).
func (h *Handlers) mxErr(ctx context.Context, jobID string, err error) error {
	h.cfg.Metrics.Throttled(err)
	if mx.IsRetriable(err) {
		return &mxRetryError{err}
	}
	if ctx.Err() != nil {
		return err // shutting down: asynq hands the task back
	}
	return h.fail(ctx, jobID, job.MXRefused{Err: err})
}
