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

// handleStart runs mx:verify and mx:identify: ensure the user and the
// member (a re-authentication gives its member the new credentials:
// reauth.go), then start the MX job.
//
// On the way through, the record is written once: the user and member
// found or created are kept with the started MX job (and the job moved
// from pending to running with its deadline) in the same compare-and-set.
// A step that fails keeps what the steps before it found, so a retry
// resumes there; a crash loses them, which costs MX calls, not
// correctness: ensureUser finds the user it created, ensureMember gets
// MX's duplicate-member answer and uses that member.
func (h *Handlers) handleStart(ctx context.Context, t *asynq.Task) error {
	var p tasks.Job
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return err
	}
	kind := store.KindVerify
	if t.Type() == tasks.TypeIdentify {
		kind = store.KindIdentify
	}
	j, err := h.startRecord(ctx, t, p.JobID, kind)
	if j == nil {
		return err
	}
	if done, err := h.overdue(ctx, j); done {
		return err
	}
	var user, member string
	var updated, started bool // a re-authentication's update; the MX job already started
	progress := func() job.Decision {
		return job.Reauthed(updated, started, job.Started(user, member, h.now(), h.core()))
	}
	keep := func(err error) error {
		if err == nil || ctx.Err() != nil || errors.As(err, new(*stopError)) && user == "" && member == "" {
			return err
		}
		if _, _, kerr := h.execute(ctx, j, progress(), payload{}); kerr != nil {
			return fmt.Errorf("%w (and recording progress: %w)", err, kerr)
		}
		return err
	}
	if j.UserGUID == "" {
		if user, err = h.ensureUser(ctx, j.ID, p.User); err != nil {
			return keep(err)
		}
		j.UserGUID = user
	}
	if p.Member.OAuth != nil {
		member, err = h.startOAuth(ctx, j, p.Member)
		return keep(err)
	}
	if j.Reauth {
		if updated, started, err = h.reauthenticate(ctx, j, p.Member); err != nil {
			return keep(err)
		}
	}
	if j.MemberGUID == "" {
		if member, started, err = h.ensureMember(ctx, j, p.Member); err != nil {
			if fell, err := h.fallBack(ctx, j, &p, err); fell {
				return err
			}
			return keep(err)
		}
		j.MemberGUID = member
	}
	err = h.trigger(ctx, j, 1, started, progress())
	if fell, err := h.fallBack(ctx, j, &p, err); fell {
		return err
	}
	return keep(err)
}

// startRecord reads the job a start task (of kind) is for; nil when the
// task must not run: no record, another kind, or started already (err
// says how the task ends).
func (h *Handlers) startRecord(ctx context.Context, t *asynq.Task, jobID string, kind store.Kind) (*store.Job, error) {
	j, err := h.store.Get(ctx, jobID)
	if errors.Is(err, store.ErrNotFound) {
		// The producer writes the record before it enqueues the start, so
		// a start without one was enqueued some other way (raw asynq, a
		// copy from another Redis) or outlived its job (purged): it never
		// runs as a new job, which no one would have asked for.
		id, _ := asynq.GetTaskID(ctx)
		h.log.Warn().Str("task_type", t.Type()).Str("task_id", id).Str("job", jobID).
			Msg("start task for a job with no record: archived (producers record a job before enqueueing its start; submit it through the API, the CLI or tasks.Client)")
		return nil, stop("job %s has no record: a start task runs only for a job its producer recorded", jobID)
	}
	if err != nil {
		return nil, err
	}
	if j.Kind != kind {
		return nil, fmt.Errorf("%w: job %s is a %s job, task is %s", tasks.ErrBadPayload, j.ID, j.Kind, t.Type())
	}
	if done, err := h.decided(ctx, t, j.ID, job.StartDue(&j.Record)); done {
		return nil, err // this start already did its work
	}
	return j, nil
}

