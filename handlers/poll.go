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

// staleReads is how many polls right after MX was asked to work may show
// the member's previous run (MX lagging) before the status is believed.
const staleReads = 3

// handlePoll runs mx:poll: read the member status once and move the job.
func (h *Handlers) handlePoll(ctx context.Context, t *asynq.Task) error {
	var p tasks.Poll
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
	// An answer has claimed the round but not yet moved the job on (it
	// enqueues this poll first): come back once it has (a wait, not a
	// failure: the answer's own task, or the sweeper, moves it on).
	if j.State == store.StateChallenged && j.ResumeClaim != "" && j.Polls < p.N {
		return wait(waitDelay, "job %s: resume in progress, poll %d waits", j.ID, p.N)
	}
	// The start or trigger that enqueued this poll (it enqueues first)
	// has not recorded the MX job it started yet: come back once it has.
	if (j.State == store.StatePending || j.State == store.StateRunning && j.Triggered < j.Attempt) && j.Polls < p.N {
		return wait(waitDelay, "job %s: MX job %d not recorded as started yet, poll %d waits", j.ID, max(j.Attempt, 1), p.N)
	}
	// A poll that already ran, or a job that moved on, is done.
	if !pollCurrent(j, p.N) {
		h.dropped(ctx, t, j.ID, fmt.Sprintf("poll %d is not due: the job is %s after %d polls", p.N, j.State, j.Polls))
		return nil
	}
	if done, err := h.deadlinePassed(ctx, j); done {
		return err
	}
	st, err := h.mx.ReadMemberStatus(ctx, j.UserGUID, j.MemberGUID)
	if err != nil {
		return h.mxErr(ctx, j.ID, "", err)
	}
	c := mx.Classify(st.ConnectionStatus, st.IsBeingAggregated)
	// MX shows a challenged member as being aggregated (its MFA guide):
	// that is the job waiting, not the run the stale guard waits to see.
	sawRunning := j.SawRunning || st.IsBeingAggregated && c.Outcome != mx.NeedsUser
	if c.Outcome != mx.InProgress && h.stale(j, st, sawRunning, p.N) {
		c = mx.Classification{Outcome: mx.InProgress}
	}
	record := func(j *store.Job) bool {
		if !pollCurrent(j, p.N) {
			return false
		}
		j.Polls, j.ConnectionStatus, j.SawRunning = p.N, st.ConnectionStatus, sawRunning
		return true
	}
	switch c.Outcome {
	case mx.InProgress:
		return h.pollAgain(ctx, j, p.N, record)
	case mx.NeedsUser:
		return h.park(ctx, j, st, p.N, record)
	case mx.Succeeded:
		return h.succeed(ctx, j, record)
	case mx.RetryLater:
		if j.Attempt < h.cfg.MaxAttempts {
			now := h.now()
			if err := h.enqueue(ctx)(tasks.NewTriggerTask(j.ID, j.Attempt+1, now, now.Add(h.cfg.RetryLaterDelay))); err != nil {
				return err
			}
			_, err := h.updateFrom(ctx, j, func(j *store.Job) error {
				if !record(j) {
					return store.ErrNoChange
				}
				j.Attempt++
				return nil
			})
			h.log.Info().Str("job", j.ID).Str("connection_status", st.ConnectionStatus).Int("attempt", j.Attempt+1).
				Dur("in", h.cfg.RetryLaterDelay).Msg("MX failed transiently: job will start again")
			return err
		}
		return h.end(ctx, j, record, c.Reason, fmt.Sprintf("MX connection status %s after %d attempts", st.ConnectionStatus, j.Attempt))
	default:
		return h.end(ctx, j, record, c.Reason, fmt.Sprintf("MX connection status %s", st.ConnectionStatus))
	}
}

func pollCurrent(j *store.Job, n int) bool { return j.State == store.StateRunning && j.Polls < n }

// stale tells whether a final-looking status right after MX was asked to
// work is the member's previous run: MX has not shown the job running and
// its aggregated_at predates the request. It is believed after staleReads
// polls. A challenge whose guids were just answered is stale too.
func (h *Handlers) stale(j *store.Job, st *mx.MemberStatus, sawRunning bool, n int) bool {
	if sawRunning || j.TriggeredAt.IsZero() || n-j.PollMark > staleReads {
		return false
	}
	if st.ConnectionStatus == "CHALLENGED" {
		return len(st.Challenges) > 0 && slices.Contains(j.Answered, st.Challenges[0].GUID)
	}
	at, err := time.Parse(time.RFC3339, st.AggregatedAt)
	return err == nil && at.Before(j.TriggeredAt.Add(-2*time.Second))
}

