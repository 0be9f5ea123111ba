package handlers

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// Micro-deposit jobs (kind microdeposit; the steps are package job's
// microdeposit.go): mx:microdeposit creates the micro-deposit, mx:poll
// follows it (pollMicrodeposit), at DEPOSITED the job parks on the two
// amounts, mx:answer sends them to MX (verifyAmounts) and mx:expire reads
// the micro-deposit while the job waits (checkMicrodeposit). The record's
// MemberGUID is the micro-deposit's guid.

// handleMicrodepositStart runs mx:microdeposit: ensure the user, then the
// micro-deposit, and record both with the job running, in one write.
func (h *Handlers) handleMicrodepositStart(ctx context.Context, t *asynq.Task) error {
	var p tasks.MicrodepositJob
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return err
	}
	j, err := h.startRecord(ctx, t, p.JobID, store.KindMicrodeposit)
	if j == nil {
		return err
	}
	acct, err := p.OpenAccount(h.keys)
	if errors.Is(err, tasks.ErrBadPayload) {
		return h.failStart(ctx, j, "", job.BadPayload{Err: err})
	}
	if err != nil {
		return err // a key this worker lacks: retried
	}
	user := j.UserGUID
	if user == "" {
		if user, err = h.ensureUser(ctx, j.ID, p.User); err != nil {
			return err
		}
		j.UserGUID = user
	}
	md, err := h.ensureMicrodeposit(ctx, j, acct)
	if err != nil {
		return err
	}
	_, _, err = h.execute(ctx, j, job.MDStarted(&j.Record, user, md.GUID, string(md.Status), h.now(), h.core()), payload{})
	return err
}

// ensureMicrodeposit creates the job's micro-deposit once. MX's create
// takes no idempotency key and a micro-deposit no metadata, so the user's
// micro-deposits are listed first: one for the same account, created since
// the job was, and followed by no other job, is the one an earlier run of
// this task created before it could record it.
func (h *Handlers) ensureMicrodeposit(ctx context.Context, j *store.Job, a tasks.Account) (*mx.Microdeposit, error) {
	since := j.CreatedAt.Add(-time.Minute)
	for md, err := range h.mx.Microdeposits(ctx, j.UserGUID) {
		if err != nil {
			return nil, h.mxErr(ctx, j.ID, err)
		}
		if md.AccountNumber != a.AccountNumber || md.RoutingNumber != a.RoutingNumber || string(md.AccountType) != a.AccountType {
			continue
		}
		if at, err := time.Parse(time.RFC3339, md.CreatedAt); err != nil || at.Before(since) {
			continue
		}
		if other, err := h.store.JobByMember(ctx, md.GUID); err == nil && other != j.ID {
			continue
		} else if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
		h.log.Info().Str("job", j.ID).Str("microdeposit_guid", md.GUID).Msg("micro-deposit created by an earlier run of the start found")
		return &md, nil
	}
	md, err := h.mx.CreateMicrodeposit(ctx, j.UserGUID, mx.MicrodepositCreate{AccountNumber: a.AccountNumber, AccountType: a.AccountType,
		RoutingNumber: a.RoutingNumber, FirstName: a.FirstName, LastName: a.LastName, Email: a.Email})
	if err != nil {
		if mx.IsRetriable(err) || ctx.Err() != nil {
			return nil, h.mxErr(ctx, j.ID, err)
		}
		return nil, h.failStart(ctx, j, "", job.MXRefused{What: "the micro-deposit", Err: err})
	}
	return md, nil
}

// readMicrodeposit reads the job's micro-deposit: MX's 404 is Gone.
func (h *Handlers) readMicrodeposit(ctx context.Context, j *store.Job) (*mx.Microdeposit, job.MDRead, error) {
	md, err := h.mx.ReadMicrodeposit(ctx, j.UserGUID, j.MemberGUID)
	if mx.MicrodepositGone(err) {
		return nil, job.MDRead{Gone: true}, nil
	}
	if err != nil {
		return nil, job.MDRead{}, err
	}
	return md, job.MDRead{Status: string(md.Status)}, nil
}

// pollMicrodeposit is mx:poll for a micro-deposit job: read it once and
// move the job as job.MDPolled decides.
func (h *Handlers) pollMicrodeposit(ctx context.Context, j *store.Job, n int) error {
	md, st, err := h.readMicrodeposit(ctx, j)
	if err != nil {
		return h.mxErr(ctx, j.ID, err)
	}
	d := job.MDPolled(&j.Record, n, st, h.now(), h.core())
	var pay payload
	if d.Need == job.NeedResults {
		pay.result, d = verifiedResult(j, md), job.MDSucceed(&j.Record, n)
	}
	if d.Event != nil && d.Event.State == store.StateChallenged {
		pay.challenges = amountChallenges()
	}
	_, _, err = h.execute(ctx, j, d, pay)
	return err
}