// ensureUser creates the user with the partner id u.ID; MX's 409 (the id
// exists: a user seen before, or an earlier run of this task) is resolved
// by finding it. Creating first costs one MX call for a new user and two
// for a known one; looking first would cost two for every new user.
func (h *Handlers) ensureUser(ctx context.Context, jobID string, u tasks.User) (string, error) {
	if u.GUID != "" {
		return u.GUID, nil
	}
	usr, err := h.mx.CreateUser(ctx, mx.UserCreate{ID: u.ID, Email: u.Email})
	if err == nil {
		return usr.GUID, nil
	}
	if !mx.IsConflict(err) {
		return "", h.mxErr(ctx, jobID, err)
	}
	for usr, err := range h.mx.Users(ctx, u.ID, "") {
		if err != nil {
			return "", h.mxErr(ctx, jobID, err)
		}
		if usr.ID == u.ID {
			return usr.GUID, nil
		}
	}
	return "", h.mxErr(ctx, jobID, fmt.Errorf("mx: createUser answered 409 but no user has id %q", u.ID))
}

// ensureMember creates the member from credentials given by name (field
// name, label or guid; see MapCredentials) and reports whether creating it
// started the job's MX work. In v20250224 the create names the job's
// product in data_request.products and MX starts it at once (MX's create
// member reference: "MX will immediately validate the provided credentials
// and attempt to aggregate data"), so no verify or identify call follows;
// in v20111101 the create skips aggregation and the verify or identify call
// starts the only MX job. A 409 duplicate is the user's existing member at
// that institution, on which the job's MX work still has to be started.
func (h *Handlers) ensureMember(ctx context.Context, j *store.Job, m tasks.Member) (string, bool, error) {
	if m.GUID != "" {
		return m.GUID, false, nil
	}
	values, err := (&tasks.Job{JobID: j.ID, Member: m}).OpenCredentials(h.keys)
	if errors.Is(err, tasks.ErrBadPayload) {
		return "", false, h.failStart(ctx, j, "", job.BadPayload{Err: err})
	}
	if err != nil {
		return "", false, err // a key this worker lacks: retried, maybe by a worker that has it
	}
	create := mx.MemberCreate{InstitutionCode: m.InstitutionCode, Metadata: memberMetadata(j.ID)}
	if h.mx.Version() == mx.V20111101 {
		create.SkipAggregation = true
	} else {
		create.Products = []string{product(j.Kind)}
	}
	var mem *mx.Member
	for fresh := false; ; fresh = true {
		var fields []mx.Credential
		var cached bool
		fields, cached, err = h.creds.get(ctx, h.mx, m.InstitutionCode, fresh, h.now())
		if mx.IsNotFound(err) {
			return "", false, h.failStart(ctx, j, "", job.NoInstitution{Institution: m.InstitutionCode})
		}
		if err != nil {
			return "", false, h.mxErr(ctx, j.ID, err)
		}
		creds, mis := MapCredentials(fields, values)
		if mis != nil && !cached {
			return "", false, h.failStart(ctx, j, "", job.CredentialsUnmapped{Mismatch: mis, Where: "institution " + m.InstitutionCode})
		}
		if mis == nil {
			create.Credentials = creds
			mem, err = h.mx.CreateMember(ctx, j.UserGUID, create, callbackPayload(j.ID)...)
		}
		// Fields from the cache that MX refuses (or that do not match
		// the request) may have changed at MX: ask once more.
		if cached && (mis != nil || err != nil && !mx.IsRetriable(err) && !mx.IsDuplicateMember(err)) {
			continue
		}
		break
	}
	if mx.IsDuplicateMember(err) {
		// MX: "a member is a duplicate if it connects the same user to
		// the same institution with the same credentials"
		// (docs.mx.com/api-reference/platform-api/reference/members, in
		// ../shared/docs/mx-api.md "Duplicates"): the existing member has
		// these very credentials, so a 409 never calls for an update;
		// new credentials for a member go through re-authentication
		// (member guid and credentials, reauth.go).
		//
		// The member this job created on an earlier run carries its
		// metadata; failing that, the user's only member there. With
		// several there and none ours, guessing could verify the wrong
		// account.
		var ours, there []string
		for existing, err := range h.mx.Members(ctx, j.UserGUID) {
			if err != nil {
				return "", false, h.mxErr(ctx, j.ID, err)
			}
			if existing.InstitutionCode != m.InstitutionCode {
				continue
			}
			there = append(there, existing.GUID)
			if existing.Metadata == memberMetadata(j.ID) {
				ours = append(ours, existing.GUID)
			}
		}
		switch {
		case len(ours) == 1:
			return ours[0], false, nil
		case len(ours) == 0 && len(there) == 1:
			h.log.Info().Str("job", j.ID).Str("member_guid", there[0]).Msg("duplicate member: using the user's existing one")
			return there[0], false, nil
		}
		return "", false, h.failStart(ctx, j, "", job.DuplicateUnresolved{Institution: m.InstitutionCode, Members: len(there)})
	}
	if err != nil {
		return "", false, h.mxErr(ctx, j.ID, err)
	}
	if mem.ProductsFailed {
		// MX's 201: the member exists but the product did not start; the
		// failed job keeps it.
		e := job.ProductFailed(product(j.Kind), m.InstitutionCode, false)
		return mem.GUID, false, unsupported(j, mem.GUID, e.Msg, func() error { return h.failStart(ctx, j, mem.GUID, e) })
	}
	return mem.GUID, h.mx.Version() != mx.V20111101, nil
}

