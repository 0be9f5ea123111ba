package handlers

import (
	"context"
	"errors"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// A verify job with a fallback account (tasks.Job.Fallback) that MX says
// its institution cannot verify instantly (the start's unsupported cases:
// v20250224's 201 with the product failed, v20111101's 400 on verify)
// switches to micro-deposits in the same run of mx:verify: the start
// creates the micro-deposit (ensureMicrodeposit adopts the one an earlier
// run created) and records the switch with the job running, in one write
// (job.MDFellBack). A crash before that write runs the start again, which
// meets the same answer from MX and adopts the micro-deposit; after it, a
// retry finds the job started and does nothing. From there the job runs
// as a microdeposit job (Record.Microdeposit): mx:poll, the amounts as
// answers, mx:expire.

// unsupportedError is the start's unsupported answer from MX for a job
// that can fall back: the start switches the job instead of failing it.
type unsupportedError struct {
	member, msg string
}

func (e *unsupportedError) Error() string { return e.msg }

// unsupported is the error of an unsupported start: the fallback's
// signal when j has one, otherwise orFail's (the job fails unsupported).
func unsupported(j *store.Job, member, msg string, orFail func() error) error {
	if j.Fallback == job.KindMicrodeposit && j.Kind == store.KindVerify {
		return &unsupportedError{member: member, msg: msg}
	}
	return orFail()
}

// fallBack switches the job to micro-deposits on the account p carries,
// if err is the unsupported answer; otherwise it returns err unchanged.
func (h *Handlers) fallBack(ctx context.Context, j *store.Job, p *tasks.Job, err error) (bool, error) {
	var u *unsupportedError
	if !errors.As(err, &u) {
		return false, err
	}
	acct, err := p.OpenFallback(h.keys)
	switch {
	case errors.Is(err, tasks.ErrBadPayload):
		return true, h.failStart(ctx, j, u.member, job.BadPayload{Err: err})
	case err != nil:
		return true, err // a key this worker lacks: retried
	case acct == nil:
		// The record asks for a fallback its start task does not carry
		// (a task not built by NewJobTask): no account to verify.
		return true, h.failStart(ctx, j, u.member, job.Unsupported{Msg: u.msg, NoFallback: true})
	}
	if j.MemberGUID == "" {
		j.MemberGUID = u.member // a micro-deposit MX refuses fails the job naming the member
	}
	h.log.Info().Str("job", j.ID).Str("member_guid", u.member).Msg("MX does not support instant verification at the institution: the job falls back to micro-deposits")
	md, err := h.ensureMicrodeposit(ctx, j, *acct)
	if err != nil {
		return true, err
	}
	_, _, err = h.execute(ctx, j, job.MDFellBack(&j.Record, j.UserGUID, u.member, md.GUID, string(md.Status), h.now(), h.core()), payload{})
	return true, err
}
