package api

import (
	"net/http"
	"reflect"

	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

// createMicrodeposit is POST /v1/jobs for kind microdeposit: the account
// is checked (tasks.NewMicrodepositTask's checks, before any Redis call)
// and sealed in the start task by the producer client.
func (s *Server) createMicrodeposit(w http.ResponseWriter, r *http.Request, req *JobRequest, user tasks.User) {
	switch {
	case store.Kind(req.Kind) != store.KindMicrodeposit:
		writeErr(w, http.StatusBadRequest, "invalid_request", `account is for kind "microdeposit" only`)
		return
	case req.Account == nil:
		writeErr(w, http.StatusBadRequest, "invalid_request", "a microdeposit job needs account: account_number, routing_number, account_type")
		return
	case req.FallbackAccount != nil:
		writeErr(w, http.StatusBadRequest, "invalid_request", "fallback_account is for verify jobs only: a microdeposit job verifies its account")
		return
	case req.Person != nil || req.Thresholds != nil:
		writeErr(w, http.StatusBadRequest, "invalid_request", "person and thresholds are for identify jobs only: a microdeposit job has no account owners to match")
		return
	case !reflect.ValueOf(req.Member).IsZero():
		writeErr(w, http.StatusBadRequest, "invalid_request", "a microdeposit job has no member: give user and account")
		return
	}
	id := req.ID
	if id == "" {
		id = "job_00000000-0000-0000-0000-000000000000" // the shape of the id the client generates
	}
	if _, err := tasks.NewMicrodepositTask(s.scratch, tasks.MicrodepositJob{JobID: id, User: user, Account: *req.Account}); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	j, created, err := s.c.Microdeposit(r.Context(), tasks.MicrodepositRequest{ID: req.ID, User: user, Account: *req.Account,
		CallbackURL: req.CallbackURL, CallbackResults: req.CallbackResults})
	s.submitted(w, r, req.ID, j, created, err)
}
