package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// sweepPage is how many quiet jobs Sweep reads from the live set at once.
const sweepPage = 500

// Sweep drives on the jobs that have no task left to drive them, and
// returns how many it repaired.
//
// A job's progress is its record plus one task that moves it on
// (nextTasks). A Redis failover that promotes a replica which missed the
// last writes can lose that task and keep the record, and then nothing
// would ever run the job again. Sweep looks at every job that has not ended
// and whose record has not changed for SweepQuiet (which also covers a
// producer between writing a record and enqueueing its start), looks its
// next task up in asynq and, when it is gone, repairs the job (repair).
// Repairs are safe to run twice and alongside the handlers. A task left
// active by a worker that lost it counts as there: asynq hands it out
// again once its lease has run out.
func (h *Handlers) Sweep(ctx context.Context) (int, error) {
	if h.cfg.Inspector == nil {
		return 0, errors.New("sweep: the handlers have no asynq inspector (Config.Inspector)")
	}
	before := h.now().Add(-h.cfg.SweepQuiet)
	seen := map[string]bool{}
	repaired, failed := 0, 0
	var first error
	// Pages follow the last write: each starts at the previous page's
	// last score, skipping the entries with that score already listed
	// (several jobs may share a millisecond, more than a page of them).
	from, skip := time.Time{}, 0
	for {
		page, err := h.store.Quiet(ctx, from, before, skip, sweepPage)
		if err != nil {
			return repaired, err
		}
		for _, l := range page {
			if seen[l.ID] {
				continue // re-scored between two pages
			}
			seen[l.ID] = true
			ok, err := h.sweepJob(ctx, l)
			switch {
			case ctx.Err() != nil:
				return repaired, fmt.Errorf("sweep: %w", ctx.Err())
			case err != nil:
				failed++
				if first == nil {
					first = err
				}
			case ok:
				repaired++
			}
		}
		if len(page) < sweepPage {
			break
		}
		last, n := page[len(page)-1].Written, 0
		for _, l := range page {
			if l.Written.Equal(last) {
				n++
			}
		}
		if last.Equal(from) {
			skip += n
		} else {
			from, skip = last, n
		}
	}
	if failed > 0 {
		return repaired, fmt.Errorf("sweep: %d jobs not checked or not repaired; the first: %w", failed, first)
	}
	return repaired, nil
}

// sweepJob checks one quiet job and repairs it when its next task is gone.
func (h *Handlers) sweepJob(ctx context.Context, l store.Live) (bool, error) {
	j, err := h.store.Get(ctx, l.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && j.State.Terminal() {
		// Expired, purged, or ended by a worker that does not keep the
		// live set (an older version during a roll-out): drop the entry.
		_, err := h.store.Forget(ctx, l)
		return false, err
	}
	if err != nil {
		return false, fmt.Errorf("sweep: %w", err)
	}
	next := job.ExpectedTasks(&j.Record)
	for _, t := range next {
		if ok, err := h.taskExists(t); ok || err != nil {
			return false, err
		}
	}
	// A handler enqueues the next task before it writes the record, and its
	// own task leaves asynq only after that write: if the record is still
	// the one read before the look-up, the task is lost, not done.
	cur, err := h.store.Get(ctx, j.ID)
	if errors.Is(err, store.ErrNotFound) || err == nil && !cur.UpdatedAt.Equal(j.UpdatedAt) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("sweep: %w", err)
	}
	answered := make([]string, 0, len(cur.Challenges))
	for _, c := range cur.Challenges {
		answered = append(answered, c.GUID)
	}
	// Tasks go in before the record changes, under their own ids (a task
	// already there is fine), and a change applies only to the job as
	// the sweeper saw it.
	d := job.Repair(&cur.Record, answered, h.now(), h.core())
	_, done, err := h.execute(ctx, cur, d, payload{})
	if d.Change == nil && err == nil {
		done = true // the lost task is back
	}
	if err != nil {
		return false, fmt.Errorf("sweep: job %s lost task %s; repairing it (%s): %w", j.ID, next[0].ID, d.Repair, err)
	}
	if done {
		h.cfg.Metrics.Repaired(d.Repair)
		h.log.Warn().Str("job", j.ID).Str("state", string(j.State)).Str("lost_task", next[0].ID).Str("repair", d.Repair).
			Msg("job had lost its next task (Redis failover?): repaired")
	}
	return done, nil
}

// taskExists looks a task up in asynq. An archived task will never run
// (asynq archives a task whose lease ran out on its last retry without
// running the handler that would have ended the job) and a completed one
// is done (an older worker's retention): both are deleted, since their ids
// would refuse the repair's task, and count as gone.
func (h *Handlers) taskExists(t job.Task) (bool, error) {
	queue := tasks.Queue(t.Kind)
	ti, err := h.cfg.Inspector.GetTaskInfo(queue, t.ID)
	switch {
	case err == nil && (ti.State == asynq.TaskStateArchived || ti.State == asynq.TaskStateCompleted):
		if err := h.cfg.Inspector.DeleteTask(queue, t.ID); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("sweep: delete %s task %s: %w", ti.State, t.ID, err)
		}
		h.log.Warn().Str("task_id", t.ID).Str("task_state", ti.State.String()).Str("last_error", ti.LastErr).
			Msg("sweep: a job's next task will never run: deleted, the job is repaired")
		return false, nil
	case err == nil:
		return true, nil
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return false, nil
	}
	return false, fmt.Errorf("sweep: look up task %s: %w", t.ID, err)
}
