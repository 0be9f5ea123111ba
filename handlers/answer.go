package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// handleAnswer runs mx:answer. The first answer to claim the parked round
// wins; the claim is a compare-and-set on the job record (the executor's,
// guarded also by the parked challenges), so of duplicate or racing
// answers exactly one resume call reaches MX. A retry of the winning
// answer checks MX before resuming again.
func (h *Handlers) handleAnswer(ctx context.Context, t *asynq.Task) error {
	var p tasks.Answer
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return err
	}
	refuse := func(err error) error {
		h.log.Warn().Str("job", p.JobID).Str("answer", p.AnswerID).Str("reason", err.Error()).Msg("answer refused")
		return stop("answer %s for job %s refused: %w", p.AnswerID, p.JobID, err)
	}
	// refuseNoted is refuse for an answer the producer could not know to
	// refuse: the job keeps it as its last refused answer, so that it
	// shows in the job's status (the job is not changed otherwise).
	refuseNoted := func(err error) error {
		if nerr := h.noteRefused(ctx, p.JobID, p.AnswerID, err.Error()); nerr != nil && !lastTry(ctx) {
			return nerr // retried: noted at least once
		}
		return refuse(err)
	}
	plain, err := p.OpenAnswers(h.keys)
	if err != nil {
		err = fmt.Errorf("cannot open the answer: %w", err)
		if errors.Is(err, tasks.ErrBadPayload) || lastTry(ctx) {
			return refuseNoted(err)
		}
		// A key this worker lacks may be held by another (a rotation
		// being rolled out): retried while the job waits for this round,
		// and shown on the job meanwhile; on the last try it is refused
		// and the job stays as it is.
		j, gerr := h.store.Get(ctx, p.JobID)
		switch {
		case errors.Is(gerr, store.ErrNotFound):
			return refuse(fmt.Errorf("unknown job"))
		case gerr != nil:
			return gerr
		case j.State != store.StateChallenged || j.ResumeClaim != "" || j.Round != p.Round:
			return refuseNoted(err) // the round is over or taken: no use waiting for the key
		}
		// Noted on the first try, and again only while the job shows no
		// other refusal: a later answer's refusal is not overwritten
		// every retry.
		if n, _ := asynq.GetRetryCount(ctx); n == 0 || j.LastRefusedAnswer == nil || j.LastRefusedAnswer.AnswerID == p.AnswerID {
			if nerr := h.noteRefused(ctx, p.JobID, p.AnswerID, err.Error()); nerr != nil {
				return nerr
			}
		}
		return err
	}
	if err := tasks.CheckAmounts(plain); err != nil {
		return refuseNoted(err) // micro-deposit amounts that are none: the round stays open
	}
	answers := make(map[string]string, len(plain))
	for _, a := range plain {
		answers[a.GUID] = a.Value
	}
	taskID, _ := asynq.GetTaskID(ctx)
	claim := job.Claim(p.AnswerID, p.Round, taskID)
	matches := payload{guard: func(cur *store.Job) error { return tasks.MatchChallenges(cur.Challenges, answers) }}
	j, _, err := h.execute(ctx, &store.Job{Record: job.Record{ID: p.JobID}}, claim, matches)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse(fmt.Errorf("unknown job"))
	case errors.Is(err, job.ErrNotParked), errors.Is(err, job.ErrAlreadyAnswered), errors.Is(err, tasks.ErrChallengeMismatch):
		return refuseNoted(err)
	case err != nil:
		return err
	}
	// A claim by this answer already there (Claim changed nothing) is a
	// retry, or a duplicate delivery when another task claimed it: then
	// that task is sending it.
	other := j.ResumeClaim == p.AnswerID && j.ResumeBy != taskID
	if j.State != store.StateChallenged || other {
		// Applied already, or being applied by the delivery that claimed
		// it; if that one dies, asynq retries it, not this one.
		why := fmt.Sprintf("answer %s already applied: the job is %s", p.AnswerID, j.State)
		if other {
			why = fmt.Sprintf("answer %s is being applied by task %s", p.AnswerID, j.ResumeBy)
		}
		h.dropped(ctx, t, j.ID, why)
		return nil
	}
	if done, err := h.overdue(ctx, j); done {
		return err
	}
	if j.Microdeposit() {
		return h.verifyAmounts(ctx, t, j, p.AnswerID, plain)
	}
	if !j.ResumeSent {
		if err := h.resume(ctx, j, plain); err != nil {
			return err
		}
	}
	_, err = h.resumed(ctx, j, p.AnswerID)
	return err
}

