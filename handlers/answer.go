package handlers

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Reasons an answer is refused; the job stays as it was.
var (
	errNotParked       = errors.New("job is not parked on a challenge")
	errAlreadyAnswered = errors.New("this challenge round was already answered")
)

// handleAnswer runs mx:answer. The first answer to claim the parked round
// wins; the claim is a compare-and-set on the job record, so of duplicate
// or racing answers exactly one resume call reaches MX. A retry of the
// winning answer checks MX before resuming again.
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
	answers := make(map[string]string, len(plain))
	for _, a := range plain {
		answers[a.GUID] = a.Value
	}
	taskID, _ := asynq.GetTaskID(ctx)
	other := false // another delivery of this same answer is sending it
	j, err := h.update(ctx, p.JobID, func(j *store.Job) error {
		other = false
		switch {
		case j.ResumeClaim == p.AnswerID:
			other = j.ResumeBy != taskID
			return store.ErrNoChange // ours: a retry, or a duplicate delivery
		case j.State != store.StateChallenged:
			return fmt.Errorf("%w (state %s)", errNotParked, j.State)
		case j.ResumeClaim != "":
			return errAlreadyAnswered
		case j.Round != p.Round:
			return fmt.Errorf("%w: the answers are for MFA round %d, the job is at round %d", errAlreadyAnswered, p.Round, j.Round)
		}
		if err := tasks.MatchChallenges(j.Challenges, answers); err != nil {
			return err
		}
		j.ResumeClaim, j.ResumeBy = p.AnswerID, taskID
		return nil
	})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse(fmt.Errorf("unknown job"))
	case errors.Is(err, errNotParked), errors.Is(err, errAlreadyAnswered), errors.Is(err, tasks.ErrChallengeMismatch):
		return refuseNoted(err)
	case err != nil:
		return err
	}
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
	if done, err := h.deadlinePassed(ctx, j); done {
		return err
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
	now := h.now()
	if err := h.enqueue(ctx)(tasks.NewPollTask(j.ID, j.Polls+1, now, now.Add(h.pollDelay(1)))); err != nil {
		return false, err
	}
	moved := false
	_, err := h.updateFrom(ctx, j, func(j *store.Job) error {
		if moved = j.State == store.StateChallenged && j.ResumeClaim == claim; !moved {
			return store.ErrNoChange
		}
		j.Answered = nil
		for _, c := range j.Challenges {
			j.Answered = append(j.Answered, c.GUID)
		}
		j.State, j.Challenges, j.ChallengeExp = store.StateRunning, nil, time.Time{}
		j.TriggeredAt, j.SawRunning, j.PollMark = h.now(), false, j.Polls
		j.ResumeSent = true
		j.LastRefusedAnswer = nil // an answer was accepted since
		return nil
	})
	return moved && err == nil, err
}

// noteRefused records on a challenged job that its answer answerID was
// refused and why (reason never holds an answer value), leaving the job
// otherwise as it is; resumed clears it. A job that is not challenged has
// moved on (an answer was accepted, or it ended): nothing is noted then.
// Noting the same again changes nothing; a job gone is nothing to note.
func (h *Handlers) noteRefused(ctx context.Context, jobID, answerID, reason string) error {
	_, err := h.update(ctx, jobID, func(j *store.Job) error {
		if j.State != store.StateChallenged || j.ResumeClaim == answerID ||
			(j.LastRefusedAnswer != nil && j.LastRefusedAnswer.AnswerID == answerID && j.LastRefusedAnswer.Reason == reason) {
			return store.ErrNoChange
		}
		j.LastRefusedAnswer = &store.RefusedAnswer{AnswerID: answerID, Reason: reason, At: h.now().UTC()}
		return nil
	})
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
			return h.mxErr(ctx, j.ID, "", err)
		}
		if st.ConnectionStatus != "CHALLENGED" || !sameGUIDs(st.Challenges, j.Challenges) {
			return h.markSent(ctx, j)
		}
	}
	if _, err := h.mx.ResumeMember(ctx, j.UserGUID, j.MemberGUID, answers); err != nil {
		if mx.IsRetriable(err) || ctx.Err() != nil {
			return h.mxErr(ctx, j.ID, "", err)
		}
		code := CodeResumeRefused
		if st, serr := h.mx.ReadMemberStatus(ctx, j.UserGUID, j.MemberGUID); serr == nil && st.ConnectionStatus == "EXPIRED" {
			code = CodeChallengeExpired
		}
		return h.fail(ctx, j.ID, code, err.Error())
	}
	return h.markSent(ctx, j)
}

// sameGUIDs tells whether MX lists exactly the parked challenges (an empty
// list from the status read is taken as the same).
func sameGUIDs(got, parked []mx.Challenge) bool {
	if len(got) == 0 {
		return true
	}
	if len(got) != len(parked) {
		return false
	}
	for i := range got {
		if !slices.ContainsFunc(parked, func(c mx.Challenge) bool { return c.GUID == got[i].GUID }) {
			return false
		}
	}
	return true
}

func (h *Handlers) markSent(ctx context.Context, j *store.Job) error {
	_, err := h.store.UpdateFrom(ctx, j, func(cur *store.Job) error {
		if cur.ResumeClaim != j.ResumeClaim || cur.ResumeSent {
			return store.ErrNoChange
		}
		cur.ResumeSent = true
		return nil
	})
	return err
}
