package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/mxfleet/mxfleet/tasks"
)

// OAuthWindowResponse is the body answering POST /v1/jobs/{id}/oauth.
type OAuthWindowResponse struct {
	JobID  string `json:"job_id"`
	Window int    `json:"window"` // the window asked for; the job's oauth_windows reaches it once the worker has the URI
}

// oauthWindow is POST /v1/jobs/{id}/oauth: a fresh oauth_window_uri for a
// job waiting for the end user's OAuth authorization. It is queued (the
// worker asks MX and records the URI on the job, then sends the
// authorizing event); asking again before that is the same request.
func (s *Server) oauthWindow(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(w, id) {
		return
	}
	n, err := s.c.RequestOAuthWindow(r.Context(), id)
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, OAuthWindowResponse{JobID: id, Window: n})
	case errors.Is(err, tasks.ErrNotAuthorizing):
		writeErr(w, http.StatusConflict, "not_authorizing", err.Error())
	default:
		s.jobErr(w, r, err)
	}
}

// checkOAuth refuses at submit, when the institution directory is
// configured and knows the institution, what the worker would refuse
// later: OAuth at an institution that does not use it, and credentials at
// one that takes none (it uses OAuth). When the directory cannot tell
// (MX unreachable, unknown code), the worker decides.
func (s *Server) checkOAuth(ctx context.Context, m tasks.Member) (code, msg string) {
	if s.cfg.Institutions == nil || m.InstitutionCode == "" || m.GUID != "" {
		return "", ""
	}
	in, _, err := s.cfg.Institutions.Get(ctx, m.InstitutionCode)
	if err != nil {
		return "", ""
	}
	switch {
	case m.OAuth != nil && !in.SupportsOAuth:
		return "oauth_unsupported", fmt.Sprintf("institution %s does not use OAuth: submit it with credentials", m.InstitutionCode)
	case m.OAuth == nil && in.SupportsOAuth && len(in.Credentials) == 0:
		return "oauth_required", fmt.Sprintf("institution %s uses OAuth and takes no credentials: submit member.oauth (e.g. {}) instead; the end user authorizes at the job's oauth_window_uri", m.InstitutionCode)
	}
	return "", ""
}
