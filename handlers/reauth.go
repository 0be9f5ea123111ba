package handlers

import (
	"context"
	"errors"
	"fmt"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// reauthenticate gives a re-authentication's member (j.MemberGUID, the
// job's) the credentials m carries, unless the record shows MX took them
// on an earlier run (job.Reauthed), and tells whether it updated them and
// whether the update started the job's first MX job: in v20250224 MX
// aggregates on new credentials and that cannot be skipped, so the job
// follows that aggregation first (job.Preluded); in v20111101 the update
// skips aggregation and verify or identify follows (see job/reauth.go).
//
// The credentials are mapped as a create maps them (MapCredentials),
// against the fields of the institution MX says the member is at. A member
// MX does not know for the user fails unknown_member; credentials that do
// not map fail unknown_credential or missing_credential, before any update.
// MX's 409 to the update is a wait, or, when it is MX's duplicate member,
// fails duplicate_member (updateConflict).
func (h *Handlers) reauthenticate(ctx context.Context, j *store.Job, m tasks.Member) (updated, started bool, err error) {
	started = h.mx.Version() != mx.V20111101
	if j.CredsUpdated {
		return false, started, nil
	}
	values, err := (&tasks.Job{JobID: j.ID, Member: m}).OpenCredentials(h.keys)
	if errors.Is(err, tasks.ErrBadPayload) {
		return false, false, h.failStart(ctx, j, "", job.BadPayload{Err: err})
	}
	if err != nil {
		return false, false, err // a key this worker lacks: retried, maybe by a worker that has it
	}
	mem, err := h.mx.ReadMember(ctx, j.UserGUID, j.MemberGUID)
	switch {
	case mx.IsNotFound(err):
		return false, false, h.failStart(ctx, j, "", job.NoMember{User: j.UserGUID, Member: j.MemberGUID})
	case err != nil:
		return false, false, h.mxErr(ctx, j.ID, err)
	}
	for fresh := false; ; fresh = true {
		fields, cached, ferr := h.creds.get(ctx, h.mx, mem.InstitutionCode, fresh, h.now())
		if ferr != nil {
			return false, false, h.mxErr(ctx, j.ID, ferr)
		}
		creds, mis := MapCredentials(fields, values)
		if mis != nil && !cached {
			return false, false, h.failStart(ctx, j, "", job.CredentialsUnmapped{Mismatch: mis, Where: fmt.Sprintf("member %s at institution %s", j.MemberGUID, mem.InstitutionCode)})
		}
		if mis == nil {
			_, err = h.mx.UpdateMemberCredentials(ctx, j.UserGUID, j.MemberGUID, creds, callbackPayload(j.ID)...)
		}
		// Fields from the cache that do not match, or that MX refuses,
		// may have changed at MX: ask once more.
		if cached && (mis != nil || err != nil && !mx.IsRetriable(err) && !mx.IsConflict(err)) {
			continue
		}
		break
	}
	if mx.IsConflict(err) {
		return false, false, h.updateConflict(ctx, j, mem.InstitutionCode, err)
	}
	if err != nil {
		return false, false, h.mxErr(ctx, j.ID, err)
	}
	return true, started, nil
}

// updateConflict carries out MX's 409 to a re-authentication's update of
// a member at institution. MX answers 409 both when another MX job runs
// on the member and when the user has another member at the institution
// with those credentials, with nothing in the answer to tell them apart
// (mx.IsDuplicateUpdate): one listing of the user's members shows whether
// the member runs an MX job, and which other members the user has there.
// No job running: MX's duplicate, the job fails duplicate_member at once
// (job.DuplicateUpdate); otherwise the job waits for MX's job (busy).
func (h *Handlers) updateConflict(ctx context.Context, j *store.Job, institution string, err error) error {
	var ours *mx.Member
	var others []string
	for m, lerr := range h.mx.Members(ctx, j.UserGUID) {
		if lerr != nil {
			return h.mxErr(ctx, j.ID, lerr)
		}
		switch {
		case m.GUID == j.MemberGUID:
			ours = &m
		case m.InstitutionCode == institution:
			others = append(others, m.GUID)
		}
	}
	if mx.IsDuplicateUpdate(err, ours) {
		h.log.Info().Str("job", j.ID).Str("member_guid", j.MemberGUID).Strs("other_members", others).Msg("re-authentication: MX refused the credentials as a duplicate member")
		return h.end(ctx, j.ID, func(r *job.Record) job.Decision {
			return job.DuplicateUpdate(r, j.UserGUID, j.MemberGUID, institution, others)
		})
	}
	if w := h.busy(j, err); w != nil {
		return w
	}
	return h.mxErr(ctx, j.ID, err)
}

// busy turns MX's 409 (another job runs on the member) into a wait for a
// re-authentication (job.Busy); nil for any other job.
func (h *Handlers) busy(j *store.Job, err error) error {
	d := job.Busy(&j.Record, h.now(), h.core())
	if d.Wait == nil {
		return nil
	}
	return waitUntil(d.Wait.Until, "%s: %v", d.Wait.Reason, err)
}
