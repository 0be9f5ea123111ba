package handlers

import (
	"context"

	"github.com/hibiken/asynq"

	"github.com/mxfleet/mxfleet/job"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// startOAuth is the start of an OAuth job once its user is known: the
// member is created with is_oauth (no credentials) and its
// oauth_window_uri, and the job waits for the end user (job.Authorizing).
// It returns the member guid (for the start's progress on failure).
//
// At least once: MX documents no duplicate answer for OAuth members (they
// have no credentials to compare, and the simulator creates another), so
// a start run again first looks for the member an earlier run created (its
// metadata names the job) and uses that one, with a fresh window when its
// own is gone. In v20250224 the create names the job's product, which MX
// runs once the end user has authorized; in v20111101 it skips
// aggregation and the trigger of attempt 1 starts the job afterwards.
func (h *Handlers) startOAuth(ctx context.Context, j *store.Job, m tasks.Member) (string, error) {
	trigger := h.mx.Version() == mx.V20111101
	guid, uri := j.MemberGUID, ""
	if guid == "" {
		found, err := h.ourMember(ctx, j, m.InstitutionCode)
		if err != nil {
			return "", h.mxErr(ctx, j.ID, err)
		}
		if found != nil {
			guid, uri = found.GUID, found.OAuthWindowURI
		}
	}
	if guid == "" {
		create := mx.MemberCreate{InstitutionCode: m.InstitutionCode, Metadata: memberMetadata(j.ID), IsOAuth: true,
			OAuth: mx.OAuthOptions{ClientRedirectURL: m.OAuth.ClientRedirectURL, ReferralSource: m.OAuth.ReferralSource}}
		if trigger {
			create.SkipAggregation = true
		} else {
			create.Products = []string{product(j.Kind)}
		}
		mem, err := h.mx.CreateMember(ctx, j.UserGUID, create, callbackPayload(j.ID)...)
		switch {
		case mx.IsNotFound(err):
			return "", h.failStart(ctx, j, "", job.NoInstitution{Institution: m.InstitutionCode})
		case mx.StatusCode(err) == 400:
			return "", h.failStart(ctx, j, "", job.OAuthRefused{Institution: m.InstitutionCode, Err: err})
		case err != nil:
			return "", h.mxErr(ctx, j.ID, err)
		case mem.ProductsFailed:
			return mem.GUID, h.failStart(ctx, j, mem.GUID, job.ProductFailed(product(j.Kind), m.InstitutionCode, true))
		}
		guid, uri = mem.GUID, mem.OAuthWindowURI
	}
	if uri == "" {
		// Found again after a crash, its window used or gone: a fresh
		// one (no one has seen the old one: the record never held it).
		// MX's 409: the member no longer waits (authorized); the polls
		// find it so.
		w, err := h.mx.RequestOAuthWindowURI(ctx, j.UserGUID, guid, h.oauthOptions(j.OAuth, trigger))
		switch {
		case err == nil:
			uri = w.OAuthWindowURI
		case mx.StatusCode(err) != 409:
			return guid, h.mxErr(ctx, j.ID, err)
		}
	}
	_, _, err := h.execute(ctx, j, job.Authorizing(&j.Record, j.UserGUID, guid, uri, trigger, h.now(), h.core()), payload{})
	return guid, err
}

// ourMember is the OAuth member an earlier run of the job's start created
// at the institution (its metadata names the job), or nil.
func (h *Handlers) ourMember(ctx context.Context, j *store.Job, institution string) (*mx.Member, error) {
	for m, err := range h.mx.Members(ctx, j.UserGUID) {
		if err != nil {
			return nil, err
		}
		if m.InstitutionCode == institution && m.Metadata == memberMetadata(j.ID) {
			return &m, nil
		}
	}
	return nil, nil
}

// oauthOptions are the window options of a job: its own, and in v20111101
// skip_aggregation (the fleet starts the job once authorized).
func (h *Handlers) oauthOptions(o *job.OAuth, trigger bool) mx.OAuthOptions {
	var out mx.OAuthOptions
	if o != nil {
		out.ClientRedirectURL, out.ReferralSource = o.ClientRedirectURL, o.ReferralSource
	}
	out.SkipAggregation = trigger
	return out
}

// handleOAuthWindow runs mx:oauth: ask MX for a fresh oauth_window_uri for
// an authorizing job and record it (job.WindowDue, job.WindowIssued). A
// request MX refuses leaves the job as it is (it goes on waiting for the
// end user, its polls see what MX shows); the refusal is logged and noted
// on the job (oauth_window_refused), never a URI, and the window may be
// asked for again.
func (h *Handlers) handleOAuthWindow(ctx context.Context, t *asynq.Task) error {
	var p tasks.OAuthWindow
	if err := tasks.Decode(t.Payload(), &p); err != nil {
		return err
	}
	j, err := h.jobFor(ctx, t, p.JobID)
	if j == nil {
		return err
	}
	if done, err := h.decided(ctx, t, j.ID, job.WindowDue(&j.Record, p.Window)); done {
		return err
	}
	if done, err := h.overdue(ctx, j); done {
		return err
	}
	w, err := h.mx.RequestOAuthWindowURI(ctx, j.UserGUID, j.MemberGUID, h.oauthOptions(j.OAuth, j.OAuthTrigger))
	if err != nil {
		if mx.IsRetriable(err) && !lastTry(ctx) {
			return err
		}
		h.log.Warn().Str("job", j.ID).Int("window", p.Window).Int("mx_status", mx.StatusCode(err)).
			Msg("fresh OAuth window refused by MX: the job waits on as it is")
		// Shown on the job (oauth_window_refused); the task ends without
		// being archived, so the window can be asked for again.
		_, _, werr := h.execute(ctx, j, job.WindowRefused(p.Window, err.Error(), h.now()), payload{})
		return werr
	}
	_, _, err = h.execute(ctx, j, job.WindowIssued(&j.Record, p.Window, w.OAuthWindowURI), payload{})
	return err
}