// resumed moves on a job whose round claim answered and MX accepted: it
// runs again and polls (the next poll enqueued first). It tells whether
// it moved the job; the answer's task and the sweeper (when that task was
// lost) both end a round this way.
func (h *Handlers) resumed(ctx context.Context, j *store.Job, claim string) (bool, error) {
	answered := make([]string, 0, len(j.Challenges))
	for _, c := range j.Challenges {
		answered = append(answered, c.GUID)
	}
	_, moved, err := h.execute(ctx, j, job.Resumed(&j.Record, claim, answered, h.now(), h.core()), payload{})
	return moved, err
}

// noteRefused records on a challenged job that its answer answerID was
// refused and why (reason never holds an answer value), leaving the job
// otherwise as it is; resumed clears it. A job that is not challenged has
// moved on (an answer was accepted, or it ended): nothing is noted then.
// Noting the same again changes nothing; a job gone is nothing to note.
func (h *Handlers) noteRefused(ctx context.Context, jobID, answerID, reason string) error {
	_, _, err := h.execute(ctx, &store.Job{Record: job.Record{ID: jobID}}, job.Refused(answerID, reason, h.now()), payload{})
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// resume sends the answers to MX once. When this task is a retry, MX is
// asked first whether an earlier run's resume got through: only a member
// still CHALLENGED on these very challenges gets them again. MX shows a
// challenged member as being aggregated (its MFA guide), so that flag says
// nothing here; an answer MX took shows RESUMED.
func (h *Handlers) resume(ctx context.Context, j *store.Job, answers []mx.ChallengeAnswer) error {
	if n, _ := asynq.GetRetryCount(ctx); n > 0 {
		st, err := h.mx.ReadMemberStatus(ctx, j.UserGUID, j.MemberGUID)
		if err != nil {
			return h.mxErr(ctx, j.ID, err)
		}
		if st.ConnectionStatus != "CHALLENGED" || !sameGUIDs(st.Challenges, j.Challenges) {
			return h.markSent(ctx, j)
		}
	}
	if _, err := h.mx.ResumeMember(ctx, j.UserGUID, j.MemberGUID, answers); err != nil {
		if mx.IsRetriable(err) || ctx.Err() != nil {
			return h.mxErr(ctx, j.ID, err)
		}
		st, serr := h.mx.ReadMemberStatus(ctx, j.UserGUID, j.MemberGUID)
		return h.fail(ctx, j.ID, job.ResumeRefused{Err: err, Expired: serr == nil && st.ConnectionStatus == "EXPIRED"})
	}
	return h.markSent(ctx, j)
}

// sameGUIDs tells whether MX lists exactly the parked challenges (an empty
// list from the status read is taken as the same).
func sameGUIDs(got []mx.Challenge, parked []store.Challenge) bool {
	if len(got) == 0 {
		return true
	}
	if len(got) != len(parked) {
		return false
	}
	for i := range got {
		if !slices.ContainsFunc(parked, func(c store.Challenge) bool { return c.GUID == got[i].GUID }) {
			return false
		}
	}
	return true
}

func (h *Handlers) markSent(ctx context.Context, j *store.Job) error {
	_, _, err := h.execute(ctx, j, job.Sent(j.ResumeClaim), payload{})
	return err
}
