package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/tasks"
)

// answersPage is how many tasks of the answers queue are listed at once
// when a due expiry looks for answers of its round.
const answersPage = 500

// handleExpire runs mx:expire, the one task of a parked round
// (expire:<job>:<round>). It ends the job challenge_expired when the
// round, still unanswered, is due by the record (ChallengeExp), or when
// MX shows the member EXPIRED (MX's own limit, which can be shorter).
//
// Until the round is due the task reads the member's status once per run
// and runs again (a wait, not a failure) at the next check
// (Config.ParkCheck) or at the expiry, whichever comes first: so it ends
// the job once MX has expired the challenge, at most one status read per
// check interval, and an early run (asynqmon's "Run"; webhooks wake only
// running jobs' polls) cannot end a job MX still waits on. A task of this type under
// another id, not yet due, is dropped with a log line.
//
// When the round is due, an answer that reached the fleet first wins: the
// first answer claims the round in the record, and an answer task of this
// round still in asynq (pending, running, or waiting for a retry after a
// failure or a worker's crash) makes the expiry wait for it (see
// answerPending).
func (h *Handlers) handleExpire(ctx context.Context, t *asynq.Task) error {
	var p tasks.Expire
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return err
	}
	j, err := h.jobFor(ctx, t, p.JobID)
	if j == nil {
		return err
	}
	taskID, _ := asynq.GetTaskID(ctx)
	now := h.now()
	d := job.ExpireDue(&j.Record, p.Round, taskID, now)
	switch d.Need {
	case job.NeedStatus:
		if j.Microdeposit() {
			return h.checkMicrodeposit(ctx, t, j, p.Round, now)
		}
		// One read of the member's status before the round is due. A
		// failed read (MX down, rate limit) is skipped: the next check or
		// the expiry comes anyway.
		status := ""
		if st, err := h.mx.ReadMemberStatus(ctx, j.UserGUID, j.MemberGUID); err != nil {
			h.cfg.Metrics.Throttled(err)
			h.log.Debug().Str("job", j.ID).Int("round", p.Round).Str("error", err.Error()).Msg("parked job: member status not read; next check later")
		} else {
			status = st.ConnectionStatus
		}
		d = job.Checked(&j.Record, p.Round, status, now, h.core())
	case job.NeedAnswers:
		if id, err := h.answerPending(j.ID, p.Round); err != nil {
			return err
		} else if id != "" {
			return wait(job.WaitDelay, "job %s: answer task %s for round %d reached the fleet before the expiry ran; it decides", j.ID, id, p.Round)
		}
		d = job.Expire(&j.Record, p.Round, fmt.Sprintf("MFA challenge not answered within %s", h.cfg.ChallengeTTL))
		if j.Microdeposit() {
			d = job.MDExpire(&j.Record, p.Round)
		}
	}
	if done, err := h.decided(ctx, t, j.ID, d); done {
		return err
	}
	_, _, err = h.execute(ctx, j, d, payload{})
	return err
}

// answerPending returns the id of an answer task for the job's round that
// is in asynq and may still run: pending, active (running, or left active
// by a worker that died, until asynq recovers it) or waiting for a retry.
// That is how the worker knows an answer reached the fleet before the
// expiry ended the round: the producer enqueues an answer only for a
// parked job, and the expiry ends the round only when it finds none
// (answers enqueued once the round has ended are refused). It lists the
// answers queue (mx_answers: answers and the rounds' expiry tasks); its
// cost grows with that queue, and it runs only for a round that is due
// and unanswered. Without an Inspector it finds none.
func (h *Handlers) answerPending(jobID string, round int) (string, error) {
	insp := h.cfg.Inspector
	if insp == nil {
		return "", nil
	}
	for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		insp.ListActiveTasks, insp.ListPendingTasks, insp.ListRetryTasks,
	} {
		for page := 1; ; page++ {
			tis, err := list(tasks.QueueAnswers, asynq.PageSize(answersPage), asynq.Page(page))
			if errors.Is(err, asynq.ErrQueueNotFound) {
				break
			}
			if err != nil {
				return "", fmt.Errorf("expire: look for answers of job %s: %w", jobID, err)
			}
			for _, ti := range tis {
				if ti.Type != tasks.TypeAnswer {
					continue
				}
				var a struct {
					JobID string `json:"job_id"`
					Round int    `json:"round"`
				}
				if json.Unmarshal(ti.Payload, &a) == nil && a.JobID == jobID && a.Round == round {
					return ti.ID, nil
				}
			}
			if len(tis) < answersPage {
				break
			}
		}
	}
	return "", nil
}
