// Package api is the fleet's HTTP way in for any language: jobs, answers,
// purge, Connect widget URLs, institutions, and MX webhooks that wake a
// job's scheduled poll (run it now; a parked job waits for its answer, not a
// poll). Its
// OpenAPI document is openapi.json, served at /v1/openapi.json.
package api

import (
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/rs/zerolog"

	"github.com/mxfleet/mxfleet/internal/callback"
	"github.com/mxfleet/mxfleet/internal/institutions"
	"github.com/mxfleet/mxfleet/internal/seal"
	"github.com/mxfleet/mxfleet/internal/strictjson"
	"github.com/mxfleet/mxfleet/match"
	"github.com/mxfleet/mxfleet/mx"
	"github.com/mxfleet/mxfleet/store"
	"github.com/mxfleet/mxfleet/tasks"
)

//go:embed openapi.json
var openAPI []byte

// MaxBody bounds a request body; larger ones get 413.
const MaxBody = 64 << 10

// Paging limits of GET /v1/jobs (openapi.json says the same).
const (
	MaxPage    = 1_000_000
	MaxPerPage = 500
)

// RetryAfter is the Retry-After, in seconds, of a 503 "unavailable": the
// fleet's Redis did not answer (a restart, a failover), and the same
// request will do once it does.
const RetryAfter = 5

// Config holds what the API checks.
type Config struct {
	Tokens        []string        // bearer tokens accepted
	Callbacks     *callback.Allow // nil: callback_url refused
	WebhookSecret string          // empty: MX webhooks refused
	// Institutions serves /v1/institutions; nil: 503 mx_not_configured.
	Institutions *institutions.Directory
}

// Server serves the API.
type Server struct {
	c   *tasks.Client
	mx  *mx.Client
	cfg Config
	log zerolog.Logger
	mux *http.ServeMux
	// scratch seals values only to validate requests before any Redis
	// call, with the functions the producer client runs (see validJob).
	scratch *tasks.Keyring
}

// New builds the API over a producer client and an MX client (for
// widget URLs).
func New(c *tasks.Client, mxc *mx.Client, cfg Config, log zerolog.Logger) *Server {
	s := &Server{c: c, mx: mxc, cfg: cfg, log: log, mux: http.NewServeMux(), scratch: seal.Ephemeral()}
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]bool{"ok": true}) })
	s.mux.HandleFunc("GET /v1/openapi.json", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(openAPI)
	})
	s.mux.HandleFunc("POST /v1/mx/webhooks", s.webhook)
	s.mux.Handle("POST /v1/jobs", s.auth(s.createJob))
	s.mux.Handle("GET /v1/jobs", s.auth(s.listJobs))
	s.mux.Handle("GET /v1/jobs/{id}", s.auth(s.getJob))
	s.mux.Handle("DELETE /v1/jobs/{id}", s.auth(s.deleteJob))
	s.mux.Handle("POST /v1/jobs/{id}/answers", s.auth(s.answer))
	s.mux.Handle("POST /v1/jobs/{id}/oauth", s.auth(s.oauthWindow))
	s.mux.Handle("POST /v1/widget_urls", s.auth(s.widgetURL))
	s.mux.Handle("GET /v1/institutions", s.auth(s.searchInstitutions))
	s.mux.Handle("GET /v1/institutions/{code}", s.auth(s.getInstitution))
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeErr(w, http.StatusNotFound, "not_found", "no such route: "+r.Method+" "+r.URL.Path)
	})
	return s
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Error is the body of every error response.
type Error struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeErr(w http.ResponseWriter, status int, code, msg string) {
	var e Error
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// unavailable answers a failure of the fleet's own store (Redis
// unreachable, a failover, full): 503 with Retry-After, so that clients retry.
// The detail is logged here and never sent: it names internal addresses.
func (s *Server) unavailable(w http.ResponseWriter, r *http.Request, err error, msg string) {
	s.log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.Path).Msg("api: job store unavailable")
	w.Header().Set("Retry-After", strconv.Itoa(RetryAfter))
	writeErr(w, http.StatusServiceUnavailable, "unavailable", msg)
}