// verifyAmounts sends the amounts of the answer that claimed the parked
// round to MX, and moves the job as job.MDAnswered decides: on MX's
// verdict when the answer has one, else to reading the micro-deposit
// until it does. A retry reads the micro-deposit first: one whose status
// is no longer the one the round was parked at had this answer's amounts
// already, and they are not sent again (each pair spends one of MX's three
// attempts). MX documents no other sign that a pair reached it: a crash
// between MX's answer and the record's write, with MX's verdict not yet
// shown, sends the same pair again (a right pair stays right; a wrong one
// may spend one more of MX's attempts).
func (h *Handlers) verifyAmounts(ctx context.Context, t *asynq.Task, j *store.Job, claim string, plain []mx.ChallengeAnswer) error {
	amounts, err := tasks.ParseAmounts(plain)
	if err != nil {
		return h.fail(ctx, j.ID, job.BadPayload{Err: fmt.Errorf("the answer's amounts: %w", err)})
	}
	var md *mx.Microdeposit
	var st job.MDRead
	sent := false
	if n, _ := asynq.GetRetryCount(ctx); n > 0 {
		if md, st, err = h.readMicrodeposit(ctx, j); err != nil {
			return h.mxErr(ctx, j.ID, err)
		}
		sent = st.Gone || st.Status != j.ConnectionStatus
	}
	if !sent {
		md, err = h.mx.VerifyMicrodeposit(ctx, j.MemberGUID, amounts)
		switch {
		case mx.MicrodepositGone(err):
			md, st = nil, job.MDRead{Gone: true}
		case mx.StatusCode(err) == 409:
			// Not DEPOSITED or DENIED (any more): what it is decides.
			if md, st, err = h.readMicrodeposit(ctx, j); err != nil {
				return h.mxErr(ctx, j.ID, err)
			}
		case err != nil && (mx.IsRetriable(err) || ctx.Err() != nil):
			return h.mxErr(ctx, j.ID, err)
		case err != nil:
			return h.fail(ctx, j.ID, job.MXRefused{What: "the micro-deposit amounts", Err: err})
		default:
			st = job.MDRead{Status: string(md.Status)}
		}
	}
	d := job.MDAnswered(&j.Record, claim, st, h.now(), h.core())
	if done, err := h.decided(ctx, t, j.ID, d); done {
		return err
	}
	var pay payload
	if d.Event != nil && d.Event.State == store.StateSucceeded {
		pay.result = verifiedResult(j, md)
	}
	if d.Event != nil && d.Event.State == store.StateChallenged {
		pay.challenges = amountChallenges()
		h.log.Info().Str("job", j.ID).Int("round", d.Event.Round).Msg("MX found the micro-deposit amounts incorrect: the job waits for amounts again")
	}
	_, _, err = h.execute(ctx, j, d, pay)
	return err
}

// checkMicrodeposit is a parked micro-deposit job's expiry task before
// the round is due: one read of the micro-deposit (a failed read is
// skipped), then job.MDChecked.
func (h *Handlers) checkMicrodeposit(ctx context.Context, t *asynq.Task, j *store.Job, round int, now time.Time) error {
	md, st, err := h.readMicrodeposit(ctx, j)
	if err != nil {
		h.cfg.Metrics.Throttled(err)
		h.log.Debug().Str("job", j.ID).Int("round", round).Str("error", err.Error()).Msg("parked micro-deposit job: not read; next check later")
	}
	d := job.MDChecked(&j.Record, round, st, err == nil, now, h.core())
	if done, err := h.decided(ctx, t, j.ID, d); done {
		return err
	}
	var pay payload
	if d.Event != nil && d.Event.State == store.StateSucceeded {
		pay.result = verifiedResult(j, md)
	}
	_, _, err = h.execute(ctx, j, d, pay)
	return err
}

// verifiedResult is a verified micro-deposit's result: its account and
// routing numbers, which MX verified (sealed in the record as every
// result).
func verifiedResult(j *store.Job, md *mx.Microdeposit) *store.Result {
	if md == nil {
		return &store.Result{}
	}
	return &store.Result{AccountNumbers: []store.AccountNumber{{GUID: md.GUID, UserGUID: j.UserGUID,
		AccountNumber: md.AccountNumber, RoutingNumber: md.RoutingNumber, PassedValidation: true}}}
}

// amountChallenges are the two challenges a parked micro-deposit job is
// answered on.
func amountChallenges() []store.Challenge {
	return []store.Challenge{
		{GUID: job.AmountGUID1, Label: "First micro-deposit amount (dollars, e.g. 0.07)", FieldName: "deposit_amount_1", Type: "TEXT"},
		{GUID: job.AmountGUID2, Label: "Second micro-deposit amount (dollars, e.g. 0.15)", FieldName: "deposit_amount_2", Type: "TEXT"},
	}
}