// product is the MX product a job kind asks for.
func product(k store.Kind) string {
	if k == store.KindIdentify {
		return mx.ProductIdentityVerification
	}
	return mx.ProductAccountVerification
}

// callbackPayload sends the job id as X-CALLBACK-PAYLOAD, which MX returns
// with the webhooks the call causes; an id too long for it goes without
// (the webhook is then matched by member guid).
func callbackPayload(jobID string) []mx.CallOption {
	if len(jobID) > mx.MaxCallbackPayload {
		return nil
	}
	return []mx.CallOption{mx.CallbackPayload(jobID)}
}

// memberMetadata marks the members a job creates, so that a run of the
// job after a crash recognises its own member in MX's duplicate answer.
func memberMetadata(jobID string) string { return "mxfleet job " + jobID }

// handleTrigger runs mx:trigger: start MX job number Attempt again after a
// retry-later failure.
func (h *Handlers) handleTrigger(ctx context.Context, t *asynq.Task) error {
	var p tasks.Trigger
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return err
	}
	j, err := h.jobFor(ctx, t, p.JobID)
	if j == nil {
		return err
	}
	if done, err := h.decided(ctx, t, j.ID, job.TriggerDue(&j.Record, p.Attempt)); done {
		return err
	}
	return h.trigger(ctx, j, p.Attempt, false, job.Decision{})
}

// trigger asks MX to run the job (unless following a member connected
// elsewhere, or started is set: creating the member started it) and
// schedules the first poll. also's change, when set, is applied to the record in
// the same write (the start's progress).
func (h *Handlers) trigger(ctx context.Context, j *store.Job, attempt int, started bool, also job.Decision) error {
	if j.Triggered >= attempt {
		return nil
	}
	if done, err := h.overdue(ctx, j); done {
		return err
	}
	asked := h.now()
	if j.Follow {
		// The fleet asks MX for nothing: the member's status is already
		// the answer, and no read of it can predate a request (job.Stale).
		asked = time.Time{}
	}
	status := j.ConnectionStatus
	if !j.Follow && !started {
		mem, err := h.mx.StartMemberJob(ctx, j.UserGUID, j.MemberGUID, product(j.Kind), callbackPayload(j.ID)...)
		switch {
		case mx.IsConflict(err) && h.busy(j, err) != nil:
			return h.busy(j, err) // a re-authentication waits for MX's aggregation
		case mx.IsConflict(err):
			// A different MX job runs on the member: try again later.
			return &mxRetryError{fmt.Errorf("%w (another MX job is running on the member)", err)}
		case mx.StatusCode(err) == 400 && attempt == 1:
			return unsupported(j, j.MemberGUID, err.Error(), func() error { return h.fail(ctx, j.ID, job.Unsupported{Msg: err.Error()}) })
		case mx.StatusCode(err) == 400:
			return h.fail(ctx, j.ID, job.Unsupported{Msg: err.Error()})
		case err != nil:
			return h.mxErr(ctx, j.ID, err)
		}
		status = mem.ConnectionStatus
	}
	_, _, err := h.execute(ctx, j, job.Triggered(&j.Record, attempt, asked, status, also, h.now(), h.core()), payload{})
	return err
}
