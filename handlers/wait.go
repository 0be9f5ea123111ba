package handlers

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
)

// ErrWait marks what a handler returns when its task has nothing to do
// yet: the step before it has not recorded its work (it enqueues first and
// writes after), an answer is being applied, or a time has not come. The
// task runs again after a short delay (or at the time waited for). A wait
// is not a failure: the worker's asynq.Config.IsFailure (IsFailure) says
// so, so asynq retries it without counting a retry or a failure in the
// queue's stats, the worker logs it at debug, and a wait never ends a job
// retries_exhausted. errors.Is(err, ErrWait) finds it; *WaitError carries
// the reason and the delay.
var ErrWait = errors.New("waiting")

// WaitError is a wait with its reason, and when to run again: after Delay
// (jittered up to half of it more), or, when Until is set, not before Until.
type WaitError struct {
	Reason string
	Delay  time.Duration
	Until  time.Time
}

func (e *WaitError) Error() string { return "waiting: " + e.Reason }

// Unwrap makes errors.Is(err, ErrWait) hold.
func (e *WaitError) Unwrap() error { return ErrWait }

// after is how long asynq should wait before running the task again.
// asynq keeps retry times in whole seconds and runs a task once the clock's
// second reaches its own, so a wait until a time is rounded up to the
// next whole second (see tasks.notBefore): it never runs before Until.
func (e *WaitError) after(now time.Time) time.Duration {
	if !e.Until.IsZero() {
		at := e.Until
		if r := at.Truncate(time.Second); !r.Equal(at) {
			at = r.Add(time.Second)
		}
		return max(at.Sub(now), 0)
	}
	d := e.Delay
	if d <= 0 {
		d = job.WaitDelay
	}
	return d + rand.N(d/2+1)
}

// wait returns a WaitError to run again after d.
func wait(d time.Duration, format string, args ...any) error {
	return &WaitError{Reason: fmt.Sprintf(format, args...), Delay: d}
}

// waitUntil returns a WaitError to run again at t, not before.
func waitUntil(t time.Time, format string, args ...any) error {
	return &WaitError{Reason: fmt.Sprintf(format, args...), Until: t}
}

// IsFailure is the worker's asynq.Config.IsFailure: every error but a
// wait. asynq (v0.26) then moves a waiting task to its retry set for the
// delay RetryDelay gives, without increasing its retry count.
func IsFailure(err error) bool { return err != nil && !errors.Is(err, ErrWait) }

// stopError is an error after which a task must not run again: its job
// has ended (fail), or the task is refused (an answer for a round that is
// over, a start without a record, a callback this worker may not send).
// wrap alone turns it, and tasks.ErrBadPayload, into asynq.SkipRetry.
type stopError struct{ err error }

func (e *stopError) Error() string { return e.err.Error() }
func (e *stopError) Unwrap() error { return e.err }

// stop returns a stopError.
func stop(format string, args ...any) error {
	return &stopError{fmt.Errorf(format, args...)}
}

// mxRetryError is a transient MX error (5xx, 429, a timeout, another MX
// job on the member): asynq retries it, and on the task's last retry wrap
// ends the job mx_unavailable.
type mxRetryError struct{ err error }

func (e *mxRetryError) Error() string { return e.err.Error() }
func (e *mxRetryError) Unwrap() error { return e.err }

// lastTry tells whether the running task has no retry left: the one test
// of it in the handlers.
func lastTry(ctx context.Context) bool {
	n, _ := asynq.GetRetryCount(ctx)
	maxN, ok := asynq.GetMaxRetry(ctx)
	return ok && n >= maxN
}

// jobFor reads the job a follow-up task (poll, trigger, expire, callback)
// is for. A job that is gone (purged, or past its retention) ends the task
// with a log line: nil job, nil error.
func (h *Handlers) jobFor(ctx context.Context, t *asynq.Task, id string) (*store.Job, error) {
	j, err := h.store.Get(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		h.dropped(ctx, t, id, "no job record (purged, or expired after its retention)")
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return j, nil
}

// dropped logs a well-formed task that has nothing to do and ends: its job
// is gone or has moved past the step the task is for.
func (h *Handlers) dropped(ctx context.Context, t *asynq.Task, jobID, why string) {
	id, _ := asynq.GetTaskID(ctx)
	h.log.Info().Str("task_type", t.Type()).Str("task_id", id).Str("job", jobID).Str("reason", why).Msg("task dropped")
}
