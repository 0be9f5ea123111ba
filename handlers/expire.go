package handlers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// answersPage is how many tasks of the answers queue are listed at once
// when a due expiry looks for answers of its round.
const answersPage = 500

// parkCheck is how often a parked job's expiry task reads the member's
// status before the round is due; 0: never.
func (h *Handlers) parkCheck() time.Duration {
	switch {
	case h.cfg.ParkCheck < 0:
		return 0
	case h.cfg.ParkCheck > 0:
		return h.cfg.ParkCheck
	}
	return max(h.cfg.ChallengeTTL/5, h.cfg.PollMax)
}

// firstExpiry is when the expiry task of a round parked at now, due at
// exp, first runs: at the first status check, or at exp.
func (h *Handlers) firstExpiry(now, exp time.Time) time.Time {
	if d := h.parkCheck(); d > 0 && now.Add(d).Before(exp) {
		return now.Add(d)
	}
	return exp
}

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
	j, err := h.store.Get(ctx, p.JobID)
	if errors.Is(err, store.ErrNotFound) {
		h.dropped(ctx, t, p.JobID, "no job record (purged, or expired after its retention)")
		return nil
	}
	if err != nil {
		return err
	}
	if !roundOpen(j, p.Round) {
		why := fmt.Sprintf("round %d is over: the job is %s at round %d", p.Round, j.State, j.Round)
		if j.State == store.StateChallenged && j.Round == p.Round {
			why = fmt.Sprintf("round %d was answered (answer %s)", p.Round, j.ResumeClaim)
		}
		h.dropped(ctx, t, j.ID, why)
		return nil
	}
	now := h.now()
	if now.Before(j.ChallengeExp) {
		if id, ok := asynq.GetTaskID(ctx); ok && id != tasks.ExpireID(j.ID, p.Round) {
			h.dropped(ctx, t, j.ID, fmt.Sprintf("not the round's expiry task (%s), and round %d is not due until %s",
				tasks.ExpireID(j.ID, p.Round), p.Round, j.ChallengeExp.UTC().Format(time.RFC3339)))
			return nil
		}
		return h.checkParked(ctx, j, p.Round, now)
	}
	if id, err := h.answerPending(j.ID, p.Round); err != nil {
		return err
	} else if id != "" {
		return wait(waitDelay, "job %s: answer task %s for round %d reached the fleet before the expiry ran; it decides", j.ID, id, p.Round)
	}
	return h.expireRound(ctx, j, p.Round, fmt.Sprintf("MFA challenge not answered within %s", h.cfg.ChallengeTTL))
}

// roundOpen tells whether MFA round r of j waits for an answer.
func roundOpen(j *store.Job, r int) bool {
	return j.State == store.StateChallenged && j.Round == r && j.ResumeClaim == ""
}

// checkParked reads the status of a parked job's member once before its
// round is due: EXPIRED ends the job; anything else waits for the next
// check or the expiry. A failed read (MX down, rate limit) is skipped:
// the next check or the expiry comes anyway.
func (h *Handlers) checkParked(ctx context.Context, j *store.Job, round int, now time.Time) error {
	next := j.ChallengeExp
	if d := h.parkCheck(); d > 0 && now.Add(d).Before(next) {
		next = now.Add(d)
	}
	st, err := h.mx.ReadMemberStatus(ctx, j.UserGUID, j.MemberGUID)
	switch {
	case err != nil:
		h.cfg.Metrics.Throttled(err)
		h.log.Debug().Str("job", j.ID).Int("round", round).Str("error", err.Error()).Msg("parked job: member status not read; next check later")
		return waitUntil(next, "job %s: round %d due at %s; member status not read (%v)", j.ID, round, j.ChallengeExp.UTC().Format(time.RFC3339), err)
	case st.ConnectionStatus == "EXPIRED":
		return h.expireRound(ctx, j, round, "MX expired the MFA challenge before it was answered (connection status EXPIRED)")
	}
	return waitUntil(next, "job %s: round %d due at %s; MX shows %s", j.ID, round, j.ChallengeExp.UTC().Format(time.RFC3339), st.ConnectionStatus)
}

// expireRound ends the job challenge_expired if round is still open.
func (h *Handlers) expireRound(ctx context.Context, j *store.Job, round int, msg string) error {
	if err := h.notify(ctx, j, tasks.Callback{State: store.StateFailed, ConnectionStatus: j.ConnectionStatus,
		Error: &store.JobError{Code: CodeChallengeExpired, Message: msg}}); err != nil {
		return err
	}
	_, err := h.updateFrom(ctx, j, func(j *store.Job) error {
		if !roundOpen(j, round) {
			return store.ErrNoChange
		}
		j.Fail(CodeChallengeExpired, msg)
		return nil
	})
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