// storeTrouble says what kept the job store from doing its part: full
// (Redis at maxmemory takes no writes until memory is freed), or
// unavailable (not answering).
func storeTrouble(err error) string {
	if store.Full(err) {
		return "the job store is full (it takes no new writes until memory is freed)"
	}
	return "the job store is unavailable"
}

// validID answers 400 invalid_id for a job id no job can have, before any
// Redis call, so that every later error is the store's.
func validID(w http.ResponseWriter, id string) bool {
	if err := store.ValidateID(id); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_id", err.Error())
		return false
	}
	return true
}

func (s *Server) auth(next http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || !s.tokenOK(strings.TrimSpace(tok)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="mxfleet"`)
			writeErr(w, http.StatusUnauthorized, "unauthorized", "a valid bearer token is required")
			return
		}
		next(w, r)
	})
}

func (s *Server) tokenOK(tok string) bool {
	ok := false
	for _, t := range s.cfg.Tokens {
		if t != "" && subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			ok = true
		}
	}
	return ok
}

// decode reads a JSON body strictly: size limit (413), syntax (400),
// unknown fields (400). It never quotes the body.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	err := strictjson.Decode(http.MaxBytesReader(w, r.Body, MaxBody), v)
	var tooBig *http.MaxBytesError
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	var unknown *strictjson.UnknownFieldError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		writeErr(w, http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body is over %d bytes", MaxBody))
	case errors.As(err, &syn):
		writeErr(w, http.StatusBadRequest, "malformed_json", "malformed JSON at offset "+strconv.FormatInt(syn.Offset, 10))
	case errors.As(err, &typ):
		writeErr(w, http.StatusBadRequest, "malformed_json", fmt.Sprintf("field %q must be %s", typ.Field, typ.Type))
	case errors.As(err, &unknown):
		writeErr(w, http.StatusBadRequest, "unknown_field", unknown.Error())
	case errors.Is(err, io.EOF):
		writeErr(w, http.StatusBadRequest, "malformed_json", "empty body")
	default:
		writeErr(w, http.StatusBadRequest, "malformed_json", "the body is not a JSON object")
	}
	return false
}

// JobRequest is the body of POST /v1/jobs.
type JobRequest struct {
	Kind string `json:"kind"` // verify | identify | follow | microdeposit
	ID   string `json:"id,omitempty"`
	User struct {
		ID    string `json:"id,omitempty"`
		GUID  string `json:"guid,omitempty"`
		Email string `json:"email,omitempty"`
	} `json:"user"`
	Member struct {
		GUID            string            `json:"guid,omitempty"`
		InstitutionCode string            `json:"institution_code,omitempty"`
		Credentials     map[string]string `json:"credentials,omitempty"`
		OAuth           *tasks.OAuth      `json:"oauth,omitempty"` // an OAuth job (oauth.go)
	} `json:"member"`
	// Account: the account a microdeposit job verifies (only those).
	Account *tasks.Account `json:"account,omitempty"`
	// FallbackAccount: verify only, the account to verify by
	// micro-deposits should the institution not support instant
	// verification (tasks.Request.Fallback).
	FallbackAccount *tasks.Account `json:"fallback_account,omitempty"`
	CallbackURL     string         `json:"callback_url,omitempty"`
	CallbackResults bool           `json:"callback_results,omitempty"`
	// Person: identify only, the upstream's data about the person
	// (tasks.Person); the job's view then shows the owner match.
	Person *tasks.Person `json:"person,omitempty"`
	// Thresholds: identify with a person only, the owner match's verdict
	// thresholds; one left out keeps its default (match 85, partial 50).
	Thresholds *struct {
		Match   *int `json:"match,omitempty"`
		Partial *int `json:"partial,omitempty"`
	} `json:"thresholds,omitempty"`
}

// thresholds are the request's thresholds (tasks.ThresholdsOf).
func (req *JobRequest) thresholds() *tasks.Thresholds {
	if req.Thresholds == nil {
		return nil
	}
	d := match.DefaultThresholds // {}: both left out
	return cmp.Or(tasks.ThresholdsOf(req.Thresholds.Match, req.Thresholds.Partial), &d)
}

func (s *Server) createJob(w http.ResponseWriter, r *http.Request) {
	var req JobRequest
	if !decode(w, r, &req) {
		return
	}
	kind := store.Kind(req.Kind)
	follow := req.Kind == "follow"
	if follow {
		kind = store.KindVerify
	}
	if !kind.Valid() {
		writeErr(w, http.StatusBadRequest, "invalid_kind", `kind must be "verify", "identify", "follow" or "microdeposit"`)
		return
	}
	if req.CallbackURL != "" {
		if s.cfg.Callbacks == nil {
			writeErr(w, http.StatusBadRequest, "callback_not_allowed", "callbacks are off: MXFLEET_CALLBACK_ALLOW is empty")
			return
		}
		if err := s.cfg.Callbacks.Check(req.CallbackURL); err != nil {
			writeErr(w, http.StatusBadRequest, "callback_not_allowed", err.Error())
			return
		}
	}
	user := tasks.User{ID: req.User.ID, GUID: req.User.GUID, Email: req.User.Email}
	if kind == store.KindMicrodeposit || req.Account != nil {
		s.createMicrodeposit(w, r, &req, user)
		return
	}
	member := tasks.Member{GUID: req.Member.GUID, InstitutionCode: req.Member.InstitutionCode, Credentials: req.Member.Credentials, Follow: follow, OAuth: req.Member.OAuth}
	thresholds := req.thresholds()
	if err := cmp.Or(s.validJob(kind, req.ID, user, member, req.FallbackAccount), tasks.ValidatePerson(kind, req.Person),
		tasks.ValidateThresholds(kind, req.Person, thresholds)); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	if code, msg := s.checkOAuth(r.Context(), member); code != "" {
		writeErr(w, http.StatusBadRequest, code, msg)
		return
	}
	j, created, err := s.c.Submit(r.Context(), kind, tasks.Request{
		ID: req.ID, User: user, Member: member,
		CallbackURL: req.CallbackURL, CallbackResults: req.CallbackResults, Person: req.Person, Thresholds: thresholds, Fallback: req.FallbackAccount,
	})
	s.submitted(w, r, req.ID, j, created, err)
}

// submitted answers a job's submission: 202 created, 200 the same job
// again, 409 an id taken, 503 the store's trouble.
func (s *Server) submitted(w http.ResponseWriter, r *http.Request, id string, j *store.View, created bool, err error) {
	switch {
	case err == nil && created:
		writeJSON(w, http.StatusAccepted, j)
	case err == nil:
		writeJSON(w, http.StatusOK, j)
	case errors.Is(err, tasks.ErrIDConflict), errors.Is(err, tasks.ErrRequestDiffers):
		writeErr(w, http.StatusConflict, "id_conflict", err.Error())
	case j != nil:
		// The record stands, its start task was not enqueued: the same
		// id again enqueues it.
		s.unavailable(w, r, err, "job "+j.ID+" is recorded but not queued: "+storeTrouble(err)+"; submit it again with the same id")
	case id != "":
		s.unavailable(w, r, err, storeTrouble(err)+"; submit the job again with the same id")
	default:
		s.unavailable(w, r, err, storeTrouble(err)+"; submit the job again (with an id, a retry is safe: the same id returns the same job)")
	}
}

// validJob runs, before any Redis call, the validation the producer
// client runs in Submit (tasks.NewJobTask: ids, user, member, credential
// names and values), so that a request it refuses is a 400 and any error
// Submit returns afterwards is the store's. The tasks package does not mark
// its validation errors, so the API calls the same function instead of
// reading error strings.
func (s *Server) validJob(kind store.Kind, id string, user tasks.User, member tasks.Member, fallback *tasks.Account) error {
	if id == "" {
		id = "job_00000000-0000-0000-0000-000000000000" // the shape of the id Submit generates
	}
	_, err := tasks.NewJobTask(s.scratch, kind, tasks.Job{JobID: id, User: user, Member: member, Fallback: fallback})
	return err
}

// validAnswers is validJob for answers: what tasks.NewAnswerTask checks
// (how many, challenge guids, values), before any Redis call.
func (s *Server) validAnswers(id string, answers map[string]string) error {
	p := tasks.Answer{JobID: id, AnswerID: "00000000-0000-0000-0000-000000000000", Round: 1}
	for g, v := range answers {
		p.Answers = append(p.Answers, mx.ChallengeAnswer{GUID: g, Value: v})
	}
	slices.SortFunc(p.Answers, func(a, b mx.ChallengeAnswer) int { return strings.Compare(a.GUID, b.GUID) })
	_, err := tasks.NewAnswerTask(s.scratch, p)
	return err
}

// jobErr answers an error of the store for a valid job id: 404 for no
// such job, else 503.
func (s *Server) jobErr(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, http.StatusNotFound, "not_found", err.Error())
	case errors.Is(err, store.ErrInvalidID):
		writeErr(w, http.StatusBadRequest, "invalid_id", err.Error())
	default:
		s.unavailable(w, r, err, storeTrouble(err)+"; try again later")
	}
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(w, id) {
		return
	}
	j, err := s.c.Status(r.Context(), id)
	if err != nil {
		s.jobErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, j)
}

// JobList is the body of GET /v1/jobs.
type JobList struct {
	Jobs       []store.View `json:"jobs"`
	Pagination struct {
		Page         int `json:"page"`
		PerPage      int `json:"per_page"`
		TotalEntries int `json:"total_entries"`
	} `json:"pagination"`
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("state") != string(store.StateChallenged) {
		writeErr(w, http.StatusBadRequest, "invalid_state", "list jobs with state=challenged (the jobs waiting for MFA answers); read others by id")
		return
	}
	page, per := 1, 50
	for _, p := range []struct {
		name string
		dst  *int
		max  int
	}{{"page", &page, MaxPage}, {"per_page", &per, MaxPerPage}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > p.max {
				writeErr(w, http.StatusBadRequest, "invalid_paging", fmt.Sprintf("%s must be an integer from 1 to %d", p.name, p.max))
				return
			}
			*p.dst = n
		}
	}
	parked, err := s.c.Parked(r.Context())
	if err != nil {
		s.jobErr(w, r, err)
		return
	}
	ids := make([]string, 0, len(parked))
	for _, p := range parked {
		ids = append(ids, p.JobID)
	}
	slices.Sort(ids)
	var out JobList
	out.Jobs = []store.View{}
	out.Pagination.Page, out.Pagination.PerPage, out.Pagination.TotalEntries = page, per, len(ids)
	// The page's slice of ids, computed so that nothing overflows: the
	// page starts past the end unless (page-1)*per ≤ len(ids).
	start := len(ids)
	if page-1 <= len(ids)/per {
		start = (page - 1) * per
	}
	end := start + min(per, len(ids)-start)
	for _, id := range ids[start:end] {
		j, err := s.c.Status(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			continue // ended since Parked
		}
		if err != nil {
			s.jobErr(w, r, err)
			return
		}
		out.Jobs = append(out.Jobs, *j)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) deleteJob(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !validID(w, id) {
		return
	}
	if _, err := s.c.Status(r.Context(), id); err != nil {
		s.jobErr(w, r, err)
		return
	}
	if _, err := s.c.Purge(r.Context(), id); err != nil {
		writeErr(w, http.StatusConflict, "purge_incomplete", err.Error())
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// AnswerRequest is the body of POST /v1/jobs/{id}/answers.
type AnswerRequest struct {
	Answers map[string]string `json:"answers"` // challenge guid → value
}

func (s *Server) answer(w http.ResponseWriter, r *http.Request) {
	var req AnswerRequest
	if !decode(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	if !validID(w, id) {
		return
	}
	if len(req.Answers) == 0 {
		writeErr(w, http.StatusBadRequest, "invalid_request", "answers must map every challenge guid to a value")
		return
	}
	if err := s.validAnswers(id, req.Answers); err != nil {
		writeErr(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	aid, err := s.c.Answer(r.Context(), id, req.Answers)
	switch {
	case err == nil:
		writeJSON(w, http.StatusAccepted, map[string]string{"answer_id": aid})
	case errors.Is(err, tasks.ErrNotChallenged):
		writeErr(w, http.StatusConflict, "not_challenged", err.Error()) // an authorizing job says why
	case errors.Is(err, tasks.ErrAlreadyAnswered):
		writeErr(w, http.StatusConflict, "already_answered", err.Error())
	case errors.Is(err, tasks.ErrChallengeMismatch):
		writeErr(w, http.StatusUnprocessableEntity, "challenge_mismatch", err.Error())
	case errors.Is(err, store.ErrNotFound):
		writeErr(w, http.StatusNotFound, "not_found", err.Error())
	default:
		// Answering the same challenges again is safe: the worker
		// resumes the job once, however many answers arrive.
		s.unavailable(w, r, err, storeTrouble(err)+": the answer was not queued; send it again")
	}
}

// WidgetRequest is the body of POST /v1/widget_urls.
type WidgetRequest struct {
	User struct {
		ID   string `json:"id,omitempty"`
		GUID string `json:"guid,omitempty"`
	} `json:"user"`
	ColorScheme            string `json:"color_scheme,omitempty"`
	CurrentMemberGUID      string `json:"current_member_guid,omitempty"`
	CurrentInstitutionCode string `json:"current_institution_code,omitempty"`
	IncludeIdentity        bool   `json:"include_identity,omitempty"`
	Language               string `json:"language,omitempty"`
}

// WidgetResponse is the body answering POST /v1/widget_urls.
type WidgetResponse struct {
	UserGUID  string       `json:"user_guid"`
	WidgetURL mx.WidgetURL `json:"widget_url"`
}

func (s *Server) widgetURL(w http.ResponseWriter, r *http.Request) {
	var req WidgetRequest
	if !decode(w, r, &req) {
		return
	}
	if (req.User.ID == "") == (req.User.GUID == "") {
		writeErr(w, http.StatusBadRequest, "invalid_request", "give user.id (a partner id) or user.guid")
		return
	}
	if s.mx == nil {
		writeErr(w, http.StatusServiceUnavailable, "mx_not_configured",
			"widget URLs need MX credentials: start `mxfleet api` with MXFLEET_MX_CLIENT_ID and MXFLEET_MX_API_KEY set (MXFLEET_MX_BASE_URL picks the MX environment)")
		return
	}
	guid, err := s.ensureUser(r.Context(), req.User.ID, req.User.GUID)
	if err != nil {
		s.mxErr(w, err)
		return
	}
	wr := mx.WidgetURLRequest{Mode: "verification", ColorScheme: req.ColorScheme, CurrentMemberGUID: req.CurrentMemberGUID,
		CurrentInstitutionCode: req.CurrentInstitutionCode, Language: req.Language}
	if req.IncludeIdentity {
		wr.IncludeIdentity = &req.IncludeIdentity
	}
	u, err := s.mx.RequestWidgetURL(r.Context(), guid, wr)
	if err != nil {
		s.mxErr(w, err)
		return
	}
	writeJSON(w, http.StatusOK, WidgetResponse{UserGUID: guid, WidgetURL: *u})
}

func (s *Server) ensureUser(ctx context.Context, id, guid string) (string, error) {
	if guid != "" {
		return guid, nil
	}
	for u, err := range s.mx.Users(ctx, id, "") {
		if err != nil {
			return "", err
		}
		if u.ID == id {
			return u.GUID, nil
		}
	}
	u, err := s.mx.CreateUser(ctx, mx.UserCreate{ID: id})
	if err != nil {
		return "", err
	}
	return u.GUID, nil
}

func (s *Server) mxErr(w http.ResponseWriter, err error) {
	if mx.IsPermanent(err) {
		writeErr(w, http.StatusBadGateway, "mx_refused", err.Error())
		return
	}
	writeErr(w, http.StatusServiceUnavailable, "mx_unavailable", err.Error())
}

// webhook takes MX's webhooks and runs the scheduled poll of the job they
// are about now. MX documents no signature for webhooks, so the delivery
// must carry the shared secret: as HTTP basic auth (its password; MX's
// webhook settings offer basic auth), in the URL configured at MX
// (?token=…), or in the X-Mxfleet-Webhook-Token header a proxy adds.
//
// Every authenticated delivery is acknowledged with 200, also the ones the
// fleet has no use for (other types, unknown members, bodies it cannot
// read): MX retries deliveries that fail, and a retry would not be any more
// useful. Late ones (a job that ended, was purged, or never was) are only
// read: nothing is written, enqueued or sent for them. A delivery MX sends
// again, or a duplicate, wakes a live job once (tasks.Client.Wake). Only
// the fleet's own trouble (Redis) answers 503, so that MX tries again
// later. The job is found by the X-CALLBACK-PAYLOAD header MX
// returns from the calls that started the member's work (the job id,
// base64), else by the member guid.
func (s *Server) webhook(w http.ResponseWriter, r *http.Request) {
	if s.cfg.WebhookSecret == "" {
		writeErr(w, http.StatusNotFound, "webhooks_off", "MX webhooks are off: MXFLEET_WEBHOOK_SECRET is empty")
		return
	}
	tok := r.Header.Get("X-Mxfleet-Webhook-Token")
	if _, pass, ok := r.BasicAuth(); ok && tok == "" {
		tok = pass
	}
	if tok == "" {
		tok = r.URL.Query().Get("token")
	}
	if subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.WebhookSecret)) != 1 {
		w.Header().Set("WWW-Authenticate", `Basic realm="mxfleet MX webhooks"`)
		writeErr(w, http.StatusUnauthorized, "unauthorized", "the webhook secret is missing or wrong (basic auth password, ?token= or X-Mxfleet-Webhook-Token)")
		return
	}
	ignore := func(why string) {
		s.log.Debug().Str("reason", why).Msg("mx webhook acknowledged, not used")
		writeJSON(w, http.StatusOK, map[string]any{"job_id": "", "woke": false, "ignored": why})
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var body map[string]json.RawMessage
	if err != nil || json.Unmarshal(raw, &body) != nil {
		ignore("the body is not a JSON object")
		return
	}
	var member string
	for _, k := range []string{"member_guid", "guid"} {
		if json.Unmarshal(body[k], &member) == nil && member != "" {
			break
		}
	}
	if member == "" {
		// MX's microdeposit webhook: the micro-deposit's guid, which a
		// micro-deposit job keeps as its member guid.
		var md struct {
			GUID string `json:"guid"`
		}
		if json.Unmarshal(body["micro_deposit"], &md) == nil {
			member = md.GUID
		}
	}
	// A payload that is no job id (not the fleet's) is left out: the job
	// is then found by its member.
	var jobID string
	if p, err := base64.StdEncoding.DecodeString(r.Header.Get("X-CALLBACK-PAYLOAD")); err == nil && store.ValidateID(string(p)) == nil {
		jobID = string(p)
	}
	if member == "" && jobID == "" {
		ignore("no member_guid in the webhook")
		return
	}
	// MX sends a delivery again, the same, until it is acknowledged: its
	// digest makes copies of it wake the job once.
	sum := sha256.Sum256(append([]byte(r.Header.Get("X-CALLBACK-PAYLOAD")+"\n"), raw...))
	id, woke, err := s.c.Wake(r.Context(), member, jobID, base64.RawURLEncoding.EncodeToString(sum[:16]))
	if errors.Is(err, store.ErrNotFound) {
		ignore("no job follows this member, or the job the payload names is gone (ended and expired, or purged)")
		return
	}
	if err != nil {
		s.jobErr(w, r, err)
		return
	}
	s.log.Debug().Str("member_guid", member).Str("job", id).Bool("woke", woke).Msg("mx webhook")
	writeJSON(w, http.StatusOK, map[string]any{"job_id": id, "woke": woke})
}
