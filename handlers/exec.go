package handlers

import (
	"context"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// core is the state machine's configuration.
func (h *Handlers) core() job.Config { return h.cfg.Config }

// payload is what a decision writes or checks besides the record's own
// fields: the challenges of a round being parked, the results of a job
// succeeding, and a guard on what only the store's record holds.
type payload struct {
	challenges []store.Challenge
	result     *store.Result
	// guard, when set, is checked in the same compare-and-set after the
	// change's own guard, against the record as it stands: an error
	// leaves the record unwritten and is returned. The core sees the
	// Record only; an answer's claim must also match the challenges
	// parked with it (a payload), and guard is where that is checked.
	guard func(*store.Job) error
}

// execute carries out a decision on the job j as the handler read it, in
// the order that keeps a crash at any line safe: the tasks first (their
// ids are deterministic: one already there is fine), then the callback
// event (only when the change applies to the record as read), then the
// change as a compare-and-set, with pay in the same write (and pay.guard
// in the same check). A change that no longer applies (the record moved
// on) writes nothing. It returns the record as it stands afterwards (nil
// when the decision has no change) and whether the change was written;
// every handler goes through it, and it is the one compare-and-set of
// package handlers.
func (h *Handlers) execute(ctx context.Context, j *store.Job, d job.Decision, pay payload) (*store.Job, bool, error) {
	for _, t := range d.Tasks {
		if err := h.enqueue(ctx)(h.task(j.ID, t)); err != nil {
			return nil, false, err
		}
	}
	if d.Change == nil {
		return nil, false, nil
	}
	if d.Event != nil && j.CallbackURL != "" {
		if dry := j.Record; d.Change(&dry) == nil {
			ev := tasks.Callback{State: d.Event.State, Round: d.Event.Round, ConnectionStatus: d.Event.ConnectionStatus,
				Error: d.Event.Error, Challenges: pay.challenges, OAuthWindowURI: d.Event.OAuthWindowURI}
			if err := h.notify(ctx, j, ev); err != nil {
				return nil, false, err
			}
		}
	}
	wrote := false
	after, err := h.updateFrom(ctx, j, func(cur *store.Job) error {
		wrote = false
		if err := d.Change(&cur.Record); err != nil {
			return err
		}
		if pay.guard != nil {
			if err := pay.guard(cur); err != nil {
				return err
			}
		}
		if pay.challenges != nil {
			cur.Challenges = pay.challenges
		}
		if pay.result != nil {
			cur.Result = pay.result
		}
		if cur.State != store.StateChallenged {
			cur.Challenges = nil // challenges are kept while parked only
		}
		wrote = true
		return nil
	})
	return after, wrote && err == nil, err
}

// task builds the asynq task of a decision's task.
func (h *Handlers) task(jobID string, t job.Task) (*asynq.Task, error) {
	now := h.now()
	at := t.At
	if at.IsZero() {
		at = now
	}
	switch t.Kind {
	case job.TaskPoll:
		return tasks.NewPollTask(jobID, t.N, now, at)
	case job.TaskTrigger:
		return tasks.NewTriggerTask(jobID, t.N, now, at)
	case job.TaskExpire:
		return tasks.NewExpireTask(jobID, t.N, now, at)
	}
	return nil, fmt.Errorf("job %s: a decision cannot enqueue a %s task", jobID, t.Kind)
}

// decided runs a decision that may end the step before any write: a drop
// is logged and ends the task, a wait runs it again. ok is false when the
// step goes on.
func (h *Handlers) decided(ctx context.Context, t *asynq.Task, jobID string, d job.Decision) (bool, error) {
	switch {
	case d.Drop != "":
		h.dropped(ctx, t, jobID, d.Drop)
		return true, nil
	case d.Wait != nil && d.Wait.Until.IsZero():
		return true, wait(job.WaitDelay, "%s", d.Wait.Reason)
	case d.Wait != nil:
		return true, waitUntil(d.Wait.Until, "%s", d.Wait.Reason)
	}
	return false, nil
}

// overdue ends a job past its deadline; ok tells whether it was.
func (h *Handlers) overdue(ctx context.Context, j *store.Job) (bool, error) {
	d, ok := job.Overdue(&j.Record, h.now(), h.core())
	if !ok {
		return false, nil
	}
	return true, h.ended(ctx, j, d)
}

// ended executes a decision that ends the job and stops the task.
func (h *Handlers) ended(ctx context.Context, j *store.Job, d job.Decision) error {
	if _, _, err := h.execute(ctx, j, d, payload{}); err != nil {
		return err // not stopped: the retry will try to record the end again
	}
	if ev := d.Event; ev != nil && ev.Error != nil {
		return stop("job %s failed: %s: %s", j.ID, ev.Error.Code, ev.Error.Message)
	}
	return stop("job %s ended", j.ID)
}