// pollAgain schedules poll n+1 and records poll n.
func (h *Handlers) pollAgain(ctx context.Context, j *store.Job, n int, record func(*store.Job) bool) error {
	now := h.now()
	if err := h.enqueue(ctx)(tasks.NewPollTask(j.ID, n+1, now, now.Add(h.pollDelay(n+1-j.PollMark)))); err != nil {
		return err
	}
	_, err := h.updateFrom(ctx, j, func(j *store.Job) error {
		if !record(j) {
			return store.ErrNoChange
		}
		return nil
	})
	return err
}

// park stores the challenges, parks the job and schedules its expiry
// (which also watches MX's status while the job is parked).
func (h *Handlers) park(ctx context.Context, j *store.Job, st *mx.MemberStatus, n int, record func(*store.Job) bool) error {
	chs := st.Challenges
	if len(chs) == 0 {
		var err error
		if chs, err = mx.Collect(h.mx.Challenges(ctx, j.UserGUID, j.MemberGUID)); err != nil {
			return h.mxErr(ctx, j.ID, "", err)
		}
		if len(chs) == 0 { // no longer challenged: look again soon
			return h.pollAgain(ctx, j, n, record)
		}
	}
	round := j.Round + 1
	now := h.now()
	exp := now.Add(h.cfg.ChallengeTTL)
	// The round's expiry task first runs at its first status check (see
	// handleExpire), at exp when checks are off or the TTL is short.
	if err := h.enqueue(ctx)(tasks.NewExpireTask(j.ID, round, now, h.firstExpiry(now, exp))); err != nil {
		return err
	}
	if err := h.notify(ctx, j, tasks.Callback{State: store.StateChallenged, Round: round, ConnectionStatus: st.ConnectionStatus, Challenges: chs}); err != nil {
		return err
	}
	_, err := h.updateFrom(ctx, j, func(j *store.Job) error {
		if !record(j) {
			return store.ErrNoChange
		}
		j.State, j.Challenges, j.Round, j.ChallengeExp, j.ResumeClaim, j.ResumeSent = store.StateChallenged, chs, round, exp, "", false
		j.ParkedAt = h.now()
		return nil
	})
	return err
}

// succeed reads every page of the results and ends the job.
func (h *Handlers) succeed(ctx context.Context, j *store.Job, record func(*store.Job) bool) error {
	var res store.Result
	var err error
	n := 0
	if j.Kind == store.KindIdentify {
		res.AccountOwners, err = mx.Collect(h.mx.AccountOwners(ctx, j.UserGUID, j.MemberGUID))
		n = len(res.AccountOwners)
	} else {
		res.AccountNumbers, err = mx.Collect(h.mx.AccountNumbers(ctx, j.UserGUID, j.MemberGUID))
		n = len(res.AccountNumbers)
	}
	if err != nil {
		return h.mxErr(ctx, j.ID, "", err)
	}
	if n == 0 {
		what := "account numbers"
		if j.Kind == store.KindIdentify {
			what = "account owners"
		}
		return h.end(ctx, j, record, CodeNoResults, "MX connected the member but returned no "+what)
	}
	if err := h.notify(ctx, j, tasks.Callback{State: store.StateSucceeded, ConnectionStatus: "CONNECTED"}); err != nil {
		return err
	}
	_, err = h.updateFrom(ctx, j, func(j *store.Job) error {
		if !record(j) {
			return store.ErrNoChange
		}
		j.State, j.Result, j.Error = store.StateSucceeded, &res, nil
		return nil
	})
	return err
}

// end fails the job with code after recording the poll.
func (h *Handlers) end(ctx context.Context, j *store.Job, record func(*store.Job) bool, code, msg string) error {
	if err := h.notify(ctx, j, tasks.Callback{State: store.StateFailed, ConnectionStatus: j.ConnectionStatus,
		Error: &store.JobError{Code: code, Message: msg}}); err != nil {
		return err
	}
	_, err := h.updateFrom(ctx, j, func(j *store.Job) error {
		if !record(j) {
			return store.ErrNoChange
		}
		j.Fail(code, msg)
		return nil
	})
	return err
}
