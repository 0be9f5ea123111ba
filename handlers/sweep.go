package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// sweepPage is how many quiet jobs Sweep reads from the live set at once.
const sweepPage = 500

// taskRef names a task: its queue and id.
type taskRef struct{ queue, id string }

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
	next := nextTasks(j)
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
	reason, done, err := h.repair(ctx, cur)
	if err != nil {
		return false, fmt.Errorf("sweep: job %s lost task %s; repairing it (%s): %w", j.ID, next[0].id, reason, err)
	}
	if done {
		h.cfg.Metrics.Repaired(reason)
		h.log.Warn().Str("job", j.ID).Str("state", string(j.State)).Str("lost_task", next[0].id).Str("repair", reason).
			Msg("job had lost its next task (Redis failover?): repaired")
	}
	return done, nil
}

// nextTasks names the task that moves a job that has not ended on: the
// start task until MX was first asked to run the job (or the trigger of
// attempt 1 the sweeper put in its place), then the trigger of a restart
// or the next poll; while parked, the round's expiry, or the answer task
// that claimed the round. One of them must exist.
func nextTasks(j *store.Job) []taskRef {
	switch {
	case j.State == store.StateChallenged && j.ResumeClaim == "":
		return []taskRef{{tasks.QueueAnswers, tasks.ExpireID(j.ID, j.Round)}}
	case j.State == store.StateChallenged:
		return []taskRef{{tasks.QueueAnswers, j.ResumeBy}}
	case j.State == store.StatePending:
		return []taskRef{{tasks.QueueJobs, tasks.StartID(j.ID)}}
	case j.Triggered == 0 && j.Attempt <= 1:
		return []taskRef{{tasks.QueueJobs, tasks.StartID(j.ID)}, {tasks.QueuePolls, tasks.TriggerID(j.ID, 1)}}
	case j.Triggered < j.Attempt:
		return []taskRef{{tasks.QueuePolls, tasks.TriggerID(j.ID, j.Attempt)}}
	}
	return []taskRef{{tasks.QueuePolls, tasks.PollID(j.ID, j.Polls+1)}}
}

// taskExists looks a task up in asynq. An archived task will never run
// (asynq archives a task whose lease ran out on its last retry without
// running the handler that would have ended the job) and a completed one
// is done (an older worker's retention): both are deleted, since their ids
// would refuse the repair's task, and count as gone.
func (h *Handlers) taskExists(t taskRef) (bool, error) {
	ti, err := h.cfg.Inspector.GetTaskInfo(t.queue, t.id)
	switch {
	case err == nil && (ti.State == asynq.TaskStateArchived || ti.State == asynq.TaskStateCompleted):
		if err := h.cfg.Inspector.DeleteTask(t.queue, t.id); err != nil && !errors.Is(err, asynq.ErrTaskNotFound) {
			return false, fmt.Errorf("sweep: delete %s task %s: %w", ti.State, t.id, err)
		}
		h.log.Warn().Str("task_id", t.id).Str("task_state", ti.State.String()).Str("last_error", ti.LastErr).
			Msg("sweep: a job's next task will never run: deleted, the job is repaired")
		return false, nil
	case err == nil:
		return true, nil
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return false, nil
	}
	return false, fmt.Errorf("sweep: look up task %s: %w", t.id, err)
}

// repair drives on a job whose next task is gone, as that task would
// have, and says how and whether it did. Tasks go in before the record
// changes, under their own ids (a task already there is fine), and a
// record change applies only to the job as the sweeper saw it.
func (h *Handlers) repair(ctx context.Context, j *store.Job) (string, bool, error) {
	unchanged := func(cur *store.Job) bool { return cur.UpdatedAt.Equal(j.UpdatedAt) }
	now := h.now()
	switch {
	case j.State == store.StateChallenged && j.ResumeClaim == "":
		return "expire", true, h.enqueue(ctx)(tasks.NewExpireTask(j.ID, j.Round, now, j.ChallengeExp))
	case j.State == store.StateChallenged && j.ResumeSent:
		// MX took the answers: move on as the answer's task would have.
		moved, err := h.resumed(ctx, j, j.ResumeClaim)
		return "resumed", moved, err
	case j.State == store.StateChallenged:
		// The answers went with the task and may never have reached MX:
		// the round waits for an answer again, or for its expiry (whose
		// task did nothing if it ran while the round was claimed).
		if err := h.enqueue(ctx)(tasks.NewExpireTask(j.ID, j.Round, now, j.ChallengeExp)); err != nil {
			return "claim_released", false, err
		}
		released := false
		_, err := h.updateFrom(ctx, j, func(cur *store.Job) error {
			if released = unchanged(cur); !released {
				return store.ErrNoChange
			}
			cur.ResumeClaim, cur.ResumeBy = "", ""
			return nil
		})
		return "claim_released", released && err == nil, err
	case j.State == store.StatePending || j.UserGUID == "" || j.MemberGUID == "":
		// The credentials were sealed in the lost task alone.
		failed, err := h.failIf(ctx, j.ID, unchanged, CodeTaskLost,
			"the job's start task, which alone held its sealed credentials, was lost in Redis (a failover?) before MX started the job: submit it again with a new job id")
		return "task_lost", failed, err
	case j.Triggered < j.Attempt:
		// A restart is due RetryLaterDelay after the poll that recorded it.
		at := now
		if j.Attempt > 1 {
			at = j.UpdatedAt.Add(h.cfg.RetryLaterDelay)
		}
		return "trigger", true, h.enqueue(ctx)(tasks.NewTriggerTask(j.ID, j.Attempt, now, at))
	}
	return "poll", true, h.enqueue(ctx)(tasks.NewPollTask(j.ID, j.Polls+1, now, now))
}
